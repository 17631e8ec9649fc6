#!/usr/bin/env bash
# Install the optional llama.cpp engine (requirements-llama.txt). The first run builds llama-cpp-python from source
# (~11 min on 2 idle cores); pip keeps the built wheel in its cache, so later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
if python3 -c "import importlib.metadata as m; assert m.version('llama-cpp-python') == '0.3.36'" 2>/dev/null; then
  exit 0
fi
# Native code for this CPU, but no AMX: machines like this project's list AMX in /proc/cpuinfo, yet its tile
# instructions trap (SIGILL in ggml's AMX kernels for Q4/Q8 weights), so the compiler may not emit them.
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON \
-DCMAKE_C_FLAGS='$NO_AMX' -DCMAKE_CXX_FLAGS='$NO_AMX'}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
echo "== building llama-cpp-python (first time only: ~11 min on 2 cores)"
python3 -m pip install -q -r requirements-llama.txt
