"""The cluster's flags, and the promise that without ``--ray`` the studio never imports Ray (no Ray needed here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.cluster.config import REPLICA_SLOTS, DeploymentSize, config_from
from studio.launch import build_parser
from studio.settings import ROOT
from tests.test_architecture import imports


def parse(*flags: str):
    return config_from(build_parser().parse_args(list(flags)))


def test_without_ray_there_is_no_cluster_and_sizing_flags_ask_for_it():
    assert parse() is None
    with pytest.raises(ValueError, match="--replicas needs --ray"):
        parse("--replicas", "image=2")


def test_per_modality_flags_size_each_deployment():
    config = parse(
        "--ray", "local", "--replicas", "image=2,text=1", "--max-replicas", "image=4", "--gpus-per-replica",
        "image=1,text=0.5", "--cpus-per-replica", "0.5", "--models-per-replica", "2", "--ray-timeout", "30",
    )  # fmt: skip
    assert config is not None and config.address == "local" and config.accept_timeout_s == 30
    image, text, terrain = config.size("image"), config.size("text"), config.size("terrain")
    assert (image.replicas, image.max_replicas, image.gpus, image.cpus) == (2, 4, 1.0, 0.5)
    assert (text.replicas, text.gpus, terrain.gpus, terrain.cpus) == (1, 0.5, 0.0, 0.5)
    assert image.models_per_replica == 2
    auto = image.deployment_options()
    assert "num_replicas" not in auto
    assert auto["autoscaling_config"]["min_replicas"] == 2 and auto["autoscaling_config"]["max_replicas"] == 4
    assert auto["ray_actor_options"] == {"num_cpus": 0.5, "num_gpus": 1.0}
    fixed = text.deployment_options()
    assert fixed["num_replicas"] == 1 and "autoscaling_config" not in fixed
    assert fixed["max_ongoing_requests"] == REPLICA_SLOTS


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--replicas", "video=2"], "'video' is not one of"),
        (["--replicas", "image=0"], "at least 1"),
        (["--gpus-per-replica", "image=-1"], "at least 0"),
        (["--cpus-per-replica", "image=nan"], "finite"),
        (["--replicas", "image=two"], "not a whole number"),
    ],
)
def test_bad_sizes_name_the_flag_and_what_is_allowed(flags, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--ray", "local", *flags])
    err = capsys.readouterr().err
    assert flags[0] in err and message in err


def test_max_replicas_below_replicas_is_refused():
    with pytest.raises(ValueError, match="--max-replicas image=1 is below --replicas image=2"):
        parse("--ray", "local", "--replicas", "image=2", "--max-replicas", "image=1")


def test_a_size_without_autoscaling_is_fixed():
    assert not DeploymentSize(replicas=2, max_replicas=2).autoscaled


def test_the_studio_without_ray_never_imports_ray(tmp_path):
    """Flags parsed, services built and every UI module imported, without --ray: Ray is not in sys.modules (the
    static check below covers what building the page calls)."""
    code = f"""
import sys
from studio.launch import build_parser, settings_from
from studio.cluster.config import config_from
from studio.services import build_services
import studio.ui.app
args = build_parser().parse_args(["--cache-dir", {str(tmp_path)!r}])
services = build_services(settings_from(args), config_from(args))
assert services.cluster is None
loaded = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
assert not loaded, loaded
print("no ray")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no ray" in out.stdout


def test_only_the_cluster_package_imports_ray_and_only_services_reaches_it_lazily():
    graph = imports()
    users = sorted(m for m, deps in graph.items() if any(d == "ray" or d.startswith("ray.") for d in deps))
    assert users == ["studio.cluster.builder", "studio.cluster.replica", "studio.cluster.runner"]
    reach = sorted(m for m, deps in graph.items() if set(users) & deps and not m.startswith("studio.cluster."))
    assert reach == ["studio.services"]
    source = (ROOT / "studio" / "services.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("studio.cluster.runner" in line for line in top_level), "services must import the runner lazily"


def test_a_rayservice_config_builds_the_same_application_as_the_flags():
    pytest.importorskip("ray")
    from studio.cluster.builder import app

    bound = app(
        {"modality": "image", "gpus": 1, "replicas": 2, "max_replicas": 3, "model_dirs": ["/models"], "threads": 4}
    )._bound_deployment
    assert bound.name == "image"
    assert bound.ray_actor_options["num_gpus"] == 1.0
    assert str(ROOT) in bound.ray_actor_options["runtime_env"]["env_vars"]["PYTHONPATH"]
    scaling = bound._deployment_config.autoscaling_config
    assert (scaling.min_replicas, scaling.max_replicas) == (2, 3)
    settings, modality, gpus, models, threads = bound.init_args
    assert [str(p) for p in settings.model_dirs] == ["/models"]
    assert (modality, gpus, models, threads) == ("image", 1.0, 3, 4)
