#include "source/procfs_source.hpp"
#include "util/clock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <unordered_set>

namespace pidscope {

namespace {

constexpr uint32_t kPfKthread = 0x00200000;  // include/linux/sched.h
constexpr std::string_view kDeletedSuffix = " (deleted)";
constexpr size_t kInitialBuffer = 4096;
constexpr size_t kStatusLimit = 64 * 1024;

uint64_t HashText(std::string_view text) { return std::hash<std::string_view>{}(text); }

void CopyComm(std::string_view comm, std::array<char, kCommLength>* out) {
  out->fill('\0');
  std::memcpy(out->data(), comm.data(), std::min(comm.size(), kCommLength - 1));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ProcPeek

Result<ProcPeek> ProcPeek::Open(const std::string& proc_root) {
  UniqueFd fd(open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::FromErrno("open " + proc_root);
  ProcPeek peek(std::move(fd));
  peek.buffer_.resize(kInitialBuffer);
  return peek;
}

Status ProcPeek::ListPids(std::vector<int32_t>* pids) const {
  pids->clear();
  int fd = openat(proc_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("open /proc");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    Error error = Error::FromErrno("fdopendir /proc");
    close(fd);
    return error;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, closedir);
  while (dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '1' || name[0] > '9') continue;
    int32_t pid = 0;
    auto [end, ec] = std::from_chars(name, name + std::strlen(name), pid);
    if (ec == std::errc{} && *end == '\0') pids->push_back(pid);
  }
  return Ok{};
}

const char* ProcPeek::Path(int32_t pid, const char* name) {
  char* end = std::to_chars(path_, path_ + 16, pid).ptr;
  *end++ = '/';
  size_t room = sizeof(path_) - static_cast<size_t>(end - path_) - 1;
  size_t len = std::min(std::strlen(name), room);
  std::memcpy(end, name, len);
  end[len] = '\0';
  return path_;
}

int ProcPeek::ReadFile(int32_t pid, const char* name, size_t limit) {
  UniqueFd fd(openat(proc_fd_.get(), Path(pid, name), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  size_t len = 0;
  while (len < limit) {
    if (len == buffer_.size()) buffer_.resize(std::min(buffer_.size() * 2, limit));
    ssize_t n = read(fd.get(), buffer_.data() + len, std::min(buffer_.size(), limit) - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  length_ = len;
  return 0;
}

int ProcPeek::ReadLink(int32_t pid, const char* name) {
  const char* path = Path(pid, name);
  while (true) {
    ssize_t n = readlinkat(proc_fd_.get(), path, buffer_.data(), buffer_.size());
    if (n < 0) return errno;
    if (static_cast<size_t>(n) < buffer_.size()) {
      length_ = static_cast<size_t>(n);
      return 0;
    }
    buffer_.resize(buffer_.size() * 2);  // possibly truncated: retry with room to spare
  }
}

bool ProcPeek::ReadStat(int32_t pid, procfs::StatFields* out) {
  if (ReadFile(pid, "stat", kStatusLimit) != 0) return false;
  auto stat = procfs::ParseStat(view());
  if (!stat) return false;
  *out = std::move(*stat);
  return true;
}

bool ProcPeek::ReadStatus(int32_t pid, procfs::StatusFields* out) {
  if (ReadFile(pid, "status", kStatusLimit) != 0 || length_ == 0) return false;
  *out = procfs::ParseStatus(view());
  return true;
}

bool ProcPeek::ReadExe(int32_t pid, std::string* out) {
  if (ReadLink(pid, "exe") != 0) return false;
  std::string_view exe = view();
  if (exe.ends_with(kDeletedSuffix)) exe.remove_suffix(kDeletedSuffix.size());
  out->assign(exe);
  return true;
}

bool ProcPeek::ReadCmdline(int32_t pid, size_t max_bytes, procfs::Args* out) {
  // One byte past the limit tells a command line that was cut from one that fit.
  if (ReadFile(pid, "cmdline", max_bytes + 1) != 0) return false;
  *out = procfs::ParseCmdline(view(), max_bytes);
  return true;
}

bool ProcPeek::ReadPidnsInode(int32_t pid, uint64_t* out) {
  if (ReadLink(pid, "ns/pid") != 0) return false;
  auto inode = procfs::ParseNsLink(view());
  if (!inode) return false;
  *out = *inode;
  return true;
}

// ---------------------------------------------------------------------------------------------
// ProcfsPollSource

ProcfsPollSource::ProcfsPollSource(int interval_ms)
    : ProcfsPollSource(ProcfsPollOptions{.interval_ms = interval_ms}) {}

ProcfsPollSource::ProcfsPollSource(ProcfsPollOptions options) : options_(std::move(options)) {
  if (options_.interval_ms < 0) options_.interval_ms = 0;
}

ProcfsPollSource::~ProcfsPollSource() { Stop(); }

Status ProcfsPollSource::Start() {
  if (started_) return Ok{};
  auto peek = ProcPeek::Open(options_.proc_root);
  if (!peek) return peek.error();
  peek_.emplace(std::move(*peek));
  view_.clear();
  stats_ = SourceStats{};
  scans_ = 0;
  // The baseline: remember what is there, report nothing.
  auto baseline = Scan(nullptr);
  if (!baseline) {
    peek_.reset();
    return baseline.error();
  }
  started_ = true;
  return Ok{};
}

void ProcfsPollSource::Stop() {
  started_ = false;
  peek_.reset();
  view_.clear();
}

Result<size_t> ProcfsPollSource::Poll(int timeout_ms, const EventSink& sink) {
  if (!started_) return Error{EINVAL, "procfs source: Poll before Start"};
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  while (true) {
    auto now = Clock::now();
    if (now >= next_scan_) {
      auto delivered = Scan(sink);
      if (!delivered || *delivered > 0) return delivered;
      now = Clock::now();
    }
    if (now >= deadline) return size_t{0};
    auto wake = std::min(next_scan_, deadline);
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                static_cast<long>(wait.count() % 1'000'000'000)};
    if (nanosleep(&ts, nullptr) != 0 && errno == EINTR) return size_t{0};
  }
}

void ProcfsPollSource::ReadArgs(int32_t pid, Entry* entry, Detail* detail) {
  if (peek_->ReadCmdline(pid, options_.max_args_bytes, &detail->args)) {
    entry->args_known = true;
    entry->args_hash = HashText(detail->args.raw);
  }
}

bool ProcfsPollSource::ReadProcess(int32_t pid, const Entry* previous, Entry* entry,
                                   Detail* detail) {
  const procfs::StatFields& stat = stat_;
  entry->start_ticks = stat.start_ticks;
  entry->ppid = stat.ppid;
  entry->pgid = stat.pgrp;
  entry->sid = stat.session;
  entry->threads = stat.num_threads;
  entry->state = stat.state;
  entry->kernel_thread = (stat.flags & kPfKthread) != 0;
  entry->exit_status = stat.exit_code;
  CopyComm(stat.comm, &entry->comm);
  entry->generation = generation_;
  detail->pid = pid;
  const bool zombie = IsZombieState(entry->state, entry->threads);
  // Zombies and kernel threads have no mm: their status says little, their exe and cmdline
  // nothing.
  const bool has_program = !entry->kernel_thread && !zombie;

  bool status_read = false;
  if (has_program && peek_->ReadStatus(pid, &status_)) {
    status_read = true;
    if (status_.has_ids) {
      entry->creds_known = true;
      entry->uid = status_.uid;
      entry->gid = status_.gid;
      entry->cap_effective = status_.cap_effective;
      entry->cap_permitted = status_.cap_permitted;
    }
  }

  if (previous == nullptr) {
    detail->kind = Detail::kNew;
    detail->exit = zombie;
    if (status_read && status_.has_ns_pids) {
      detail->ns_pids = status_.ns_tgid.empty() ? status_.ns_pid : status_.ns_tgid;
    }
    peek_->ReadPidnsInode(pid, &detail->pidns_inode);
    if (has_program) {
      if (peek_->ReadExe(pid, &detail->exe)) {
        entry->exe_known = true;
        entry->exe_hash = HashText(detail->exe);
      }
      ReadArgs(pid, entry, detail);
    }
    return true;
  }

  // A known process: carry over what this scan does not re-read, then compare.
  detail->kind = Detail::kChanged;
  entry->exit_reported = previous->exit_reported;
  entry->exe_known = previous->exe_known;
  entry->exe_hash = previous->exe_hash;
  entry->args_known = previous->args_known;
  entry->args_hash = previous->args_hash;
  if (!status_read) {
    entry->creds_known = previous->creds_known;
    entry->uid = previous->uid;
    entry->gid = previous->gid;
    entry->cap_effective = previous->cap_effective;
    entry->cap_permitted = previous->cap_permitted;
  }

  bool interesting = false;
  const bool comm_changed = entry->comm != previous->comm;
  bool exe_changed = false;
  if (has_program && peek_->ReadExe(pid, &exe_scratch_)) {
    const uint64_t hash = HashText(exe_scratch_);
    exe_changed = !previous->exe_known || hash != previous->exe_hash;
    entry->exe_known = true;
    entry->exe_hash = hash;
  }
  if (has_program && (exe_changed || comm_changed)) {
    // Only now is the command line worth reading: an exec changes the exe or the comm (a
    // busybox applet keeps the exe), a prctl(PR_SET_NAME) changes the comm alone.
    detail->exe = exe_scratch_;
    ReadArgs(pid, entry, detail);
    const bool args_changed =
        entry->args_known && previous->args_known && entry->args_hash != previous->args_hash;
    // An exe we could not read before (it was unreadable) is not evidence of an exec.
    detail->exec = (exe_changed && previous->exe_known) || args_changed;
    detail->comm = comm_changed && !detail->exec;
    interesting = detail->exec || detail->comm;
  } else if (comm_changed) {
    // A process that exec'd and died between two scans keeps only its new comm: call it an
    // exec (filename and args unknown). A kernel thread renames itself (kComm).
    detail->exec = zombie && !entry->kernel_thread;
    detail->comm = !detail->exec;
    interesting = true;
  }
  if (entry->sid != previous->sid) {
    detail->sid = true;
    interesting = true;
  }
  // setsid() also moves the process group: one kSetsid says both.
  if (entry->pgid != previous->pgid && !(detail->sid && entry->pgid == entry->sid)) {
    detail->pgid = true;
    interesting = true;
  }
  if (entry->creds_known && previous->creds_known &&
      (entry->uid != previous->uid || entry->gid != previous->gid ||
       entry->cap_effective != previous->cap_effective ||
       entry->cap_permitted != previous->cap_permitted)) {
    detail->creds = true;
    interesting = true;
  }
  if (zombie && !entry->exit_reported) {
    detail->exit = true;
    interesting = true;
  }
  return interesting;
}

void ProcfsPollSource::Deliver(const EventSink& sink, Event* event) {
  ++stats_.events_received;
  sink(*event);
}

void ProcfsPollSource::FillCommon(int32_t pid, const Entry& entry, EventAction action,
                                  Event* event) {
  ResetEvent(event);
  event->action = action;
  event->source = EventSource::kProcfs;
  event->pid = pid;
  event->tid = pid;
  event->start_ticks = entry.start_ticks;
  event->ppid = entry.ppid;
  event->sid = entry.sid;
  event->pgid = entry.pgid;
  event->comm = entry.comm;
  if (entry.creds_known) {
    event->creds_known = true;
    event->uid = entry.uid;
    event->gid = entry.gid;
    event->cap_effective = entry.cap_effective;
    event->cap_permitted = entry.cap_permitted;
  }
}

void ProcfsPollSource::FillExec(const Detail& detail, Event* event) {
  event->filename = detail.exe;
  event->args = detail.args.raw;
  event->args_count = static_cast<uint32_t>(detail.args.count);
  event->args_truncated = detail.args.truncated;
}

Result<size_t> ProcfsPollSource::Scan(const EventSink& sink) {
  ++scans_;
  ++generation_;
  next_scan_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.interval_ms);
  if (auto listed = peek_->ListPids(&pids_); !listed) return listed.error();
  std::sort(pids_.begin(), pids_.end());  // events of one kind come in PID order

  std::vector<Detail> details;
  std::vector<std::pair<int32_t, Entry>> vanished;
  for (int32_t pid : pids_) {
    if (!peek_->ReadStat(pid, &stat_)) continue;  // gone between the listing and the read
    auto [slot, inserted] = view_.try_emplace(pid);
    std::optional<Entry> previous;
    if (!inserted) {
      if (slot->second.start_ticks == stat_.start_ticks) {
        previous = slot->second;
      } else {
        vanished.emplace_back(pid, slot->second);  // the PID was reused within one interval
      }
    }
    Entry& entry = slot->second;
    entry = Entry{};
    Detail detail;
    const bool interesting = ReadProcess(pid, previous ? &*previous : nullptr, &entry, &detail);
    if (detail.exit) entry.exit_reported = true;
    if (interesting && sink) details.push_back(std::move(detail));
  }
  for (auto it = view_.begin(); it != view_.end();) {
    if (it->second.generation != generation_) {
      vanished.emplace_back(it->first, it->second);
      it = view_.erase(it);
    } else {
      ++it;
    }
  }
  if (!sink) return size_t{0};  // the baseline reports nothing

  size_t delivered = 0;
  const uint64_t now_ns = BootTimeNs();
  static const uint64_t kNsPerTick = 1'000'000'000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  auto emit = [&](int32_t pid, const Entry& entry, EventAction action) -> Event& {
    FillCommon(pid, entry, action, &event_);
    event_.timestamp_ns = now_ns;
    return event_;
  };
  auto send = [&] {
    Deliver(sink, &event_);
    ++delivered;
  };

  // 1. Processes gone since the last scan, oldest first: their exit (unless already reported
  // as a zombie; the status is unknown then), then their reap. First, so that a PID reused
  // within one interval ends its old record before the new one begins.
  std::sort(vanished.begin(), vanished.end(), [](const auto& a, const auto& b) {
    return a.second.start_ticks != b.second.start_ticks
               ? a.second.start_ticks < b.second.start_ticks
               : a.first < b.first;
  });
  for (const auto& [pid, entry] : vanished) {
    if (entry.exit_reported) continue;
    emit(pid, entry, EventAction::kExit);  // exit_code -1, exit_signal 0: status unknown
    send();
  }
  for (const auto& [pid, entry] : vanished) {
    emit(pid, entry, EventAction::kReap);
    send();
  }

  // 2. Changes of known processes (before the forks: a child copies its parent's state as it
  // is now, so the parent should be up to date first). Exits come last, in step 4.
  for (const Detail& detail : details) {
    if (detail.kind != Detail::kChanged) continue;
    const Entry& entry = view_.at(detail.pid);
    if (detail.exec) {
      FillExec(detail, &emit(detail.pid, entry, EventAction::kExec));
      send();
    }
    if (detail.comm) {
      emit(detail.pid, entry, EventAction::kComm);
      send();
    }
    if (detail.sid) {
      emit(detail.pid, entry, EventAction::kSetsid);
      send();
    }
    if (detail.pgid) {
      emit(detail.pid, entry, EventAction::kSetpgid);
      send();
    }
    if (detail.creds) {
      emit(detail.pid, entry, EventAction::kCredChange);
      send();
    }
  }

  // 3. New processes by start time, a parent before its children; each fork followed by an
  // exec when the program differs from the parent's, and by an exit when already a zombie.
  std::vector<const Detail*> fresh;
  for (const Detail& detail : details) {
    if (detail.kind == Detail::kNew) fresh.push_back(&detail);
  }
  std::sort(fresh.begin(), fresh.end(), [this](const Detail* a, const Detail* b) {
    uint64_t sa = view_.at(a->pid).start_ticks, sb = view_.at(b->pid).start_ticks;
    return sa != sb ? sa < sb : a->pid < b->pid;
  });
  std::unordered_map<int32_t, const Detail*> fresh_by_pid;
  for (const Detail* detail : fresh) fresh_by_pid.emplace(detail->pid, detail);
  std::unordered_set<int32_t> emitted;
  std::function<void(const Detail&, int)> emit_new = [&](const Detail& detail, int depth) {
    if (!emitted.insert(detail.pid).second) return;
    const Entry& entry = view_.at(detail.pid);
    auto parent_fresh = fresh_by_pid.find(entry.ppid);
    if (parent_fresh != fresh_by_pid.end() && depth < 64)
      emit_new(*parent_fresh->second, depth + 1);

    Event& fork = emit(detail.pid, entry, EventAction::kFork);
    fork.timestamp_ns = entry.start_ticks * kNsPerTick;
    fork.parent_tid = entry.ppid;
    if (!detail.ns_pids.empty()) {
      size_t levels = std::min(detail.ns_pids.size(), kMaxPidnsLevels);
      for (size_t i = 0; i < levels; ++i) fork.ns_pids[i] = detail.ns_pids[i];
      fork.pidns_level = static_cast<uint8_t>(detail.ns_pids.size() - 1);
      fork.pidns_inode = detail.pidns_inode;
      fork.pidns_known = detail.pidns_inode != 0;
    }
    send();

    // A pure fork runs its parent's program; anything else exec'd before we looked.
    bool exec = false;
    if (!entry.kernel_thread) {
      auto parent = view_.find(entry.ppid);
      if (parent == view_.end()) {
        exec = entry.exe_known;
      } else if (entry.exe_known && parent->second.exe_known) {
        exec = entry.exe_hash != parent->second.exe_hash ||
               (entry.args_known && parent->second.args_known &&
                entry.args_hash != parent->second.args_hash);
      } else {
        // A zombie (or an unreadable process): the comm is the only trace of an exec left.
        exec = entry.comm != parent->second.comm;
      }
    }
    if (exec) {
      FillExec(detail, &emit(detail.pid, entry, EventAction::kExec));
      send();
    }
    if (detail.exit) {
      SetExitFromWaitStatus(static_cast<uint32_t>(entry.exit_status),
                            &emit(detail.pid, entry, EventAction::kExit));
      send();
    }
  };
  for (const Detail* detail : fresh) emit_new(*detail, 0);

  // 4. Known processes that became zombies.
  for (const Detail& detail : details) {
    if (detail.kind != Detail::kChanged || !detail.exit) continue;
    const Entry& entry = view_.at(detail.pid);
    SetExitFromWaitStatus(static_cast<uint32_t>(entry.exit_status),
                          &emit(detail.pid, entry, EventAction::kExit));
    send();
  }
  return delivered;
}

}  // namespace pidscope
