#!/bin/bash
# Live-capture overhead on a fork+exec loop: the loop's wall time and the CPU time it costs the
# system, with no monitor, with `pidscope run --source bpf` (events not written, and written as
# JSON lines to /dev/null), and with libbpf-tools' execsnoop + exitsnoop (output to /dev/null).
# The conditions are interleaved, in a rotated order, over ROUNDS rounds; a fresh monitor is
# started for every run. Figures are mean ± standard deviation over the rounds.
#
# Usage: tests/bench/run_overhead_bench.sh BUILD_DIR [N]
#   N        spawns per run (posix_spawn(/bin/true) + waitpid), default 3000
# Environment:
#   ROUNDS=10        rounds (each runs every condition once)
#   CONDITIONS="none pidscope pidscope-events snoop"   which conditions, in this order
#   BPF_STATS=1      afterwards, one run per monitor with kernel.bpf_stats_enabled=1: the run
#                    time of every BPF program per spawn (restored to its old value at exit)
#   TIME_LIMIT=1800  seconds; no new run starts after it, and a watchdog ends the script at
#                    TIME_LIMIT+300 whatever happens
#   RAW=PATH         also keep the raw per-run table (tab-separated) at PATH
# Needs root, the libbpf-tools package (execsnoop, exitsnoop) for the snoop condition, and
# bpftool for the BPF_STATS names. Columns:
#   wall      the loop's elapsed time (its own steady clock)
#   loop cpu  user+system time of the loop and its children (getrusage): includes the BPF
#             programs that run in the forking, exec'ing and exiting tasks
#   monitor   CPU time of the monitor process(es) (/proc/PID/task/*/schedstat)
#   system    busy CPU time of the whole machine (/proc/stat: user nice system irq softirq
#             steal), i.e. also anything else running: check the load average printed
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR [N]}
count=${2:-3000}
rounds=${ROUNDS:-10}
conditions=(${CONDITIONS:-none pidscope pidscope-events snoop})
bpf_stats=${BPF_STATS:-1}
time_limit=${TIME_LIMIT:-1800}

pidscope=$build/pidscope
loop=$build/tests/bench/fork_exec_loop
execsnoop=${EXECSNOOP:-/usr/sbin/execsnoop}
exitsnoop=${EXITSNOOP:-/usr/sbin/exitsnoop}
[[ -x $pidscope && -x $loop ]] || { echo "build $pidscope and $loop first" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "needs root (BPF)" >&2; exit 1; }
for c in "${conditions[@]}"; do
  case $c in
    none | pidscope | pidscope-events) ;;
    snoop)
      [[ -x $execsnoop && -x $exitsnoop ]] || {
        echo "snoop: $execsnoop or $exitsnoop missing: apt-get install libbpf-tools" >&2
        exit 1
      }
      ;;
    *) echo "unknown condition $c" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
monitors=()   # PIDs of the monitors now running
watchdog=
stats_old=

stop_monitors() {
  local p
  for p in "${monitors[@]}"; do kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
  for p in "${monitors[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  monitors=()
}
cleanup() {
  stop_monitors
  [[ -n $watchdog ]] && { kill "$watchdog" 2>/dev/null || true; wait "$watchdog" 2>/dev/null || true; }
  [[ -n $stats_old ]] && sysctl -q -w kernel.bpf_stats_enabled="$stats_old" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Ends the script (through the EXIT trap) if something hangs past the limit.
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep $((time_limit + 300)) & s=$!
  wait "$s"
  echo "watchdog: over $((time_limit + 300)) s, stopping" >&2
  kill -TERM $$
) &
watchdog=$!

hz=$(getconf CLK_TCK)

# Busy CPU ticks of the whole machine.
system_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# "CPU-ns times-scheduled-in" of the given processes, all threads, from schedstat (without
# it: utime+stime, and voluntary+involuntary context switches).
proc_cpu() {
  local p t ns=0 runs=0 v w
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      if [[ -r $t/schedstat ]]; then
        read -r v _ w < "$t/schedstat" || { v=0; w=0; }
      else
        v=$(awk -v hz="$hz" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1e9 / hz) }' "$t/stat")
        w=$(awk '/ctxt_switches/ { n += $2 } END { print n + 0 }' "$t/status")
      fi
      ns=$((ns + v)); runs=$((runs + w))
    done
  done
  echo "$ns $runs"
}

