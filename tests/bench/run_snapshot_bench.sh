#!/bin/bash
# Snapshot speed and memory with N processes alive (default 10,000), against ps on the same
# machine in the same run. Usage: tests/bench/run_snapshot_bench.sh BUILD_DIR [N]
# Needs root (a PID namespace holds the extra processes) and hyperfine.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [N]}
count=${2:-10000}
exec 3< <(sleep infinity)   # keeps the spawner's stdin open until this script exits
coproc SPAWNER { "$build/tests/bench/spawn_processes" "$count" <&3; }
read -r ready init <&"${SPAWNER[0]}"
[[ $ready == ready ]] || { echo "spawner failed" >&2; exit 1; }
trap 'kill "$SPAWNER_PID" 2>/dev/null || true; kill -9 "$init" 2>/dev/null || true' EXIT
echo "processes alive: $(ls /proc | grep -c '^[0-9]')"
hyperfine --warmup 3 --runs 20 --style basic --export-markdown /dev/stdout \
  -n ps "ps -eo pid,ppid,pgid,sid,tty,stat,comm > /dev/null" \
  -n "pidscope snapshot --format json" "$build/pidscope snapshot --format json > /dev/null" \
  -n "pidscope tree" "$build/pidscope tree > /dev/null"
"$build/tests/bench/snapshot_memory"
/usr/bin/time -f "pidscope snapshot max RSS %M KiB" "$build/pidscope" snapshot --format json > /dev/null
