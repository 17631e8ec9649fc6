#!/usr/bin/env bash
# Install what the studio needs, then serve it on http://127.0.0.1:7860 (flags pass through: --share --auth u:p ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 app.py "$@"
