// The last-resort source: polls /proc and reports the differences between two scans, keyed by
// (pid, start time), as Events. Each scan reads stat for every process and, for user-space
// processes that are not zombies, status (credentials) and the exe link; cmdline only for new
// processes and for those whose exe or comm changed.
//   new key           -> kFork, carrying the process's current comm, sid, pgid, credentials and
//                        namespace PIDs (differences from the parent are not separate events);
//                        + kExec when its program is not its parent's (exe or cmdline differ;
//                        for a zombie, whose exe is gone, the comm); + kExit when a zombie
//   state -> Z        -> kExit (exit_code/exit_signal from stat field 52)
//   key vanished      -> kExit (status unknown: exit_code -1, exit_signal 0) unless already
//                        reported, then kReap
//   exe or cmdline    -> kExec (the comm comes with it);  comm alone -> kComm
//   sid -> kSetsid (pgid with it);  pgid -> kSetpgid;  uid/gid/caps -> kCredChange
//   ppid              -> nothing: the model derives reparenting (every event carries the
//                        current ppid)
// Order within a scan: vanished processes (exits, then reaps, so a reused PID ends its old
// record first), changes of known processes, new processes by start time with each parent
// before its children, then new zombies.
// It sees only what is still there when it looks: a process that forks and is reaped between
// two scans is invisible, two execs show as one, a re-exec of the same program with the same
// comm is missed, an exec and exit between scans leaves only the new comm, a group whose
// leader exited before its last thread shows the leader's exit code, and times are those of
// the scan (kFork: the process start). It cannot know what it missed: no loss is reported.
//
// Also here: ProcPeek, the cheap per-file procfs reads both fallback sources share (one file at
// a time, a reused buffer, no directory fd per process).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pidscope/result.hpp"
#include "pidscope/unique_fd.hpp"
#include "procfs/parse.hpp"
#include "source/event.hpp"
#include "source/source.hpp"

namespace pidscope {

// Reads single files under /proc/<pid>/. Every read may fail because the process vanished (or
// the file needs privileges we lack): each returns false then and leaves its output undefined.
// Not thread-safe: one instance per source.
class ProcPeek {
 public:
  static Result<ProcPeek> Open(const std::string& proc_root);

  // The numeric entries of /proc (thread-group leaders), in directory order.
  Status ListPids(std::vector<int32_t>* pids) const;

  bool ReadStat(int32_t pid, procfs::StatFields* out);
  bool ReadStatus(int32_t pid, procfs::StatusFields* out);
  // The resolved executable path, without the " (deleted)" suffix. Fails for zombies and
  // kernel threads (no mm).
  bool ReadExe(int32_t pid, std::string* out);
  // argv as NUL-separated text, cut at `max_bytes` (and marked truncated).
  bool ReadCmdline(int32_t pid, size_t max_bytes, procfs::Args* out);
  // The inode of the PID namespace (the link text of ns/pid).
  bool ReadPidnsInode(int32_t pid, uint64_t* out);

 private:
  explicit ProcPeek(UniqueFd proc_fd) : proc_fd_(std::move(proc_fd)) {}
  // "<pid>/<name>" into path_; returns path_.
  const char* Path(int32_t pid, const char* name);
  // Reads up to `limit` bytes of the file into buffer_ (length_ valid); 0 or an errno.
  int ReadFile(int32_t pid, const char* name, size_t limit);
  int ReadLink(int32_t pid, const char* name);
  std::string_view view() const { return std::string_view(buffer_.data(), length_); }

  UniqueFd proc_fd_;
  std::string buffer_;
  size_t length_ = 0;
  char path_[64] = {};
};

struct ProcfsPollOptions {
  int interval_ms = 1000;  // at most one scan per interval
  std::string proc_root = "/proc";
  size_t max_args_bytes = 32 * 1024;  // argv kept in kExec events
};

class ProcfsPollSource : public Source {
 public:
  explicit ProcfsPollSource(int interval_ms = 1000);
  explicit ProcfsPollSource(ProcfsPollOptions options);
  ~ProcfsPollSource() override;

  const char* name() const override { return "procfs"; }
  // Takes the baseline scan: processes present now produce no events, only their changes do.
  Status Start() override;
  // Scans when the interval has passed since the last scan (waiting for it within timeout_ms)
  // and delivers the differences. Keeps scanning until one scan yields events or the timeout
  // passes.
  Result<size_t> Poll(int timeout_ms, const EventSink& sink) override;
  // Polling cannot know what it missed: events_lost and loss_signals stay 0.
  SourceStats Stats() const override { return stats_; }
  void Stop() override;

  // Scans counted since Start() (the baseline included): for tests and metrics.
  uint64_t scans() const { return scans_; }

 private:
  // What one scan keeps about a process: enough to see each kind of change, hashes for the
  // long strings.
  struct Entry {
    uint64_t start_ticks = 0;
    int32_t ppid = 0;
    int32_t pgid = 0;
    int32_t sid = 0;
    int32_t threads = 0;
    char state = '?';
    bool kernel_thread = false;
    bool exit_reported = false;  // kExit already delivered (seen as a zombie)
    bool creds_known = false;
    bool exe_known = false;
    bool args_known = false;
    std::array<uint32_t, 4> uid{};
    std::array<uint32_t, 4> gid{};
    uint64_t cap_effective = 0;
    uint64_t cap_permitted = 0;
    uint64_t exe_hash = 0;
    uint64_t args_hash = 0;
    std::array<char, kCommLength> comm{};
    int32_t exit_status = 0;  // waitpid-style status from stat field 52 (zombies)
    uint32_t generation = 0;  // the scan that last saw it
  };

  // What a scan learned about a new or changed process, kept for that scan only.
  struct Detail {
    int32_t pid = 0;
    enum Kind : uint8_t { kNew, kChanged } kind = kNew;
    bool exec = false;  // (changed) the program changed
    bool comm = false;  // (changed) the comm changed without an exec
    bool sid = false;
    bool pgid = false;
    bool creds = false;
    bool exit = false;  // became a zombie in this scan
    std::string exe;
    procfs::Args args;
    std::vector<int32_t> ns_pids;  // host first
    uint64_t pidns_inode = 0;
  };

  // Reads one process into `entry` (and `detail` for what only new or changed processes need).
  // `previous` is the entry of the same key from the last scan, or nullptr when it is new.
  bool ReadProcess(int32_t pid, const Entry* previous, Entry* entry, Detail* detail);
  void ReadArgs(int32_t pid, Entry* entry, Detail* detail);
  // One scan: updates the view and delivers the differences (none without a sink).
  Result<size_t> Scan(const EventSink& sink);
  void Deliver(const EventSink& sink, Event* event);
  void FillCommon(int32_t pid, const Entry& entry, EventAction action, Event* event);
  void FillExec(const Detail& detail, Event* event);

  ProcfsPollOptions options_;
  std::optional<ProcPeek> peek_;
  bool started_ = false;
  std::unordered_map<int32_t, Entry> view_;  // by pid; the entry holds the start time
  uint32_t generation_ = 0;
  uint64_t scans_ = 0;
  std::chrono::steady_clock::time_point next_scan_{};
  SourceStats stats_;

  // Reused between scans: no allocation per scan once warm.
  std::vector<int32_t> pids_;
  procfs::StatFields stat_;
  procfs::StatusFields status_;
  std::string exe_scratch_;
  Event event_;
};

}  // namespace pidscope
