#!/usr/bin/env bash
# Install what the tests need (Python packages and Debian's chromium for the browser tests), then run ruff, mypy
# and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
bash scripts/install.sh
python3 -m pip install -q -r requirements-dev.txt
bash scripts/install_llama.sh  # the optional llama.cpp engine, so its tests run too (built once, then cached)
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
echo "== ruff"
python3 -m ruff check studio app.py tests benchmarks
echo "== mypy"
python3 -m mypy studio
echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
