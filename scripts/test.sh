#!/usr/bin/env bash
# Install what the tests need (Python packages, Debian's chromium for the browser tests and, through install.sh,
# Debian's dataset-fashion-mnist for the Train tab's example data), then run ruff, mypy
# and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
bash scripts/install.sh
python3 -m pip install -q -r requirements-dev.txt
python3 -m pip install -q -r requirements-cluster.txt  # tests/cluster runs the studio on a local Ray instance
# The optional llama.cpp engine, so its tests run too (built once, then cached). A failed build does not stop the
# suite: its tests then skip, saying llama.cpp is not installed, and the warning below says why.
bash scripts/install_llama.sh || echo "WARNING: llama-cpp-python did not build; tests/generators/text/test_llamacpp.py will skip"
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
# Khronos' glTF validator for the terrain tests (npm, pinned; into the git-ignored .tools/gltf; skipped when present)
GLTF_VALIDATOR=2.0.0-dev.3.10
if command -v npm >/dev/null 2>&1 && [ "$(node -p "require('./.tools/gltf/node_modules/gltf-validator/package.json').version" 2>/dev/null)" != "$GLTF_VALIDATOR" ]; then
  npm install -s --no-audit --no-fund --prefix .tools/gltf "gltf-validator@$GLTF_VALIDATOR" >/dev/null
fi
echo "== ruff"
python3 -m ruff check studio app.py tests benchmarks
echo "== mypy"
python3 -m mypy studio
echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
