// A snapshot of every process straight from the kernel, through the BPF task iterator in
// bpf/iter_tasks.bpf.c: one walk of the task list, consistent and fast, that also holds what
// procfs does not show (the sub-reaper flags of processes that set them before pidscope
// started, the start time in ns). /proc remains the fallback and the oracle.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "pidscope/result.hpp"
#include "source/event.hpp"

namespace pidscope {

// One process (thread-group leader) as the kernel held it during the walk. Host PIDs.
struct TaskRecord {
  int32_t pid = 0;             // thread-group id
  int32_t ppid = 0;            // real parent's tgid (0 for the kernel's own roots)
  uint64_t start_boot_ns = 0;  // CLOCK_BOOTTIME ns
  uint64_t start_ticks = 0;    // as field 22 of /proc/<pid>/stat
  int32_t pgid = 0;
  int32_t sid = 0;
  uint64_t pidns_inode = 0;                        // the PID namespace it lives in
  uint8_t pidns_level = 0;                         // its depth (0 = initial namespace)
  std::array<int32_t, kMaxPidnsLevels> ns_pids{};  // PID at each level, host first
  uint32_t threads = 0;                            // live threads (signal->nr_threads)
  bool subreaper = false;                          // prctl(PR_SET_CHILD_SUBREAPER) set on it
  bool has_subreaper = false;  // an ancestor is a sub-reaper (signal->has_child_subreaper)
  bool kernel_thread = false;
  bool leader_exited = false;  // the leader thread exited (others may live on)
  bool zombie = false;         // every thread exited; not yet reaped
  std::array<char, kCommLength> comm{};
};

// Walks every task with the iterator program and returns one record per process. Needs the
// privilege to load BPF tracing programs (CAP_BPF and CAP_PERFMON, or root).
Result<std::vector<TaskRecord>> ReadTasksFromKernel();

// Decodes the iterator's output (whole struct pidscope_task_record, back to back). ns_per_tick
// is 1e9 / sysconf(_SC_CLK_TCK). Pure, for tests.
Result<std::vector<TaskRecord>> DecodeTaskRecords(std::span<const std::byte> data,
                                                  uint64_t ns_per_tick);

}  // namespace pidscope
