"""The studio on a local Ray instance: a real server started with ``--ray ADDRESS`` joins the one instance this module
starts (``ray.init(num_cpus=2, num_gpus=1)``: the GPU is a logical resource, so the image replica that asks for it
is scheduled and must run on the CPU), and every tab's endpoint runs on its modality's Serve replica.

One Ray instance and one server for the whole module (Ray is heavy on two shared cores). The test process talks to
the same deployments through its own ``RayRunner`` to compare outputs with in-process runs, and kills a replica.
"""

from __future__ import annotations

import io
import os
import time
import urllib.request
import wave
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from studio.engine import Studio
from studio.settings import ROOT, Settings
from tests.app.conftest import start_server, stop_server
from tests.generators.text.helpers import save_tiny_llama

ray = pytest.importorskip("ray", reason="the cluster extra is not installed (pip install -r requirements-cluster.txt)")

EPOCH = "1790000000"  # SOURCE_DATE_EPOCH: recipes carry this time, so two runs' files can be compared byte for byte
REQUESTS: dict[str, dict[str, Any]] = {
    "terrain": {"prompt": "snowy mountains with a lake", "size_px": 129, "seed": 7},
    "image": {"prompt": "red apple", "model": "emoji-gan", "seed": 7},
    "music": {"prompt": "calm folk melody in D minor", "duration_s": 4, "seed": 7},
    "text": {"prompt": "Hello there", "model": "tiny-llama", "max_new_tokens": 8, "seed": 3},
}
# Text and music recipes record how fast they ran, and their files embed the recipe: those differ between ANY two
# runs, in-process too. For them the test compares the recipe without the timings and the files' payloads.
TIMINGS = {"text": ("ttft_s", "tokens_per_s"), "music": ("seconds", "sample_seconds", "realtime_factor")}


