#!/bin/bash
# Installs the Debian 12 packages pidscope needs to build, run and test. Idempotent.
set -euo pipefail
packages=(
  # build
  cmake ninja-build g++ pkg-config make
  # BPF: clang compiles bpf/*.bpf.c, bpftool makes skeletons, libbpf loads them
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
  # libraries
  libcap-dev libssl-dev libcurl4-openssl-dev
  # tests, fuzzing, benchmarks
  tini dumb-init catatonit
  googletest libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libclang-rt-14-dev clang-format
  procps util-linux hyperfine time python3 openssl libbpf-tools
)
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
