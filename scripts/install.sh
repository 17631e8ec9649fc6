#!/usr/bin/env bash
# Install the studio's runtime (offline built-in models included). torch==2.13.0 is the local CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt
python3 -m pip install -q --no-deps -r requirements-nodeps.txt
# Example data of the Train tab: Debian's Fashion-MNIST (optional; the tab says so when it is missing).
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
    { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null; } || \
    echo "note: dataset-fashion-mnist could not be installed; the Train tab's Fashion-MNIST example is unavailable"
fi
