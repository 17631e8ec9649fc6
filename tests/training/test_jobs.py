"""Training runs as background jobs: one at a time in order, leased through the memory manager, stopped runs
marked as such after a restart; a finished model joins the catalog, generates, and its recipe names its run. And
the same from the shell: ``python -m studio train image`` then ``generate image --model NAME``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from studio.params import check_params
from studio.services import build_services
from studio.settings import Settings
from studio.training.data_check import check_uploads
from studio.training.jobs import RESTARTED, Jobs
from studio.training.params import TrainParams
from tests.training.pictures import write_squares


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> object:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _params(name: str, **kw: object) -> TrainParams:
    values = {"name": name, "technique": "dbn", "steps": 8, "batch_size": 4, "lr": 1e-2, "sample_every": 4}
    return check_params(TrainParams, {**values, **kw})


def test_runs_queue_lease_finish_and_generate(tmp_path: Path) -> None:
    services = build_services(Settings(cache_dir=tmp_path / "cache"))
    jobs = services.jobs
    assert jobs is not None
    report = check_uploads([(p.name, p) for p in write_squares(tmp_path / "up", 6)])
    jobs.create(_params("first", steps=20), report)
    jobs.create(_params("second", technique="autoencoder"), report)
    seen_lease = waiting = False
    deadline = time.monotonic() + 120
    while jobs.info("second").state != "finished" and time.monotonic() < deadline:
        rows = {r["key"]: r for r in services.memory.snapshot()}
        seen_lease |= rows.get("train:image:first", {}).get("leases") == 1
        waiting |= jobs.info("first").state == "running" and jobs.info("second").position == 1
        time.sleep(0.05)
    assert seen_lease, "the running run is leased through the memory manager (the Loaded models panel shows it)"
    assert waiting, "the second run waits its turn while the first runs"
    assert jobs.info("first").state == "finished" and jobs.info("second").state == "finished"
    assert "train:image:first" not in services.memory, "the lease ends with the run"
    spec = services.catalog.get("image", "second")
    assert spec.source == "trained" and spec.kind == "autoencoder"
    model = Path(str(spec.path))
    assert not list(model.rglob("*.bin")) and not list(model.rglob("*.pt")), "safetensors only"
    card = (model / "README.md").read_text()
    assert report.manifest_hash in card and "magenta square" in card and (model / "loss_curves.png").is_file()
    result = services.studio.generate("image", services.studio.check("image", {"model": "second", "seed": 5}))
    assert result.recipe["model"]["training_run"] == "second"
    assert result.recipe["model"]["weights_hash"] == spec.weights_hash
    written = {p.relative_to(tmp_path / "cache").parts[0] for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert "training" in written and not (tmp_path / "up" / "second").exists()


def test_a_restart_marks_interrupted_runs_stopped_and_resume_continues(tmp_path: Path) -> None:
    services = build_services(Settings(cache_dir=tmp_path / "cache"))
    jobs = services.jobs
    assert jobs is not None
    report = check_uploads([(p.name, p) for p in write_squares(tmp_path / "up", 4)])
    jobs.create(_params("long", steps=4000, checkpoint_every=5), report)
    deadline = time.monotonic() + 60
    while jobs.info("long").step < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    jobs.stop("long")
    assert jobs.wait("long", 60) == "stopped"
    stopped_at = jobs.folder("long").status()["step"]
    # A server that died mid-run leaves "running" behind; the next one marks it stopped.
    status = jobs.folder("long").path("status.json")
    status.write_text(json.dumps({**json.loads(status.read_text()), "state": "running"}))
    again = Jobs(services.settings.training_dir, services.memory, services.catalog, services.settings.assets_dir)
    info = again.info("long")
    assert info.state == "stopped" and info.note == RESTARTED
    again.resume("long")
    deadline = time.monotonic() + 60
    while again.info("long").step <= stopped_at and time.monotonic() < deadline:
        time.sleep(0.05)
    again.stop("long")
    assert again.wait("long", 60) == "stopped"
    steps = [r["step"] for r in again.folder("long").metrics()]
    assert steps == sorted(set(steps)), "a resumed run logs each step once"


def test_train_and_generate_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    data = tmp_path / "pictures"
    write_squares(data, 4)
    (data / "broken.png").write_bytes(b"not a picture")
    cache = str(tmp_path / "cache")
    code = main(
        [
            "train",
            "image",
            "--data",
            str(data),
            "--technique",
            "dbn",
            "--steps",
            "6",
            "--name",
            "cli-dbn",
            "--batch-size",
            "4",
            "--cache-dir",
            cache,
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "4 usable" in err and "refused broken.png" in err
    code = main(
        [
            "generate",
            "image",
            "--model",
            "cli-dbn",
            "--seed",
            "2",
            "--num-steps",
            "3",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            cache,
        ]
    )
    assert code == 0, capsys.readouterr().err
    recipe = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert recipe["model"]["id"] == "cli-dbn" and recipe["model"]["training_run"] == "cli-dbn"
    assert main(["train", "image", "--data", str(data), "--name", "emoji-gan", "--cache-dir", cache]) == 2
    assert "builtin model" in capsys.readouterr().err
