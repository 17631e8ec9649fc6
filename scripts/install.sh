#!/usr/bin/env bash
# Install the studio's runtime (offline built-in models included). torch==2.13.0 is the local CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt
python3 -m pip install -q --no-deps -r requirements-nodeps.txt
