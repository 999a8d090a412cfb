// Does a PID namespace's init reap its children? Judged by observation first — zombies whose
// parent is the init and that stay unreaped — and by hints second: a known reaper program,
// SIGCHLD ignored (the kernel reaps) or handled. Signal masks alone mislead (tini waits in
// sigtimedwait and shows SIGCHLD neither caught nor ignored), so hints never make "failing".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/process_table.hpp"

namespace pidscope {

enum class ReapingState { kOk, kSuspect, kFailing };
const char* ReapingStateName(ReapingState state);

struct ReapingPolicy {
  uint64_t failing_after_ns = 30'000'000'000;  // a zombie child this old means failing
};

struct ReapingAssessment {
  ReapingState state = ReapingState::kOk;
  std::string reason;
  int32_t init_pid = 0;   // host PID of the namespace's init
  std::string init_name;  // comm
  std::string init_executable;
  std::string known_reaper;      // e.g. "tini", empty if the program is not a known reaper
  bool sigchld_ignored = false;  // children are reaped by the kernel
  bool sigchld_caught = false;
  bool sigchld_blocked = false;
  int64_t zombie_children = 0;
  uint64_t oldest_zombie_child_age_ns = 0;  // 0 if unknown or none
};

// Name of the known reaper `p` runs (by executable basename or comm), or empty.
std::string KnownReaper(const Process& p);

// Assesses the init of the PID namespace with this inode; nullopt if the model has no init for
// it (the host's namespace is assessed too, with PID 1 as its init).
std::optional<ReapingAssessment> AssessReaping(const ProcessTable& table, uint64_t pidns_inode,
                                               uint64_t now_boot_ns, const ReapingPolicy& policy);

}  // namespace pidscope