# IRQ work interrupts, all CPUs: how BPF ring and perf buffers wake their readers.
irq_work() { awk '$1 == "IWI:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts; }

# Waits (at most 30 s) until process $1 has attached a BPF link and sleeps in epoll_wait.
wait_attached() {
  local p=$1
  for _ in $(seq 300); do
    kill -0 "$p" 2>/dev/null || return 1
    if ls -l /proc/"$p"/fd 2>/dev/null | grep -q 'anon_inode:bpf_link' &&
       grep -q epoll /proc/"$p"/wchan 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Starts the monitors of condition $1; their PIDs go to monitors.
start_condition() {
  local log=$work/monitor.log p
  : > "$log"
  case $1 in
    none) return 0 ;;
    pidscope | pidscope-events)
      if [[ $1 == pidscope ]]; then
        "$pidscope" run --source bpf --log-format text > /dev/null 2> "$log" &
      else
        # '-' and standard output to /dev/null: a PATH of /dev/null would be "rotated" (renamed)
        # past --events-max-bytes.
        "$pidscope" run --source bpf --log-format text --events - > /dev/null 2> "$log" &
      fi
      p=$!
      monitors+=("$p")
      for _ in $(seq 300); do
        grep -q bootstrapped "$log" && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
      done
      grep -q bootstrapped "$log" || { echo "pidscope did not bootstrap:" >&2; cat "$log" >&2; return 1; }
      wait_attached "$p" || { echo "pidscope not polling" >&2; return 1; }
      ;;
    snoop)
      "$execsnoop" > /dev/null 2>> "$log" &
      monitors+=("$!")
      "$exitsnoop" > /dev/null 2>> "$log" &
      monitors+=("$!")
      for p in "${monitors[@]}"; do
        wait_attached "$p" || { echo "execsnoop/exitsnoop did not attach:" >&2; cat "$log" >&2; return 1; }
      done
      ;;
  esac
  sleep 0.3  # let start-up work (bootstrap scan, first poll) settle
}

# One run of the loop under condition $1 in round $2: appends a row to $work/raw.tsv.
measure() {
  local cond=$1 round=$2 s0 s1 m0 m1 w0 w1 i0 i1 out
  start_condition "$cond"
  read -r m0 w0 < <(proc_cpu "${monitors[@]}")
  i0=$(irq_work)
  s0=$(system_ticks)
  out=$(timeout 600 "$loop" "$count") || { echo "fork_exec_loop failed ($cond)" >&2; return 1; }
  s1=$(system_ticks)
  i1=$(irq_work)
  read -r m1 w1 < <(proc_cpu "${monitors[@]}")
  for p in "${monitors[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "a monitor died during the run ($cond):" >&2; cat "$work/monitor.log" >&2; return 1; }
  done
  stop_monitors
  if [[ $cond == pidscope* ]] && ! grep -q 'events_lost=0' "$work/monitor.log"; then
    echo "note: $cond lost events: $(grep stopped "$work/monitor.log")" >&2
  fi
  # out: spawns= elapsed_s= rate_per_s= self_user_s= self_sys_s= children_user_s= children_sys_s=
  awk -v cond="$cond" -v round="$round" -v sys=$((s1 - s0)) -v hz="$hz" -v mon=$((m1 - m0)) \
      -v wake=$((w1 - w0)) -v iwi=$((i1 - i0)) -v n="$count" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      printf "%s\t%d\t%s\t%s\t%.3f\t%.4f\t%.3f\t%.2f\t%.2f\n", cond, round, v["elapsed_s"],
        v["rate_per_s"], v["self_user_s"] + v["self_sys_s"] + v["children_user_s"] + v["children_sys_s"],
        mon / 1e9, sys / hz, wake / n, iwi / n
    }' <<< "$out" | tee -a "$work/raw.tsv"
}

echo "fork_exec_loop: $count spawns per run, $rounds rounds, conditions: ${conditions[*]}"
echo "kernel $(uname -r), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'cond\tround\twall_s\trate_per_s\tloop_cpu_s\tmonitor_cpu_s\tsystem_cpu_s\tmonitor_wakeups_per_spawn\tirq_work_per_spawn\n' | tee "$work/raw.tsv"
"$loop" 200 > /dev/null  # warm the page cache
k=${#conditions[@]}
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < k; i++)); do
    if ((SECONDS > time_limit)); then
      echo "TIME_LIMIT reached after $((r - 1)) full rounds" >&2
      break 2
    fi
    measure "${conditions[$(((i + r - 1) % k))]}" "$r"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "## Overhead, $count spawns per run (mean ± sd over rounds; load after: $load_after)"
