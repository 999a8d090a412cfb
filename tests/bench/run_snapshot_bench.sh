#!/bin/bash
# Snapshot speed and memory with N processes alive (default 10,000), against ps on the same
# machine in the same run. Usage: tests/bench/run_snapshot_bench.sh BUILD_DIR [N]
# Needs root (a PID namespace holds the extra processes) and hyperfine.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [N]}
count=${2:-10000}
work=$(mktemp -d)
mkfifo "$work/hold"
# The spawner lives while its standard input is open: this script holds the fifo's write end.
"$build/tests/bench/spawn_processes" "$count" < "$work/hold" > "$work/ready" &
spawner=$!
exec 3> "$work/hold"
trap 'exec 3>&-; wait "$spawner" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 600); do
  grep -q ready "$work/ready" 2>/dev/null && break
  kill -0 "$spawner" 2>/dev/null || { echo "spawner failed" >&2; exit 1; }
  sleep 0.1
done
grep -q ready "$work/ready" || { echo "spawner not ready" >&2; exit 1; }
echo "processes alive: $(ls /proc | grep -c '^[0-9]')"
hyperfine --warmup 3 --runs 20 --style basic --export-markdown /dev/stdout \
  -n ps "ps -eo pid,ppid,pgid,sid,tty,stat,comm > /dev/null" \
  -n "pidscope snapshot --format json" "$build/pidscope snapshot --format json > /dev/null" \
  -n "pidscope tree" "$build/pidscope tree > /dev/null"
"$build/tests/bench/snapshot_memory"
/usr/bin/time -f "pidscope snapshot max RSS %M KiB" "$build/pidscope" snapshot --format json > /dev/null
