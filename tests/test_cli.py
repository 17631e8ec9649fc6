from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", "generate", *args, "--cache-dir", str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_writes_the_same_files_as_the_ui(tmp_path):
    out = tmp_path / "out"
    r = run_cli(
        "terrain",
        "--prompt",
        "desert canyon",
        "--seed",
        "7",
        "--size-px",
        "129",
        "--out",
        str(out),
        cache=tmp_path / "c",
    )
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {"terrain.png", "terrain.glb", "heightmap.png", "heightmap.r16", "recipe.json"} <= names
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["seed"] == 7 and recipe["params"]["prompt"] == "desert canyon"
    # Same request again: from cache, identical bytes.
    out2 = tmp_path / "out2"
    r2 = run_cli(
        "terrain",
        "--prompt",
        "desert canyon",
        "--seed",
        "7",
        "--size-px",
        "129",
        "--out",
        str(out2),
        cache=tmp_path / "c",
    )
    assert "from cache" in r2.stderr
    assert (out / "terrain.png").read_bytes() == (out2 / "terrain.png").read_bytes()


def test_cli_and_the_ui_path_write_identical_content_with_a_fixed_date(tmp_path, monkeypatch):
    # Fresh runs (no cache) differ in the recipe's "created" time, which SOURCE_DATE_EPOCH fixes, and in their
    # Content Credentials: C2PA puts a random salt in every assertion (and here each studio has its own key). With
    # the manifests taken out, the CLI and the UI's path (engine -> Result.write, as the tabs run it) give
    # byte-identical content, watermark and recipe included; both sets of credentials are valid.
    from studio.credentials.reading import read_credentials, without_manifest
    from studio.services import build_services
    from studio.settings import Settings

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    out = tmp_path / "cli"
    args = ["--prompt", "volcanic island", "--seed", "7", "--size-px", "129"]
    r = run_cli("terrain", *args, "--no-cache", "--out", str(out), cache=tmp_path / "c1")
    assert r.returncode == 0, r.stderr
    services = build_services(Settings(cache_dir=tmp_path / "c2"))
    params = services.studio.check("terrain", {"prompt": "volcanic island", "seed": 7, "size_px": 129})
    written = services.studio.generate("terrain", params, use_cache=False).write(services.outputs)
    assert {p.name for p in out.iterdir()} == set(written)
    for name, path in written.items():
        if name.endswith(".c2pa"):
            continue
        ours, theirs = (out / name).read_bytes(), path.read_bytes()
        if name == "recipe.json":  # it lists the SHA-256 of each signed file
            ours, theirs = (json.loads(x) for x in (ours, theirs))
            assert ours.pop("outputs").keys() == theirs.pop("outputs").keys()
        else:
            for data in (ours, theirs):  # PNGs carry their credentials; the others have sidecars (not compared)
                assert name[-4:] != ".png" or read_credentials(data).state == "valid", name
            ours, theirs = without_manifest(ours), without_manifest(theirs)
        assert ours == theirs, name
    assert json.loads((out / "recipe.json").read_text())["created"] == "2026-09-21T14:13:20Z"


def test_cli_bad_value_is_a_clear_error(tmp_path):
    r = run_cli("terrain", "--prompt", "hills", "--size-px", "100", "--out", str(tmp_path / "o"), cache=tmp_path / "c")
    assert r.returncode == 2
    assert "size_px" in r.stderr and "129" in r.stderr


def cli(capsys, *args: str, cache: Path) -> tuple[int, str, str]:
    """``studio.cli.main`` in this process: (exit code, stdout, stderr)."""
    from studio.cli import main

    code = main(["generate", *args, "--cache-dir", str(cache)])
    out, err = capsys.readouterr()
    return code, out, err


def red_png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)
    return path


def test_generator_value_error_is_exit_1_without_traceback(tmp_path, capsys):
    init = red_png(tmp_path / "init.png")
    code, _, err = cli(
        capsys,
        "image",
        "--prompt",
        "red apple",
        "--mode",
        "img2img",
        "--init-image",
        str(init),
        "--strength",
        "0.01",
        "--num-steps",
        "1",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "o"),
        cache=tmp_path / "c",
    )
    assert code == 1
    # The last line: loading the model may draw a progress bar on stderr first.
    assert err.splitlines()[-1].startswith("error: ") and "leaves no step to run" in err and "Traceback" not in err


@pytest.mark.parametrize("exc", [RuntimeError("out of GPU memory"), OSError("disk full")])
def test_generator_runtime_and_os_errors_are_exit_1(exc, tmp_path, capsys, monkeypatch):
    from studio.engine import Studio

    def fail(*_args, **_kwargs):
        raise exc

    monkeypatch.setattr(Studio, "generate", fail)
    code, _, err = cli(capsys, "terrain", "--prompt", "hills", "--out", str(tmp_path / "o"), cache=tmp_path / "c")
    assert code == 1
    assert err.strip() == f"error: {exc}"


def test_bad_parameter_in_process_stays_exit_2(tmp_path, capsys):
    code, _, err = cli(
        capsys, "terrain", "--roughness", str(10**400), "--out", str(tmp_path / "o"), cache=tmp_path / "c"
    )
    assert code == 2 and err.startswith("error: roughness") and "Traceback" not in err


def test_unwritable_out_folder_is_exit_1(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = ("terrain", "--prompt", "hills", "--size-px", "129", "--seed", "1", "--out")
    code, out, err = cli(capsys, *args, str(blocker / "out"), cache=tmp_path / "c")
    assert code == 1
    assert err.startswith("error: ") and str(blocker / "out") in err and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize(
    "modality, flag, extra",
    [
        ("image", "--init-image", ("--mode", "img2img")),
        ("image", "--mask-image", ("--mode", "inpaint")),
        ("music", "--melody-audio", ()),
        ("music", "--extend-from", ()),
    ],
)
def test_missing_file_flag_names_the_flag_and_the_path(modality, flag, extra, tmp_path, capsys):
    missing = tmp_path / "nope" / "missing.bin"
    code, _, err = cli(
        capsys,
        modality,
        "--prompt",
        "x",
        *extra,
        flag,
        str(missing),
        "--out",
        str(tmp_path / "o"),
        cache=tmp_path / "c",
    )
    assert code == 2
    assert flag in err and f"file not found: {missing}" in err and "Traceback" not in err
