#!/bin/bash
# Resident memory of the daemon with N extra live processes (default 10,000), for each event
# source: `pidscope run --source S` is started, waited for until its log says "bootstrapped",
# left to run SETTLE seconds (default 10), then VmRSS and VmHWM are read from
# /proc/PID/status. Then CHURN spawns of /bin/true (default 3000; 0 skips) are run and the two
# are read again, to show whether the live model grows with churn. Target: VmRSS <= 64 MiB.
# Usage: tests/bench/run_rss_bench.sh BUILD_DIR [N]
# Environment: SOURCES="bpf procfs netlink", SETTLE=10, CHURN=3000, TARGET_MIB=64
# Needs root (a PID namespace holds the extra processes; the bpf and netlink sources).
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [N]}
count=${2:-10000}
sources=(${SOURCES:-bpf procfs netlink})
settle=${SETTLE:-10}
churn=${CHURN:-3000}
target_mib=${TARGET_MIB:-64}
pidscope=$build/pidscope
spawn=$build/tests/bench/spawn_processes
loop=$build/tests/bench/fork_exec_loop
for f in "$pidscope" "$spawn" "$loop"; do
  [[ -x $f ]] || { echo "build $f first" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }

work=$(mktemp -d)
spawner=
monitor=
stop_monitor() {
  [[ -n $monitor ]] || return 0
  kill -TERM "$monitor" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$monitor" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$monitor" 2>/dev/null || true
  wait "$monitor" 2>/dev/null || true
  monitor=
}
cleanup() {
  stop_monitor
  # Closing the fifo's write end ends the spawner, whose namespace init takes every sleeper.
  exec 3>&- 2>/dev/null || true
  if [[ -n $spawner ]]; then
    for _ in $(seq 100); do kill -0 "$spawner" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$spawner" 2>/dev/null || true
    wait "$spawner" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkfifo "$work/hold"
# The spawner lives while its standard input is open: this script holds the fifo's write end.
"$spawn" "$count" < "$work/hold" > "$work/ready" &
spawner=$!
exec 3> "$work/hold"
for _ in $(seq 1200); do
  grep -q ready "$work/ready" 2>/dev/null && break
  kill -0 "$spawner" 2>/dev/null || { echo "spawner failed" >&2; exit 1; }
  sleep 0.1
done
grep -q ready "$work/ready" || { echo "spawner not ready after 120 s" >&2; exit 1; }

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' /proc/"$1"/status; }
cpu_s() {  # utime+stime of process $1, all threads, in seconds (at USER_HZ resolution)
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' /proc/"$1"/stat
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "processes alive: $(ls /proc | grep -c '^[0-9]'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| source | processes in model | bootstrap s | VmRSS MiB (after ${settle} s) | anon/file/shmem MiB | VmHWM MiB | CPU s to bootstrap | CPU % over the ${settle} s | VmRSS MiB after $churn spawns | VmHWM MiB after | ≤ $target_mib MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
over=0
for source in "${sources[@]}"; do
  log=$work/$source.log
  start=$(date +%s.%N)
  "$pidscope" run --source "$source" --log-format text > /dev/null 2> "$log" &
  monitor=$!
  for _ in $(seq 1200); do
    grep -q bootstrapped "$log" && break
    kill -0 "$monitor" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q bootstrapped "$log"; then
    echo "| $source | did not bootstrap in 120 s: $(tail -1 "$log") | | | | | | | | | |"
    stop_monitor
    continue
  fi
  boot=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  procs=$(grep -o 'bootstrapped.*processes=[0-9]*' "$log" | grep -o '[0-9]*$')
  cpu0=$(cpu_s "$monitor")
  sleep "$settle"
  kill -0 "$monitor" 2>/dev/null || { echo "| $source | exited: $(tail -1 "$log") | | | | | | | | | |"; monitor=; continue; }
  rss=$(status_kib "$monitor" VmRSS)
  hwm=$(status_kib "$monitor" VmHWM)
  split="$(mib "$(status_kib "$monitor" RssAnon)")/$(mib "$(status_kib "$monitor" RssFile)")/$(mib "$(status_kib "$monitor" RssShmem)")"
  # The largest mappings, for the record (the BPF ring buffer, the heap, libraries).
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]" } $1 == "Rss:" && $2 >= 1024 { printf "%s %d KiB; ", name, $2 }' \
    /proc/"$monitor"/smaps > "$work/$source.maps" 2>/dev/null || true
  cpu=$(awk -v a="$cpu0" -v b="$(cpu_s "$monitor")" -v t="$settle" 'BEGIN { printf "%.1f", (b - a) / t * 100 }')
  rss2=- hwm2=-
  if ((churn > 0)); then
    timeout 600 "$loop" "$churn" > /dev/null
    sleep 1
    rss2=$(mib "$(status_kib "$monitor" VmRSS)")
    hwm2=$(mib "$(status_kib "$monitor" VmHWM)")
  fi
  verdict=yes
  ((rss <= target_mib * 1024)) || { verdict=NO; over=1; }
  echo "| $source | $procs | $boot | $(mib "$rss") | $split | $(mib "$hwm") | $cpu0 | $cpu | $rss2 | $hwm2 | $verdict |"
  echo "$source: mappings over 1 MiB: $(cat "$work/$source.maps")" >> "$work/maps"
  stop_monitor
  grep -E ' (warn|error) |events lost=|resync reason' "$log" | head -3 | sed "s/^/  $source log: /" >&2 || true
done
echo
cat "$work/maps" 2>/dev/null || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
((over == 0)) || echo "VmRSS over the $target_mib MiB target for at least one source"
