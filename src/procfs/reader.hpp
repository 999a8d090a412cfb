// Reads processes from procfs into Process records. One reader per thread: it reuses its read
// buffer and shares interned values between the records it makes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/process.hpp"
#include "pidscope/result.hpp"
#include "pidscope/unique_fd.hpp"
#include "util/intern_pool.hpp"

namespace pidscope::procfs {

struct ReadOptions {
  size_t max_args_bytes = 32 * 1024;  // argv kept per process; longer is marked truncated
};

class ProcReader {
 public:
  // Opens `proc_root` (normally "/proc").
  static Result<ProcReader> Open(const std::string& proc_root, ReadOptions options = {});

  // PIDs of the thread-group leaders listed in /proc, ascending.
  Result<std::vector<int32_t>> ListPids() const;

  // Reads one process. std::nullopt when it does not exist or vanished while being read;
  // files that cannot be read (permissions, zombies) are flagged in Process::unreadable.
  std::optional<Process> Read(int32_t pid);
  // The exe link of `pid` (" (deleted)" removed and reported), or nullopt if unreadable.
  std::optional<std::pair<std::string, bool>> ReadExecutable(int32_t pid);

 private:
  ProcReader(UniqueFd proc_fd, ReadOptions options)
      : proc_fd_(std::move(proc_fd)), options_(options) {}

  // Each reads into buffer_ (length_ bytes valid) and returns an errno, 0 on success.
  int Slurp(int dir_fd, const char* name);
  int SlurpBounded(int dir_fd, const char* name, size_t limit);
  int ReadLink(int dir_fd, const char* name);
  std::string_view view() const { return std::string_view(buffer_.data(), length_); }
  void ReadNamespaces(int dir_fd, Process* p, bool flag_failures);
  std::shared_ptr<const ContainerIdentity> ContainerFor(std::string_view text,
                                                        const CgroupSet& set);
  // /proc/<pid>/task/<tid> of a thread that has not exited, or an invalid fd.
  UniqueFd OpenLiveThread(int dir_fd, int32_t pid);

  UniqueFd proc_fd_;
  ReadOptions options_;
  std::string buffer_;  // reused for every read: no allocation per file
  size_t length_ = 0;
  InternPool<std::string> paths_;
  InternPool<CgroupSet> cgroup_sets_;
  // Container identity by cgroup file text; null where the cgroups name no container.
  std::unordered_map<std::string, std::shared_ptr<const ContainerIdentity>> containers_;
};

// Gives processes whose ns/pid link was unreadable the PID namespace they must be in (the
// root one of this /proc for single-level NSpid, else their parent's at the same depth).
void FillUnknownPidNamespaces(std::vector<Process>* processes);

// Reads every process. Processes that vanish during the scan are left out.
Result<std::vector<Process>> ReadAllProcesses(const std::string& proc_root,
                                              ReadOptions options = {});

}  // namespace pidscope::procfs
