#!/bin/bash
# Fresh Debian 12 machine: install what pidscope needs, build it, and run it.
# Usage: .ci/quickstart.sh [pidscope arguments...]   (default: tree)
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPIDSCOPE_TESTS=OFF
cmake --build build --target pidscope
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
if (($#)); then exec $SUDO build/pidscope "$@"; else exec $SUDO build/pidscope tree; fi
