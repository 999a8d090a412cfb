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
#   NICE=-10         niceness of the loop and of the monitors alike: ahead of a busy machine's
#                    other work, so neighbours blur the figures less (0: as they come)
#   QUIET_WAIT=120, QUIET_IDLE=0.8
#                    before every run, wait (at most QUIET_WAIT s) until no other process holds
#                    BPF links and at least QUIET_IDLE CPUs were idle over one second
#   RAW=PATH         also keep the raw per-run table (tab-separated) at PATH
#   KEEP_FOREIGN=1   keep in the summary the runs during which another process held BPF links
#                    (someone else's tracer: its hooks cost in every condition); left out by
#                    default, and counted as "skipped"
# Needs root, the libbpf-tools package (execsnoop, exitsnoop) for the snoop condition, and
# bpftool for the BPF_STATS names. Columns:
#   wall      the loop's elapsed time (its own steady clock)
#   loop cpu  user+system time of the loop and its children (getrusage): includes the BPF
#             programs that run in the forking, exec'ing and exiting tasks
#   monitor   CPU time of the monitor process(es) (/proc/PID/task/*/schedstat)
#   system    busy CPU time of the whole machine (/proc/stat: user nice system irq softirq
#             steal), i.e. also anything else running: check the load average printed, and
#   idle      idle CPU time during the run: near zero, the machine was saturated and "extra
#             system CPU" says nothing (it then tracks the wall time)
#   slowdown  wall time over the no-monitor wall time, of the means and of the medians
#   wake-ups  times the monitor was scheduled in, per spawn (schedstat)
#   IRQ work  IRQ work interrupts per spawn (/proc/interrupts IWI): how BPF ring and perf
#             buffers wake their reader, one self-IPI each
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR [N]}
count=${2:-3000}
rounds=${ROUNDS:-10}
conditions=(${CONDITIONS:-none pidscope pidscope-events snoop})
bpf_stats=${BPF_STATS:-1}
time_limit=${TIME_LIMIT:-1800}
nice=${NICE:--10}
quiet_wait=${QUIET_WAIT:-120}
quiet_idle=${QUIET_IDLE:-0.8}

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
# Idle CPU ticks (idle, iowait): near zero means the machine was saturated (busy neighbours) and
# the system CPU column measures the wall time, not the cost.
idle_ticks() { awk '$1 == "cpu" { print $5 + $6; exit }' /proc/stat; }

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

# "comm(pid)" of every process holding a BPF link but ours: someone else's tracers, whose hooks
# run (and cost) in every condition, the baseline included.
bpf_link_holders() {
  local p
  for p in $(find /proc/[0-9]*/fd -lname 'anon_inode:bpf_link' 2>/dev/null | cut -d/ -f3 | sort -un); do
    [[ " ${monitors[*]} " == *" $p "* ]] && continue
    echo -n "$(cat /proc/"$p"/comm 2>/dev/null)($p) "
  done
}