echo
awk -F'\t' -v n="$count" -v order="${conditions[*]}" '
  NR == 1 { next }
  {
    c = $1; runs[c]++
    w[c] += $3; w2[c] += $3 * $3; rt[c] += $4; rt2[c] += $4 * $4
    l[c] += $5; l2[c] += $5 * $5; m[c] += $6; m2[c] += $6 * $6; s[c] += $7; s2[c] += $7 * $7
    wk[c] += $8; iw[c] += $9
  }
  function mean(sum, c) { return sum / runs[c] }
  function sd(sum, sq, c,   mu, var) {
    if (runs[c] < 2) return 0
    mu = sum / runs[c]; var = (sq - runs[c] * mu * mu) / (runs[c] - 1)
    return var > 0 ? sqrt(var) : 0
  }
  END {
    print "| condition | runs | wall s | spawns/s | loop CPU s | monitor CPU s | system CPU s | slowdown | monitor µs/spawn | extra loop CPU µs/spawn | extra system CPU µs/spawn | monitor wakeups/spawn | IRQ work/spawn |"
    print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    split(order, names, " ")
    base = "none"
    for (j = 1; j in names; j++) {
      c = names[j]
      if (!(c in runs)) continue
      slow = "n/a"; extra = "n/a"; extra_loop = "n/a"
      if (base in runs) {
        slow = sprintf("%.3f", mean(w[c], c) / mean(w[base], base))
        extra_loop = sprintf("%.1f ± %.1f", (mean(l[c], c) - mean(l[base], base)) / n * 1e6,
                             sd(l[c], l2[c], c) / n * 1e6)
        extra = sprintf("%.1f ± %.1f", (mean(s[c], c) - mean(s[base], base)) / n * 1e6,
                        sd(s[c], s2[c], c) / n * 1e6)
      }
      printf "| %s | %d | %.3f ± %.3f | %.0f ± %.0f | %.3f ± %.3f | %.4f ± %.4f | %.3f ± %.3f | %s | %.1f ± %.1f | %s | %s | %.2f | %.2f |\n",
        c, runs[c], mean(w[c], c), sd(w[c], w2[c], c), mean(rt[c], c), sd(rt[c], rt2[c], c),
        mean(l[c], c), sd(l[c], l2[c], c), mean(m[c], c), sd(m[c], m2[c], c),
        mean(s[c], c), sd(s[c], s2[c], c), slow,
        mean(m[c], c) / n * 1e6, sd(m[c], m2[c], c) / n * 1e6, extra_loop, extra,
        mean(wk[c], c), mean(iw[c], c)
    }
  }' "$work/raw.tsv"
[[ -n ${RAW:-} ]] && cp "$work/raw.tsv" "$RAW"

# BPF programs' own run time (kernel.bpf_stats_enabled): what each hook costs per spawn. Only
# the monitors' programs are counted (their prog fds' fdinfo); names from bpftool.
prog_stats() {  # prints "prog_id run_time_ns run_cnt" for every BPF program the PIDs hold
  local p f
  for p in "$@"; do
    for f in /proc/"$p"/fdinfo/*; do
      # Program fds only: a link's fdinfo names its program too, without run counters.
      awk '$1 == "prog_id:" { id = $2 } $1 == "run_time_ns:" { t = $2 } $1 == "run_cnt:" { c = $2 }
           END { if (id != "" && c != "") print id, t, c }' "$f" 2>/dev/null || true
    done
  done | sort -u -k1,1n
}
if [[ $bpf_stats == 1 ]] && command -v bpftool > /dev/null; then
  stats_old=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -q -w kernel.bpf_stats_enabled=1
  echo
  echo "## BPF program run time per spawn (kernel.bpf_stats_enabled=1, one run of $count spawns each)"
  echo
  echo "Counts include every other process of the machine that forked, exec'd or exited meanwhile."
  echo "pidscope-stopped: pidscope with its reader stopped (SIGSTOP) during the loop, so the ring"
  echo "buffer never finds it waiting and wakes nobody: the hooks' cost without the wake-ups."
  stat_conditions=()
  for cond in "${conditions[@]}"; do
    [[ $cond == none ]] || stat_conditions+=("$cond")
    [[ $cond == pidscope ]] && stat_conditions+=(pidscope-stopped)
  done
  for cond in "${stat_conditions[@]}"; do
    ((SECONDS > time_limit + 120)) && { echo "TIME_LIMIT: BPF stats skipped" >&2; break; }
    start_condition "${cond%-stopped}"
    prog_stats "${monitors[@]}" > "$work/before"
    [[ $cond == *-stopped ]] && kill -STOP "${monitors[@]}"
    i0=$(irq_work)
    out=$(timeout 600 "$loop" "$count")
    i1=$(irq_work)
    prog_stats "${monitors[@]}" > "$work/after"
    [[ $cond == *-stopped ]] && kill -CONT "${monitors[@]}"
    : > "$work/names"
    while read -r id _; do
      echo "$id $(bpftool prog show id "$id" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "name") { print $(i + 1); exit } }')" >> "$work/names"
    done < "$work/after"
    stop_monitors
    if [[ $cond == pidscope* ]] && ! grep -q 'events_lost=0' "$work/monitor.log"; then
      echo "note: $cond lost events: $(grep stopped "$work/monitor.log")" >&2
    fi
    echo
    echo "### $cond: $(awk '{ print $3 }' <<< "$out"), IRQ work interrupts per spawn $(awk -v d=$((i1 - i0)) -v n="$count" 'BEGIN { printf "%.2f", d / n }')"
    echo
    echo "| program | runs/spawn | ns/run | ns/spawn |"
    echo "| --- | --- | --- | --- |"
    awk -v n="$count" '
      FILENAME == ARGV[1] { name[$1] = $2; next }
      FILENAME == ARGV[2] { t0[$1] = $2; c0[$1] = $3; next }
      {
        dt = $2 - t0[$1]; dc = $3 - c0[$1]
        if (dc == 0) next
        total += dt
        printf "| %s | %.2f | %.0f | %.0f |\n", name[$1], dc / n, dt / dc, dt / n
      }
      END { printf "| **all** | | | **%.0f** |\n", total / n }' "$work/names" "$work/before" "$work/after"
  done
  sysctl -q -w kernel.bpf_stats_enabled="$stats_old"
  stats_old=
fi
