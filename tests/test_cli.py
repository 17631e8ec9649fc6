from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_cli_bad_value_is_a_clear_error(tmp_path):
    r = run_cli("terrain", "--prompt", "hills", "--size-px", "100", "--out", str(tmp_path / "o"), cache=tmp_path / "c")
    assert r.returncode == 2
    assert "size_px" in r.stderr and "129" in r.stderr
