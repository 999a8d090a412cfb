// The one event type every source produces (BPF, netlink proc connector, procfs polling) and the
// model applies. Fields a source cannot know are left at their "unknown" value; the model fills
// them from what it already holds or reads procfs lazily.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace pidscope {

enum class EventAction : uint8_t {
  kFork,        // a new process (thread-group leader) was created
  kExec,        // the process replaced its program (may happen many times)
  kExit,        // the whole thread group exited: the process is now a zombie
  kReap,        // the zombie was released (waited for, or auto-reaped): the record ends
  kSetsid,      // the process became a session leader
  kSetpgid,     // the process moved to another process group
  kCredChange,  // set*uid / set*gid / capset changed credentials
  kSubreaper,   // prctl(PR_SET_CHILD_SUBREAPER) changed the sub-reaper flag
  kComm,        // the command name changed (prctl(PR_SET_NAME), write to comm)
  kReparent,    // the parent died and the kernel gave the process a new one (model-derived)
  kThreadExit,  // internal: one thread of a live group exited (its children move to a sibling)
};

const char* ActionName(EventAction action);
std::optional<EventAction> ActionFromName(std::string_view name);

inline constexpr size_t kMaxPidnsLevels = 8;
inline constexpr size_t kCommLength = 16;

enum class EventSource : uint8_t { kBpf, kNetlink, kProcfs, kModel };
const char* EventSourceName(EventSource source);

struct Event {
  EventAction action = EventAction::kFork;
  EventSource source = EventSource::kBpf;
  uint64_t timestamp_ns = 0;  // CLOCK_BOOTTIME ns when the kernel saw it (0 unknown)

  // The process the event is about (host PIDs). start_ticks == 0 means unknown.
  int32_t pid = 0;             // thread-group id
  int32_t tid = 0;             // the thread that acted (== pid for single-threaded processes)
  uint64_t start_ticks = 0;    // boot-relative start in clock ticks, as /proc/<pid>/stat field 22
  uint64_t start_boot_ns = 0;  // precise start (BPF only), 0 unknown
  int32_t ppid = -1;           // the kernel's current real parent tgid, -1 unknown

  // kFork
  int32_t parent_tid = 0;  // the thread that forked
  uint64_t pidns_inode = 0;
  uint8_t pidns_level = 0;
  bool pidns_known = false;
  std::array<int32_t, kMaxPidnsLevels> ns_pids{};  // PID at each level, host first

  // kExec (filename and args are owned strings reused by sources: no allocation per event
  // once their capacity suffices)
  std::string filename;
  std::string args;  // NUL-separated, bounded
  uint32_t args_count = 0;
  bool args_truncated = false;
  int32_t old_tid = 0;  // a non-leader thread that exec'd had this TID before
  uint64_t cgroup_id = 0;

  // kExec and kCredChange: credentials after the change (valid when creds_known)
  bool creds_known = false;
  std::array<uint32_t, 4> uid{};  // real, effective, saved, fs
  std::array<uint32_t, 4> gid{};
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;

  // kExit
  int32_t exit_code = -1;   // exit status when exited normally, -1 when killed
  int32_t exit_signal = 0;  // terminating signal, 0 when exited normally
  bool core_dumped = false;

  // kSetsid / kSetpgid
  int32_t sid = 0;
  int32_t pgid = 0;

  // kSubreaper
  bool subreaper = false;

  // kComm (and kExec: the comm after exec)
  std::array<char, kCommLength> comm{};

  // kReparent (model-derived)
  int32_t old_ppid = 0;
  uint8_t reaper_kind = 0;  // ReaperKind
};

// Clears every field for reuse but keeps the capacity of the strings: sources refill one Event
// per record without allocating.
void ResetEvent(Event* event);

// Fills exit_code, exit_signal and core_dumped from a wait(2)-style status (task->exit_code,
// /proc/<pid>/stat field 52, cn_proc's exit_code).
void SetExitFromWaitStatus(uint32_t status, Event* event);

// A thread group is a zombie when its leader shows Z (or X, on its way out) and no thread lives.
inline bool IsZombieState(char state, int32_t threads) {
  return (state == 'Z' || state == 'X') && threads <= 1;
}

}  // namespace pidscope
