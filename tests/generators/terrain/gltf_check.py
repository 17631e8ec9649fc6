"""Khronos' glTF validator (npm ``gltf-validator``, installed by scripts/test.sh into .tools/gltf), run through
node on GLB files: one node process for many files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "gltf_validate.js"
VALIDATOR = Path(os.environ.get("GLTF_VALIDATOR_DIR", ROOT / ".tools" / "gltf")) / "node_modules" / "gltf-validator"


def validate(files: list[Path]) -> list[dict]:
    """One report per file: {file, errors, warnings, infos, hints, messages, extensionsUsed}."""
    node = shutil.which("node")
    if node is None or not VALIDATOR.is_dir():
        pytest.skip("node or gltf-validator missing: scripts/test.sh installs them (.tools/gltf)")
    done = subprocess.run(
        [node, str(SCRIPT), *map(str, files)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)