# Waits (at most QUIET_WAIT s) until no other process holds BPF links and at least QUIET_IDLE
# CPUs were idle over the last second; says so if it gave up waiting.
wait_quiet() {
  local waited=0 d0 d1
  while ((waited < quiet_wait)); do
    d0=$(idle_ticks); sleep 1; d1=$(idle_ticks); waited=$((waited + 1))
    [[ -z $(bpf_link_holders) ]] &&
      awk -v d=$((d1 - d0)) -v hz="$hz" -v min="$quiet_idle" 'BEGIN { exit !(d / hz >= min) }' && return 0
  done
  echo "not quiet after ${quiet_wait} s (idle CPUs $(awk -v d=$((d1 - d0)) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }'), BPF links: $(bpf_link_holders)): running anyway" >&2
}

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
        nice -n "$nice" "$pidscope" run --source bpf --log-format text > /dev/null 2> "$log" &
      else
        # '-' and standard output to /dev/null: a PATH of /dev/null would be "rotated" (renamed)
        # past --events-max-bytes.
        nice -n "$nice" "$pidscope" run --source bpf --log-format text --events - > /dev/null 2> "$log" &
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
      nice -n "$nice" "$execsnoop" > /dev/null 2>> "$log" &
      monitors+=("$!")
      nice -n "$nice" "$exitsnoop" > /dev/null 2>> "$log" &
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
  local cond=$1 round=$2 s0 s1 d0 d1 m0 m1 w0 w1 i0 i1 out others
  wait_quiet
  others=$(bpf_link_holders)
  start_condition "$cond"
  read -r m0 w0 < <(proc_cpu "${monitors[@]}")
  i0=$(irq_work)
  s0=$(system_ticks)
  d0=$(idle_ticks)
  out=$(timeout 600 nice -n "$nice" "$loop" "$count") || { echo "fork_exec_loop failed ($cond)" >&2; return 1; }
  d1=$(idle_ticks)
  s1=$(system_ticks)
  i1=$(irq_work)
  read -r m1 w1 < <(proc_cpu "${monitors[@]}")
  # Someone else's tracer before or after the run: the run is left out of the summary.
  others="$others$(bpf_link_holders)"
  [[ -z $others ]] || echo "$cond round $round: $others" >> "$work/foreign"
  others=$(wc -w <<< "$others")
  for p in "${monitors[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "a monitor died during the run ($cond):" >&2; cat "$work/monitor.log" >&2; return 1; }
  done
  stop_monitors
  if [[ $cond == pidscope* ]] && ! grep -q 'events_lost=0' "$work/monitor.log"; then
    echo "note: $cond lost events: $(grep stopped "$work/monitor.log")" >&2
  fi
  # out: spawns= elapsed_s= rate_per_s= self_user_s= self_sys_s= children_user_s= children_sys_s=
  awk -v cond="$cond" -v round="$round" -v sys=$((s1 - s0)) -v idle=$((d1 - d0)) -v hz="$hz" \
      -v mon=$((m1 - m0)) -v wake=$((w1 - w0)) -v iwi=$((i1 - i0)) -v n="$count" -v others="$others" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      printf "%s\t%d\t%s\t%s\t%.3f\t%.4f\t%.3f\t%.3f\t%.2f\t%.2f\t%d\n", cond, round,
        v["elapsed_s"], v["rate_per_s"],
        v["self_user_s"] + v["self_sys_s"] + v["children_user_s"] + v["children_sys_s"],
        mon / 1e9, sys / hz, idle / hz, wake / n, iwi / n, others
    }' <<< "$out" | tee -a "$work/raw.tsv"
}

echo "fork_exec_loop: $count spawns per run, $rounds rounds, conditions: ${conditions[*]}, nice $nice"
echo "kernel $(uname -r), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
others=$(bpf_link_holders)
[[ -z $others ]] || echo "WARNING: BPF links held by other processes: $others"
printf 'cond\tround\twall_s\trate_per_s\tloop_cpu_s\tmonitor_cpu_s\tsystem_cpu_s\tidle_cpu_s\tmonitor_wakeups_per_spawn\tirq_work_per_spawn\tother_tracers\n' | tee "$work/raw.tsv"
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
if [[ -s $work/foreign ]]; then
  echo
  echo "WARNING: other processes held BPF links during $(wc -l < "$work/foreign") runs, left out of the table"
  echo "below (KEEP_FOREIGN=1 keeps them): $(cut -d: -f2- "$work/foreign" | tr ' ' '\n' | sort -u | tr '\n' ' ')"
fi