class Cluster:
    """The module's Ray instance, server, a client of it, and in-process and cluster engines of the test's own."""

    def __init__(self, url: str, settings: Settings, runner: Any, local: Studio, remote: Studio) -> None:
        from gradio_client import Client

        self.url = url
        self.client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        self.settings = settings
        self.runner = runner
        self.local = local
        self.remote = remote

    def replicas(self, modality: str) -> list[dict[str, Any]]:
        return [r for r in self.runner.replicas(fresh=True) if r["modality"] == modality]

    def served(self, modality: str) -> int:
        return sum(r["served"] for r in self.replicas(modality))


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from ray import serve

    from studio.cluster.config import ClusterConfig
    from studio.cluster.runner import RayRunner
    from studio.services import build_services

    tmp = tmp_path_factory.mktemp("cluster")
    save_tiny_llama(tmp / "models" / "tiny-llama")
    old_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    ray.init(
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    address = ray.get_runtime_context().gcs_address
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    flags = ["--ray", address, "--replicas", "terrain=2", "--cpus-per-replica", "0.25", "--gpus-per-replica"]
    flags += ["image=1", "--model-dir", str(tmp / "models"), "--ray-timeout", "20"]
    proc, url = start_server(tmp, *flags, env=env, deadline_s=400)
    try:
        settings = Settings(cache_dir=tmp / "test-cache", model_dirs=(tmp / "models",))
        local = build_services(settings).studio
        config = ClusterConfig(address=address, accept_timeout_s=20)
        runner = RayRunner(config, {m: serve.get_app_handle(f"studio-{m}") for m in REQUESTS})
        remote = Studio(local.generators, local.catalog, local.memory, cache=None, runner=runner, signer=local.signer)
        yield Cluster(url, settings, runner, local, remote)
    finally:
        stop_server(proc)
        ray.shutdown()
        if old_epoch is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old_epoch


def fetch(cluster: Cluster, value: Any) -> bytes:
    """The bytes of a file output gradio_client reported (a dict with a url, or a path under the server)."""
    url = value["url"] if isinstance(value, dict) else f"{cluster.url}gradio_api/file={value}"
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def status_of(out: Any) -> str:
    """The status line among an endpoint's outputs (its place differs between tabs)."""
    lines = [o for o in out if isinstance(o, str) and ("Generated" in o or "From cache" in o)]
    assert lines, out
    return lines[0]


def unsigned(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe less the SHA-256 of each output (signed files differ by their manifests' salts)."""
    return {k: v for k, v in recipe.items() if k != "outputs"}


def without_timings(modality: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe less its timings and the hashes of files that embed them."""
    info = {k: v for k, v in recipe.get("info", {}).items() if k not in TIMINGS[modality]}
    return {**{k: v for k, v in recipe.items() if k != "outputs"}, "info": info}


def payload(name: str, data: bytes) -> bytes:
    """A file's content without the recipe embedded in it: a WAV's samples, a PNG's pixels, other files as they are."""
    if name.endswith(".wav"):
        with wave.open(io.BytesIO(data)) as w:
            return w.readframes(w.getnframes())
    if name.endswith(".png"):
        from PIL import Image

        return Image.open(io.BytesIO(data)).tobytes()
    if name.endswith((".md", ".txt")):
        return data.rsplit(b"\n\n---\n", 1)[0]  # the recipe block embed_text appends
    if name.endswith(".json"):
        return b""  # the recipe itself, compared above
    return data


def test_every_tab_runs_on_its_replica_and_repeats_come_from_the_front_ends_cache(cluster: Cluster):
    for modality, values in REQUESTS.items():
        before = cluster.served(modality)
        out = cluster.client.predict(**values, api_name=f"/{modality}")
        assert "Generated" in status_of(out), modality
        assert cluster.served(modality) == before + 1, f"{modality} did not run on a replica"
        again = cluster.client.predict(**values, api_name=f"/{modality}")
        assert "From cache" in status_of(again), modality
        assert cluster.served(modality) == before + 1, f"{modality}'s cache hit reached the cluster"


def test_outputs_and_recipes_are_byte_identical_to_in_process(cluster: Cluster):
    # Content Credentials put a random salt in every signing, so the signed files are compared with their manifests
    # taken out, the recipes without the SHA-256 list of the signed files, and sidecar manifests not at all.
    from studio.credentials.reading import without_manifest

    for modality, values in REQUESTS.items():
        params = cluster.local.check(modality, values)
        here = cluster.local.generate(modality, params, use_cache=False)
        there = cluster.remote.generate(modality, params, use_cache=False)
        assert [a.name for a in there.artifacts] == [a.name for a in here.artifacts]
        assert there.text == here.text
        pairs = [(a, b) for a, b in zip(there.artifacts, here.artifacts, strict=True) if not a.name.endswith(".c2pa")]
        if modality in TIMINGS:
            assert without_timings(modality, there.recipe) == without_timings(modality, here.recipe)
            for a, b in pairs:
                assert payload(a.name, a.data) == payload(b.name, b.data), f"{modality}: {a.name} differs"
        else:
            assert unsigned(there.recipe) == unsigned(here.recipe), modality
            for a, b in pairs:
                if a.name != "recipe.json":
                    assert without_manifest(a.data) == without_manifest(b.data), f"{modality}: {a.name} differs"


def test_the_servers_files_are_the_in_process_bytes(cluster: Cluster):
    values = {**REQUESTS["image"], "seed": 11}
    gallery = cluster.client.predict(**values, api_name="/image")[0]
    served = fetch(cluster, gallery[0]["image"])
    here = cluster.local.generate("image", cluster.local.check("image", values), use_cache=False)
    from studio.credentials.reading import read_credentials, without_manifest

    assert without_manifest(served) == without_manifest(here.by_role("image")[0].data)
    assert read_credentials(served).state == "valid"


def test_a_gpu_replica_on_a_machine_without_cuda_runs_on_the_cpu(cluster: Cluster):
    (image,) = cluster.replicas("image")
    assert image["device"] == "cpu"
    assert ray.cluster_resources().get("GPU") == 1
    assert ray.available_resources().get("GPU", 0) == 0, "the image replica should hold the logical GPU"


def test_the_models_panel_lists_and_unloads_each_replicas_models(cluster: Cluster):
    from studio.cluster import view

    rows = view.snapshot(cluster.runner)
    keys = [r["key"] for r in rows]
    image_rows = [k for k in keys if k.startswith("image:emoji-gan @ image#")]
    assert image_rows, keys
    assert any(k.startswith("text:tiny-llama @ text#") for k in keys)
    assert "replicas" in view.summary(cluster.runner)
    assert view.unload(cluster.runner, image_rows[0])
    assert not any(r["key"] == image_rows[0] for r in view.snapshot(cluster.runner))


def test_progress_streams_back_and_stop_cancels_the_remote_request(cluster: Cluster):
    """What a tab's Stop does (``run_request`` closes ``Studio.stream``; the browser's Stop ends the handler at its
    next step): the replica's request is cancelled and the replica is free long before the job would be done."""
    from studio.generators.base import Event

    before = sum(r["cancelled"] for r in cluster.replicas("terrain"))
    params = cluster.local.check("terrain", {"prompt": "jagged mountains", "size_px": 1025, "seed": 5, "erosion": 1.0})
    stream = cluster.remote.stream("terrain", params, use_cache=False)
    steps = []
    for item in stream:
        assert isinstance(item, Event), "the job should be stopped before it finishes"
        if item.kind == "progress":
            steps.append((item.step, item.total))
        if len(steps) == 2:
            break
    assert steps[0][1] == steps[1][1] > 2 and steps[1][0] > steps[0][0]
    stopped = time.monotonic()
    stream.close()
    wait_for("the replica to see the Stop", lambda: sum(r["cancelled"] for r in cluster.replicas("terrain")) > before)
    wait_for("the replica to be free", lambda: not any(r["running"] for r in cluster.replicas("terrain")), 30)
    assert time.monotonic() - stopped < 8, "the generator should stop at its next step"


def test_a_killed_replica_is_retried_and_replaced_and_the_studio_keeps_serving(cluster: Cluster):
    values = {"prompt": "rolling hills", "size_px": 513, "seed": 21}
    job = cluster.client.submit(**values, api_name="/terrain")
    busy = wait_for("a terrain replica to run it", lambda: [r for r in cluster.replicas("terrain") if r["running"]])
    victim = busy[0]["replica"]
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    out = job.result(timeout=180)
    assert "Generated" in status_of(out)
    here = cluster.local.generate("terrain", cluster.local.check("terrain", values), use_cache=False)
    assert unsigned(out[3]) == unsigned(here.recipe), "the retried request should give the same result"
    wait_for(
        "Serve to replace the killed replica",
        lambda: len([r for r in cluster.replicas("terrain") if r["replica"] != victim]) == 2,
        timeout_s=180,
    )
    assert "Generated" in status_of(cluster.client.predict(**{**values, "seed": 22}, api_name="/terrain"))


def test_a_deployment_that_went_away_gives_a_clear_error_not_a_hang(cluster: Cluster):
    from gradio_client.exceptions import AppError
    from ray import serve

    serve.delete("studio-music")
    start = time.monotonic()
    with pytest.raises(AppError, match="music"):
        cluster.client.predict(**{**REQUESTS["music"], "seed": 99}, api_name="/music")
    assert time.monotonic() - start < 60
