#include "procfs/reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <string_view>
#include <thread>

#include "procfs/parse.hpp"
#include "resolve/cgroup_identity.hpp"

namespace pidscope::procfs {

namespace {

constexpr uint32_t kPfKthread = 0x00200000;  // include/linux/sched.h
constexpr std::string_view kDeletedSuffix = " (deleted)";
constexpr size_t kInitialBuffer = 4096;

// The namespace links, in NsType order.
constexpr const char* kNsLinks[] = {"ns/pid", "ns/mnt", "ns/net",    "ns/user",
                                    "ns/uts", "ns/ipc", "ns/cgroup", "ns/time"};

CgroupSet ToCgroupSet(std::string_view text) {
  CgroupSet set;
  for (auto& entry : ParseCgroup(text)) {
    set.push_back(Cgroup{entry.hierarchy_id, std::move(entry.controllers), std::move(entry.path)});
  }
  return set;
}

}  // namespace

Result<ProcReader> ProcReader::Open(const std::string& proc_root, ReadOptions options) {
  UniqueFd fd(open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::FromErrno("open " + proc_root);
  ProcReader reader(std::move(fd), options);
  reader.buffer_.resize(kInitialBuffer);
  return reader;
}

Result<std::vector<int32_t>> ProcReader::ListPids() const {
  int fd = openat(proc_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("open /proc");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return Error::FromErrno("fdopendir /proc");
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, closedir);
  std::vector<int32_t> pids;
  while (dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '1' || name[0] > '9') continue;
    int32_t pid = 0;
    auto [end, ec] = std::from_chars(name, name + strlen(name), pid);
    if (ec == std::errc{} && *end == '\0') pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

int ProcReader::Slurp(int dir_fd, const char* name) {
  UniqueFd fd(openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  size_t len = 0;
  while (true) {
    if (len == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    size_t room = buffer_.size() - len;
    ssize_t n = read(fd.get(), buffer_.data() + len, room);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    len += static_cast<size_t>(n);
    // procfs fills the buffer as far as the record goes: a short read is the end, which saves
    // the extra read() per file that would only return 0.
    if (n == 0 || static_cast<size_t>(n) < room) break;
  }
  length_ = len;
  return 0;
}

int ProcReader::SlurpBounded(int dir_fd, const char* name, size_t limit) {
  UniqueFd fd(openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  if (buffer_.size() < limit) buffer_.resize(limit);
  size_t len = 0;
  while (len < limit) {
    size_t room = limit - len;
    ssize_t n = read(fd.get(), buffer_.data() + len, room);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < room) break;  // a short read is the end (see Slurp)
  }
  length_ = len;
  return 0;
}

int ProcReader::ReadLink(int dir_fd, const char* name) {
  while (true) {
    ssize_t n = readlinkat(dir_fd, name, buffer_.data(), buffer_.size());
    if (n < 0) return errno;
    if (static_cast<size_t>(n) < buffer_.size()) {
      length_ = static_cast<size_t>(n);
      return 0;
    }
    buffer_.resize(buffer_.size() * 2);  // possibly truncated: retry with room to spare
  }
}

void ProcReader::ReadNamespaces(int dir_fd, Process* p, bool flag_failures) {
  bool any_failed = false;
  for (size_t i = 0; i < std::size(kNsLinks); ++i) {
    // The link text "pid:[4026531836]" carries the inode; it is cheaper than stat().
    if (ReadLink(dir_fd, kNsLinks[i]) != 0) {
      any_failed = true;
      continue;
    }
    if (auto inode = ParseNsLink(view())) p->ns_inode[i] = *inode;
  }
  if (any_failed && flag_failures) p->unreadable |= kUnreadableNs;
}

std::shared_ptr<const ContainerIdentity> ProcReader::ContainerFor(std::string_view text,
                                                                  const CgroupSet& set) {
  auto it = containers_.find(std::string(text));
  if (it != containers_.end()) return it->second;
  // Containers come and go: forget identities nobody holds before the cache grows large.
  if (containers_.size() > 4096) {
    std::erase_if(containers_,
                  [](const auto& e) { return !e.second || e.second.use_count() == 1; });
  }
  std::shared_ptr<const ContainerIdentity> identity;
  if (auto found = IdentifyCgroups(set)) {
    identity = std::make_shared<const ContainerIdentity>(std::move(*found));
  }
  containers_.emplace(std::string(text), identity);
  return identity;
}

UniqueFd ProcReader::OpenLiveThread(int dir_fd, int32_t pid) {
  UniqueFd tasks(openat(dir_fd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tasks) return {};
  DIR* dir = fdopendir(tasks.get());
  if (dir == nullptr) return {};
  tasks.release();  // owned by dir now
  std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, closedir);
  while (dirent* entry = readdir(dir)) {
    int32_t tid = 0;
    const char* name = entry->d_name;
    auto [end, ec] = std::from_chars(name, name + strlen(name), tid);
    if (ec != std::errc{} || *end != '\0' || tid == pid) continue;
    UniqueFd thread(openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!thread) continue;
    if (Slurp(thread.get(), "stat") == 0) {
      auto stat = ParseStat(view());
      if (stat && stat->state != 'Z' && stat->state != 'X') return thread;
    }
  }
  return {};
}

std::optional<std::pair<std::string, bool>> ProcReader::ReadExecutable(int32_t pid) {
  char dir_name[16];
  auto [end, ec] = std::to_chars(dir_name, dir_name + sizeof dir_name - 1, pid);
  *end = '\0';
  UniqueFd dir(openat(proc_fd_.get(), dir_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ReadLink(dir.get(), "exe") != 0) return std::nullopt;
  std::string_view exe = view();
  struct stat target {};
  bool deleted = exe.ends_with(kDeletedSuffix) && fstatat(dir.get(), "exe", &target, 0) == 0 &&
                 target.st_nlink == 0;
  if (deleted) exe.remove_suffix(kDeletedSuffix.size());
  return std::pair{std::string(exe), deleted};
}

std::optional<Process> ProcReader::Read(int32_t pid) {
  char dir_name[16];
  auto [end, ec] = std::to_chars(dir_name, dir_name + sizeof dir_name - 1, pid);
  *end = '\0';
  UniqueFd dir(openat(proc_fd_.get(), dir_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return std::nullopt;  // gone before we looked: not an error

  if (Slurp(dir.get(), "stat") != 0) return std::nullopt;
  auto stat = ParseStat(view());
  if (!stat) return std::nullopt;

  Process p;
  p.key = ProcessKey{stat->pid, stat->start_ticks};
  p.ppid = stat->ppid;
  p.pgid = stat->pgrp;
  p.sid = stat->session;
  p.tpgid = stat->tpgid;
  p.tty_nr = stat->tty_nr;
  p.threads = stat->num_threads;
  p.kernel_flags = stat->flags;
  p.state = stat->state;
  p.kernel_thread = (stat->flags & kPfKthread) != 0;
  p.comm = std::move(stat->comm);

  if (Slurp(dir.get(), "status") == 0) {
    StatusFields status = ParseStatus(view());
    p.tracer_pid = status.tracer_pid;
    if (status.threads > 0) p.threads = status.threads;
    if (status.has_ids) {
      p.credentials_known = true;
      p.credentials.uid = status.uid;
      p.credentials.gid = status.gid;
      p.credentials.groups = std::move(status.groups);
    }
    p.credentials.cap_effective = status.cap_effective;
    p.credentials.cap_permitted = status.cap_permitted;
    p.credentials.cap_bounding = status.cap_bounding;
    p.credentials.cap_inheritable = status.cap_inheritable;
    p.credentials.cap_ambient = status.cap_ambient;
    p.ns_pid = std::move(status.ns_pid);
    p.ns_pgid = std::move(status.ns_pgid);
    p.ns_sid = std::move(status.ns_sid);
    p.sig_blocked = status.sig_blocked;
    p.sig_ignored = status.sig_ignored;
    p.sig_caught = status.sig_caught;
    if (status.kthread) p.kernel_thread = *status.kthread;
  } else {
    p.unreadable |= kUnreadableStatus;
  }
  if (p.ns_pid.empty()) p.ns_pid.push_back(pid);  // kernels before 4.1 have no NSpid

  // A thread-group leader that exited while other threads live has released its mm, files and
  // namespaces: the process's program, cwd, cgroups and namespaces are read through a live
  // thread instead (/proc/<pid>/task/<tid>/).
  UniqueFd live_thread;
  if (p.state == 'Z' && p.threads > 1) live_thread = OpenLiveThread(dir.get(), pid);
  int info_fd = live_thread ? live_thread.get() : dir.get();

  bool userspace = !p.kernel_thread;
  if (userspace) {
    // Two bytes past the limit tell a command line that was cut from one that fit, even when
    // the byte after the limit is the NUL that ends the last kept argument.
    if (SlurpBounded(info_fd, "cmdline", options_.max_args_bytes + 2) == 0) {
      Args args = ParseCmdline(view(), options_.max_args_bytes);
      p.args = std::move(args.raw);
      p.args_count = static_cast<uint32_t>(args.count);
      p.args_truncated = args.truncated;
    } else {
      p.unreadable |= kUnreadableCmdline;
    }
    if (ReadLink(info_fd, "exe") == 0) {
      std::string_view exe = view();
      // " (deleted)" may also be part of a real file name: only an unlinked file is deleted.
      struct stat target {};
      if (exe.ends_with(kDeletedSuffix) && fstatat(info_fd, "exe", &target, 0) == 0 &&
          target.st_nlink == 0) {
        p.executable_deleted = true;
        exe.remove_suffix(kDeletedSuffix.size());
      }
      p.executable = paths_.Get(exe, [](std::string_view s) { return std::string(s); });
    } else if (!p.is_zombie()) {
      p.unreadable |= kUnreadableExe;
    }
    if (ReadLink(info_fd, "cwd") == 0) {
      p.cwd = paths_.Get(view(), [](std::string_view s) { return std::string(s); });
    } else if (!p.is_zombie()) {
      p.unreadable |= kUnreadableCwd;
    }
  }
  if (Slurp(info_fd, "cgroup") == 0) {
    p.cgroups = cgroup_sets_.Get(view(), ToCgroupSet);
    p.container = ContainerFor(view(), *p.cgroups);
  } else {
    p.unreadable |= kUnreadableCgroup;
  }
  // A zombie has released its namespaces: what is left is not a failure.
  ReadNamespaces(info_fd, &p, /*flag_failures=*/!p.is_zombie());

  if (p.unreadable != 0) {
    // Something failed: tell "this file is not for us" from "the process is gone (or its PID
    // was reused) while we read", which must drop the record.
    if (Slurp(dir.get(), "stat") != 0) return std::nullopt;
    auto again = ParseStat(view());
    if (!again || again->start_ticks != p.key.start_ticks) return std::nullopt;
  }
  return p;
}

void FillUnknownPidNamespaces(std::vector<Process>* processes) {
  // Every process whose NSpid has one level lives in the root PID namespace of this /proc;
  // a process whose link cannot be read (a zombie, a protected init) still does.
  std::unordered_map<uint64_t, size_t> votes;
  std::unordered_map<int32_t, const Process*> by_pid;
  for (const Process& p : *processes) {
    by_pid.emplace(p.key.pid, &p);
    if (p.ns_pid.size() == 1 && p.ns(NsType::kPid) != 0) ++votes[p.ns(NsType::kPid)];
  }
  uint64_t root = 0;
  size_t best = 0;
  for (auto [inode, count] : votes) {
    if (count > best) std::tie(root, best) = std::pair{inode, count};
  }
  for (Process& p : *processes) {
    if (p.ns(NsType::kPid) != 0) continue;
    size_t slot = static_cast<size_t>(NsType::kPid);
    if (p.ns_pid.size() == 1) {
      p.ns_inode[slot] = root;
    } else if (auto it = by_pid.find(p.ppid);
               it != by_pid.end() && it->second->ns_pid.size() == p.ns_pid.size()) {
      p.ns_inode[slot] = it->second->ns(NsType::kPid);  // same depth below: same namespace
    }
  }
}

Result<std::vector<Process>> ReadAllProcesses(const std::string& proc_root, ReadOptions options) {
  auto lister = ProcReader::Open(proc_root, options);
  if (!lister) return lister.error();
  auto pids = lister->ListPids();
  if (!pids) return pids.error();

  // procfs reads are system calls that scale across CPUs; a few readers, each with its own
  // buffer, cut the wall time of a large scan. Small hosts stay single-threaded.
  constexpr size_t kPidsPerThread = 2048;
  size_t threads = std::min<size_t>(
      {std::max(1u, std::thread::hardware_concurrency()), 4, 1 + pids->size() / kPidsPerThread});
  std::vector<std::vector<Process>> parts(threads);
  std::vector<std::thread> workers;
  std::atomic<size_t> next{0};
  constexpr size_t kChunk = 64;
  auto work = [&](size_t index, ProcReader* reader) {
    for (size_t start = next.fetch_add(kChunk); start < pids->size();
         start = next.fetch_add(kChunk)) {
      size_t end = std::min(start + kChunk, pids->size());
      for (size_t i = start; i < end; ++i) {
        if (auto p = reader->Read((*pids)[i])) parts[index].push_back(std::move(*p));
      }
    }
  };
  std::vector<ProcReader> readers;
  readers.reserve(threads);
  readers.push_back(std::move(*lister));
  for (size_t i = 1; i < threads; ++i) {
    auto reader = ProcReader::Open(proc_root, options);
    if (!reader) break;
    readers.push_back(std::move(*reader));
  }
  for (size_t i = 1; i < readers.size(); ++i) workers.emplace_back(work, i, &readers[i]);
  work(0, &readers[0]);
  for (auto& worker : workers) worker.join();

  std::vector<Process> processes;
  processes.reserve(pids->size());
  for (auto& part : parts) {
    for (auto& p : part) processes.push_back(std::move(p));
  }
  std::sort(processes.begin(), processes.end(),
            [](const Process& a, const Process& b) { return a.key.pid < b.key.pid; });
  FillUnknownPidNamespaces(&processes);
  return processes;
}

}  // namespace pidscope::procfs