echo
echo "## Overhead, $count spawns per run (mean ± sd over rounds; load after: $load_after)"
echo
awk -F'\t' -v n="$count" -v order="${conditions[*]}" -v keep="${KEEP_FOREIGN:-0}" '
  NR == 1 { next }
  !keep && $11 > 0 { skipped[$1]++; next }
  {
    c = $1; k = ++runs[c]
    w[c] += $3; w2[c] += $3 * $3; wall[c, k] = $3
    l[c] += $5; l2[c] += $5 * $5; m[c] += $6; m2[c] += $6 * $6; s[c] += $7; s2[c] += $7 * $7
    idle[c] += $8; wk[c] += $9; iw[c] += $10
  }
  function mean(sum, c) { return sum / runs[c] }
  function sd(sum, sq, c,   mu, var) {
    if (runs[c] < 2) return 0
    mu = sum / runs[c]; var = (sq - runs[c] * mu * mu) / (runs[c] - 1)
    return var > 0 ? sqrt(var) : 0
  }
  function median(c,   i, j, t, a, k) {
    k = runs[c]
    for (i = 1; i <= k; i++) a[i] = wall[c, i]
    for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    print "| condition | runs | wall s | median wall s | slowdown (mean; median) | loop CPU µs/spawn | extra loop CPU µs/spawn | monitor CPU µs/spawn | extra system CPU µs/spawn | idle CPU s per run | monitor wake-ups/spawn | IRQ work/spawn |"
    print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    split(order, names, " ")
    base = "none"
    for (j = 1; j in names; j++) {
      c = names[j]
      if (!(c in runs)) { if (c in skipped) printf "| %s | 0 (%d skipped) |\n", c, skipped[c]; continue }
      slow = "n/a"; extra = "n/a"; extra_loop = "n/a"
      if (base in runs) {
        slow = sprintf("%.3f; %.3f", mean(w[c], c) / mean(w[base], base), median(c) / median(base))
        extra_loop = sprintf("%.1f ± %.1f", (mean(l[c], c) - mean(l[base], base)) / n * 1e6,
                             sd(l[c], l2[c], c) / n * 1e6)
        extra = sprintf("%.0f ± %.0f", (mean(s[c], c) - mean(s[base], base)) / n * 1e6,
                        sd(s[c], s2[c], c) / n * 1e6)
      }
      printf "| %s | %d%s | %.3f ± %.3f | %.3f | %s | %.1f ± %.1f | %s | %.1f ± %.1f | %s | %.2f | %.2f | %.2f |\n",
        c, runs[c], (c in skipped) ? sprintf(" (%d skipped)", skipped[c]) : "",
        mean(w[c], c), sd(w[c], w2[c], c), median(c), slow,
        mean(l[c], c) / n * 1e6, sd(l[c], l2[c], c) / n * 1e6, extra_loop,
        mean(m[c], c) / n * 1e6, sd(m[c], m2[c], c) / n * 1e6, extra,
        mean(idle[c], c), mean(wk[c], c), mean(iw[c], c)
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
  echo "*-stopped: pidscope stopped (SIGSTOP) during the loop, so the ring buffer never finds its"
  echo "reader waiting and wakes nobody (the hooks' cost without the wake-ups); continued after the"
  echo "loop, it drains the backlog in a few large batches (its CPU then: decoding, the model, JSON)."
  echo "Monitor CPU is counted from the start of the loop to 2 s after its end (drain included)."
  stat_conditions=()
  for cond in "${conditions[@]}"; do
    [[ $cond == none ]] || stat_conditions+=("$cond")
    [[ $cond == pidscope* ]] && stat_conditions+=("$cond-stopped")
  done
  for cond in "${stat_conditions[@]}"; do
    ((SECONDS > time_limit + 120)) && { echo "TIME_LIMIT: BPF stats skipped" >&2; break; }
    wait_quiet
    start_condition "${cond%-stopped}"
    prog_stats "${monitors[@]}" > "$work/before"
    read -r m0 w0 < <(proc_cpu "${monitors[@]}")
    [[ $cond == *-stopped ]] && kill -STOP "${monitors[@]}"
    i0=$(irq_work)
    out=$(timeout 600 nice -n "$nice" "$loop" "$count")
    i1=$(irq_work)
    prog_stats "${monitors[@]}" > "$work/after"
    [[ $cond == *-stopped ]] && kill -CONT "${monitors[@]}"
    sleep 2
    read -r m1 w1 < <(proc_cpu "${monitors[@]}")
    : > "$work/names"
    while read -r id _; do
      echo "$id $(bpftool prog show id "$id" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "name") { print $(i + 1); exit } }')" >> "$work/names"
    done < "$work/after"
    stop_monitors
    if [[ $cond == pidscope* ]] && ! grep -q 'events_lost=0' "$work/monitor.log"; then
      echo "note: $cond lost events: $(grep stopped "$work/monitor.log")" >&2
    fi
    echo
    echo "### $cond: $(awk -v d=$((i1 - i0)) -v n="$count" -v m=$((m1 - m0)) -v w=$((w1 - w0)) '
      { printf "%s, IRQ work %.2f/spawn, monitor CPU %.1f µs/spawn, monitor wake-ups %.2f/spawn",
          $3, d / n, m / n / 1000, w / n }' <<< "$out")"
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
