// The process record: what pidscope knows about one process. Plain data; the ProcessTable
// owns records and keeps the indexes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pidscope {

struct ContainerIdentity;  // resolve/cgroup_identity.hpp

// A process is identified by its PID and its start time (boot-relative clock ticks, as in
// /proc/<pid>/stat field 22): a reused PID has a different start time, so it never aliases.
struct ProcessKey {
  int32_t pid = 0;
  uint64_t start_ticks = 0;
  friend bool operator==(const ProcessKey&, const ProcessKey&) = default;
};

struct ProcessKeyHash {
  size_t operator()(const ProcessKey& key) const noexcept {
    return std::hash<uint64_t>{}((static_cast<uint64_t>(key.pid) << 40) ^ key.start_ticks);
  }
};

struct Credentials {
  // Index 0 real, 1 effective, 2 saved, 3 filesystem (the order of /proc/<pid>/status).
  std::array<uint32_t, 4> uid{};
  std::array<uint32_t, 4> gid{};
  std::vector<uint32_t> groups;  // supplementary
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_bounding = 0;
  uint64_t cap_inheritable = 0;
  uint64_t cap_ambient = 0;
};

enum class NsType : uint8_t { kPid, kMnt, kNet, kUser, kUts, kIpc, kCgroup, kTime };
inline constexpr std::array<const char*, 8> kNsNames = {"pid", "mnt", "net",    "user",
                                                        "uts", "ipc", "cgroup", "time"};

// One line of /proc/<pid>/cgroup, shared between the many processes that have the same set.
struct Cgroup {
  uint32_t hierarchy_id = 0;
  std::string controllers;
  std::string path;
};
using CgroupSet = std::vector<Cgroup>;

// Parts of a record that could not be read. A process that vanishes mid-read, or a file that
// needs privileges we lack, leaves the rest of the record intact.
enum Unreadable : uint16_t {
  kUnreadableStatus = 1 << 0,
  kUnreadableCmdline = 1 << 1,
  kUnreadableExe = 1 << 2,
  kUnreadableCwd = 1 << 3,
  kUnreadableCgroup = 1 << 4,
  kUnreadableNs = 1 << 5,
};

// Who adopted an orphan, in the kernel's order of preference (kernel/exit.c find_new_reaper).
enum class ReaperKind : uint8_t { kNone, kThread, kSubreaper, kPidnsInit, kInit, kUnknown };
const char* ReaperKindName(ReaperKind kind);

// Sub-reaper state: procfs cannot show it, so processes that existed before pidscope started are
// unknown until their next prctl (or the BPF task iterator tells).
enum class Tristate : uint8_t { kUnknown, kNo, kYes };

struct Process {
  ProcessKey key;
  int32_t ppid = 0;
  int32_t pgid = 0;
  int32_t sid = 0;
  int32_t tpgid = 0;
  uint32_t tty_nr = 0;
  int32_t threads = 0;
  int32_t tracer_pid = 0;
  uint32_t kernel_flags = 0;  // PF_* from stat
  char state = '?';           // R S D Z T t X I ... as in ps
  bool kernel_thread = false;
  bool executable_deleted = false;
  bool args_truncated = false;
  bool credentials_known = false;
  uint16_t unreadable = 0;  // Unreadable bits

  std::string comm;
  std::shared_ptr<const std::string> executable;  // interned: many processes share a binary
  std::shared_ptr<const std::string> cwd;
  std::string args;  // NUL-separated argv, bounded
  uint32_t args_count = 0;

  Credentials credentials;
  std::array<uint64_t, 8> ns_inode{};  // indexed by NsType; 0 when unknown
  // PID, process group and session at every PID-namespace level, outermost (host) first.
  std::vector<int32_t> ns_pid;
  std::vector<int32_t> ns_pgid;
  std::vector<int32_t> ns_sid;
  std::shared_ptr<const CgroupSet> cgroups;  // interned
  // The container the cgroups name (shared by its processes); null on the host.
  std::shared_ptr<const ContainerIdentity> container;

  uint64_t sig_blocked = 0;
  uint64_t sig_ignored = 0;
  uint64_t sig_caught = 0;

  // Live-model state (events).
  int32_t parent_tid = 0;                      // the thread that forked us, when seen (0 unknown)
  int32_t original_ppid = 0;                   // the parent before the first reparenting
  ReaperKind reaper_kind = ReaperKind::kNone;  // kNone: not an orphan
  Tristate subreaper = Tristate::kUnknown;
  bool needs_refresh = false;  // built from an event alone: procfs should fill the rest
  bool exited = false;         // exit seen: a zombie until reaped
  bool core_dumped = false;
  int32_t exit_code = -1;  // exit status, -1 when killed by a signal or not exited
  int32_t exit_signal = 0;
  uint64_t exit_boot_ns = 0;  // CLOCK_BOOTTIME ns of the exit (zombie age)
  uint32_t exec_count = 0;    // execs seen since pidscope started watching
  uint64_t cgroup_id = 0;     // cgroup v2 id from BPF (0 unknown)

  bool is_orphan() const { return reaper_kind != ReaperKind::kNone; }

  uint64_t ns(NsType type) const { return ns_inode[static_cast<size_t>(type)]; }
  // Depth of the process's PID namespace below the host's (0 on the host).
  int pidns_level() const { return ns_pid.empty() ? 0 : static_cast<int>(ns_pid.size()) - 1; }
  // PID 1 of a non-root PID namespace: the init of a container or sandbox.
  bool is_namespace_init() const { return ns_pid.size() > 1 && ns_pid.back() == 1; }
  // A thread-group leader that exited while other threads live also shows 'Z': only a group
  // with no live thread left is a zombie.
  bool is_zombie() const { return exited || (state == 'Z' && threads <= 1); }
};

}  // namespace pidscope
