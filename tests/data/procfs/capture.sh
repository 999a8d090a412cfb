#!/bin/bash
# Captures the real procfs files under linux-<major.minor>/ from the machine this runs on, as root
# (the nested PID namespaces need CAP_SYS_ADMIN). Written by hand, not captured: synthetic/ (older
# kernels, other cgroup layouts), described in synthetic/README. The unit tests check these files
# against each other and against what this script did (the zombie's exit status, the forged comm,
# the namespace PIDs), and a few facts of the machine they came from (a hybrid cgroup layout with
# 10 lines, root credentials): a capture elsewhere may need those expectations revisited.
#
#   self/                this script's own shell: stat, status, cgroup, cmdline
#   kthreadd/, kworker/  kernel threads (PF_KTHREAD, no cmdline; a kworker's long comm)
#   zombie/              a child exited with status 3 whose parent never reaps it
#   hostile-comm/        a perl that set its own comm to "a) Z 1 (b\n)c"
#   hostile-args/        a shell whose argv holds quotes, invalid UTF-8, controls and a 100 KB arg
#   nested-pidns-init/   PID 1 of a PID namespace nested two deep (NSpid with 3 levels)
#   nested-pidns-child/  PID 2 of that namespace
#   ns_links             readlink of /proc/self/ns/*
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)/linux-$(uname -r | cut -d. -f1,2)"
rm -rf "$out"
mkdir -p "$out"

copy() {  # copy PID DIR FILE...
  local pid=$1 dir=$out/$2
  shift 2
  mkdir -p "$dir"
  for f in "$@"; do cat "/proc/$pid/$f" >"$dir/$f"; done
}

copy $$ self stat status cgroup cmdline
for ns in pid mnt net user uts ipc cgroup time; do readlink "/proc/self/ns/$ns"; done >"$out/ns_links"

copy 2 kthreadd stat status cmdline cgroup
kworker=$(grep -l '^kworker/' /proc/[0-9]*/comm | head -1 | cut -d/ -f3)
copy "$kworker" kworker stat status

# The subshell exits with 3; its parent then execs sleep, which never waits for it.
sh -c '(exit 3) & exec sleep 30' &
parent=$!
sleep 0.5
zombie=$(tr -d " " <"/proc/$parent/task/$parent/children")
copy "$zombie" zombie stat status cmdline cgroup
kill "$parent"

# comm is writable only by the process itself, and each write(2) replaces it: one syswrite.
perl -e 'open(my $f, ">", "/proc/self/comm") or die; syswrite($f, "a) Z 1 (b\n)c"); sleep 30' &
hostile=$!
sleep 0.5
copy "$hostile" hostile-comm stat status
kill "$hostile"

big=$(head -c 102400 /dev/zero | tr '\0' a)
sh -c 'sleep 30; :' sh 'say "hi"' 'back\slash' $'\xff\xfe' $'trunc\xe2\x82' $'tab\there' \
  $'new\nline' $'esc\x1b[31mred' $'\x01\x7f' '' "$big" 'last' &
args=$!
sleep 0.5
copy "$args" hostile-args stat cmdline
kill "$args"

unshare --pid --fork --mount-proc unshare --pid --fork --mount-proc \
  sh -c 'sleep 30 & sleep 31; :' &
nested=$!
sleep 1
for status in /proc/[0-9]*/status; do
  pid=$(basename "$(dirname "$status")")
  case "$(grep '^NSpid:' "$status" 2>/dev/null | cut -f2-)" in
    *$'\t'*$'\t'1) copy "$pid" nested-pidns-init stat status cgroup ;;
    *$'\t'*$'\t'2) copy "$pid" nested-pidns-child stat status cgroup ;;
  esac
done
kill "$nested"
wait 2>/dev/null || true
