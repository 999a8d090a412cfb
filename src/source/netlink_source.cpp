#include "source/netlink_source.hpp"
#include "util/clock.hpp"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pidscope {

// What procfs says about a PID at the moment of reading, reconciled with the start time this
// source remembers for it. `live` means stat_ describes the very process the event is about.
struct NetlinkSource::Identity {
  bool live = false;
  uint64_t start_ticks = 0;  // 0 unknown
};

namespace {

constexpr size_t kReceiveBuffer = 8192;  // a connector message is < 100 bytes
constexpr size_t kEventHeader = offsetof(proc_event, event_data);

void CopyComm(std::string_view comm, std::array<char, kCommLength>* out) {
  out->fill('\0');
  std::memcpy(out->data(), comm.data(), std::min(comm.size(), kCommLength - 1));
}

// The smallest message that carries the fields of each event kind.
size_t MinimumLength(uint32_t what) {
  const proc_event* ev = nullptr;
  switch (what) {
    case proc_event::PROC_EVENT_NONE:
      return kEventHeader + sizeof(ev->event_data.ack);
    case proc_event::PROC_EVENT_FORK:
      return kEventHeader + sizeof(ev->event_data.fork);
    case proc_event::PROC_EVENT_EXEC:
      return kEventHeader + sizeof(ev->event_data.exec);
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID:
      return kEventHeader + sizeof(ev->event_data.id);
    case proc_event::PROC_EVENT_SID:
      return kEventHeader + sizeof(ev->event_data.sid);
    case proc_event::PROC_EVENT_COMM:
      return kEventHeader + sizeof(ev->event_data.comm);
    // parent_pid/parent_tgid came with Linux 4.x; older kernels send the first four fields.
    case proc_event::PROC_EVENT_EXIT:
      return offsetof(proc_event, event_data.exit.parent_pid);
    default:
      return kEventHeader;
  }
}

// Calls `fn(cn_msg, proc_event)` if `nlh` is a well-formed proc connector message (copied: the
// datagram is not aligned for it).
template <typename Fn>
void HandleMessage(const nlmsghdr* nlh, Fn&& fn) {
  if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_ERROR) return;
  const size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
  if (nlh->nlmsg_len < NLMSG_HDRLEN || payload < sizeof(cn_msg)) return;
  cn_msg cn;
  std::memcpy(&cn, NLMSG_DATA(nlh), sizeof(cn));
  if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC) return;
  if (cn.len > payload - sizeof(cn_msg) || cn.len < kEventHeader) return;
  proc_event ev;
  std::memset(&ev, 0, sizeof(ev));
  std::memcpy(&ev, static_cast<const char*>(NLMSG_DATA(nlh)) + sizeof(cn_msg),
              std::min<size_t>(cn.len, sizeof(ev)));
  if (cn.len < MinimumLength(ev.what)) return;
  fn(cn, ev);
}

// Walks the netlink messages of one datagram from the kernel. This is the walk NLMSG_OK and
// NLMSG_NEXT do, written out: the macros compare a signed length with the unsigned nlmsg_len,
// which clang rejects under -Wsign-compare.
template <typename Fn>
void ForEachProcEvent(const char* data, size_t size, Fn&& fn) {
  size_t remaining = size;
  const char* cursor = data;
  while (remaining >= sizeof(nlmsghdr)) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(cursor);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > remaining) break;
    HandleMessage(nlh, fn);
    const size_t step = std::min<size_t>(NLMSG_ALIGN(nlh->nlmsg_len), remaining);
    cursor += step;
    remaining -= step;
  }
}

}  // namespace

NetlinkSource::NetlinkSource(NetlinkSourceOptions options)
    : options_(std::move(options)),
      ns_per_tick_(1'000'000'000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK))) {
  if (options_.reap_check_interval_ms < 1) options_.reap_check_interval_ms = 1;
  if (options_.max_batch == 0) options_.max_batch = 1;
  buffer_.resize(kReceiveBuffer);
}

NetlinkSource::~NetlinkSource() { Stop(); }

uint64_t NetlinkSource::ToBoottime(uint64_t monotonic_ns) const {
  if (monotonic_ns == 0) return 0;
  return static_cast<uint64_t>(static_cast<int64_t>(monotonic_ns) + boot_offset_ns_);
}

Status NetlinkSource::Start() {
  if (fd_) return Ok{};
  auto peek = ProcPeek::Open(options_.proc_root);
  if (!peek) return peek.error();
  peek_.emplace(std::move(*peek));

  UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR));
  if (!fd) {
    return Error::FromErrno("socket(AF_NETLINK, NETLINK_CONNECTOR): no CONFIG_CONNECTOR?");
  }
  // A large queue rides out bursts (a fork storm, a slow consumer). SO_RCVBUFFORCE passes
  // rmem_max but needs CAP_NET_ADMIN; otherwise take what SO_RCVBUF grants.
  int bytes = options_.receive_buffer_bytes;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = CN_IDX_PROC;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    Error error = Error::FromErrno(
        errno == EPERM || errno == EACCES
            ? "bind to the proc connector group (needs CAP_NET_ADMIN before Linux 6.6)"
            : "bind to the proc connector group");
    peek_.reset();
    return error;
  }
  fd_ = std::move(fd);
  stats_ = SourceStats{};
  next_seq_.clear();
  seq_seen_.clear();
  backlog_.clear();
  start_by_pid_.clear();
  dead_leaders_.clear();
  zombies_.clear();
  unclaimed_overflows_ = 0;
  if (getrandom(&ack_nonce_, sizeof ack_nonce_, GRND_NONBLOCK) != sizeof ack_nonce_) {
    ack_nonce_ = static_cast<uint32_t>(getpid()) ^ static_cast<uint32_t>(ClockNs(CLOCK_MONOTONIC));
  }
  Status subscribed = Subscribe(PROC_CN_MCAST_LISTEN, /*wait_for_ack=*/true);
  if (!subscribed) {
    fd_.reset();
    peek_.reset();
    return subscribed;
  }
  subscribed_ = true;
  return Ok{};
}

void NetlinkSource::Stop() {
  if (!fd_) return;
  if (subscribed_) Subscribe(PROC_CN_MCAST_IGNORE, /*wait_for_ack=*/false);
  subscribed_ = false;
  fd_.reset();
  peek_.reset();
  backlog_.clear();
}

Status NetlinkSource::Subscribe(int op, bool wait_for_ack) {
  alignas(nlmsghdr) char message[NLMSG_SPACE(sizeof(cn_msg) + sizeof(uint32_t))] = {};
  auto* nlh = reinterpret_cast<nlmsghdr*>(message);
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(uint32_t));
  nlh->nlmsg_type = NLMSG_DONE;
  nlh->nlmsg_seq = seq_;
  auto* cn = static_cast<cn_msg*>(NLMSG_DATA(nlh));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->seq = seq_++;
  cn->ack = ack_nonce_;
  cn->len = sizeof(uint32_t);
  const uint32_t op_value = static_cast<uint32_t>(op);
  std::memcpy(cn->data, &op_value, sizeof op_value);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_.get(), message, nlh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    return Error::FromErrno("send PROC_CN_MCAST request to the proc connector");
  }
  if (!wait_for_ack) return Ok{};

  // The kernel answers with a PROC_EVENT_NONE whose cn_msg.ack is ours + 1 (and ack.err an
  // errno). Whatever else arrives meanwhile is kept for the first Poll.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.subscribe_timeout_ms);
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Error{ETIMEDOUT,
                   "no answer from the proc connector to PROC_CN_MCAST_LISTEN: the kernel ignores "
                   "listeners outside the initial user and PID namespaces (run with the host's "
                   "PID namespace), or lacks CONFIG_PROC_EVENTS"};
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return Error::FromErrno("poll the proc connector");
    if (ready <= 0) continue;
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ENOBUFS) {
        NoteOverflow();
        continue;
      }
      return Error::FromErrno("receive from the proc connector");
    }
    if (from.nl_pid != 0) continue;  // not from the kernel: ignore
    bool acked = false;
    uint32_t ack_error = 0;
    ForEachProcEvent(buffer_.data(), static_cast<size_t>(n),
                     [&](const cn_msg& msg, const proc_event& ev) {
                       if (ev.what == proc_event::PROC_EVENT_NONE && msg.ack == ack_nonce_ + 1) {
                         acked = true;
                         ack_error = ev.event_data.ack.err;
                       }
                     });
    backlog_.emplace_back(buffer_.begin(), buffer_.begin() + n);
    if (!acked) continue;
    if (ack_error != 0) {
      return Error{static_cast<int>(ack_error),
                   ack_error == EPERM
                       ? "the proc connector refused PROC_CN_MCAST_LISTEN (needs CAP_NET_ADMIN)"
                       : "the proc connector refused PROC_CN_MCAST_LISTEN"};
    }
    return Ok{};
  }
}

void NetlinkSource::NoteOverflow() {
  // The socket queue overflowed: at least one message is gone. The sequence gaps that follow
  // tell how many; the first of them is this one.
  ++stats_.loss_signals;
  ++stats_.events_lost;
  ++unclaimed_overflows_;
  start_by_pid_.clear();  // a lost fork or reap would make a remembered start time lie
}

void NetlinkSource::TrackSequence(uint32_t cpu, uint32_t seq) {
  if (cpu > 65535) return;  // not a CPU number: ignore rather than allocate
  if (cpu >= next_seq_.size()) {
    next_seq_.resize(cpu + 1, 0);
    seq_seen_.resize(cpu + 1, false);
  }
  if (!seq_seen_[cpu]) {
    seq_seen_[cpu] = true;
    next_seq_[cpu] = seq + 1;
    return;
  }
  const uint32_t gap = seq - next_seq_[cpu];
  if (gap == 0) {
    next_seq_[cpu] = seq + 1;
    return;
  }
  if (gap >= 0x80000000u) return;  // older than expected: not a loss
  if (unclaimed_overflows_ > 0) {
    --unclaimed_overflows_;
    stats_.events_lost += gap - 1;  // one was counted when the overflow was reported
  } else {
    ++stats_.loss_signals;
    stats_.events_lost += gap;
    start_by_pid_.clear();
  }
  next_seq_[cpu] = seq + 1;
}

void NetlinkSource::Lookup(int32_t pid, uint64_t event_boot_ns, Identity* out) {
  *out = Identity{};
  bool read = peek_->ReadStat(pid, &stat_);
  // A process that started after the event is not the one it is about (the PID was reaped
  // and reused in between). Start times are floored to ticks; a tick of slack absorbs the
  // clock conversion.
  if (read && event_boot_ns != 0 &&
      stat_.start_ticks * ns_per_tick_ > event_boot_ns + ns_per_tick_) {
    read = false;
  }
  auto known = start_by_pid_.find(pid);
  if (read && (known == start_by_pid_.end() || known->second == stat_.start_ticks)) {
    out->live = true;
    out->start_ticks = stat_.start_ticks;
    if (known == start_by_pid_.end()) start_by_pid_.emplace(pid, stat_.start_ticks);
  } else if (known != start_by_pid_.end()) {
    // Gone, or the PID already belongs to a newer process: keep what we knew.
    out->start_ticks = known->second;
  }
}

void NetlinkSource::Deliver(const EventSink& sink) {
  ++stats_.events_received;
  sink(event_);
}

void NetlinkSource::Handle(const proc_event& ev, const EventSink& sink) {
  const uint64_t timestamp_ns = ToBoottime(ev.timestamp_ns);
  Identity id;
  switch (ev.what) {
    case proc_event::PROC_EVENT_FORK: {
      const auto& fork = ev.event_data.fork;
      if (fork.child_pid != fork.child_tgid) return;  // a new thread, not a new process
      const int32_t pid = fork.child_tgid;
      // The PID's previous owner was reaped before it could be reused: end that record first.
      ReapNow(pid, sink);
      start_by_pid_.erase(pid);
      Lookup(pid, timestamp_ns, &id);
      Begin(EventAction::kFork, pid, fork.child_pid, id.start_ticks, timestamp_ns);
      event_.ppid = fork.parent_tgid;
      event_.parent_tid = fork.parent_pid;
      if (id.live && peek_->ReadStatus(pid, &status_) && status_.has_ns_pids) {
        const auto& ns = status_.ns_tgid.empty() ? status_.ns_pid : status_.ns_tgid;
        const size_t levels = std::min(ns.size(), kMaxPidnsLevels);
        std::copy_n(ns.begin(), levels, event_.ns_pids.begin());
        event_.pidns_level = static_cast<uint8_t>(ns.size() - 1);
        event_.pidns_known = peek_->ReadPidnsInode(pid, &event_.pidns_inode);
      }
      Deliver(sink);
      return;
    }
    case proc_event::PROC_EVENT_EXEC: {
      // After de_thread() the exec'ing thread holds the group's PID: pid == tgid here.
      const int32_t pid = ev.event_data.exec.process_tgid;
      dead_leaders_.erase(pid);  // the "exit" of the old leader was the exec replacing it
      Lookup(pid, timestamp_ns, &id);
      Begin(EventAction::kExec, pid, ev.event_data.exec.process_pid, id.start_ticks, timestamp_ns);
      if (id.live) {
        event_.ppid = stat_.ppid;
        event_.sid = stat_.session;
        event_.pgid = stat_.pgrp;
        CopyComm(stat_.comm, &event_.comm);
        peek_->ReadExe(pid, &event_.filename);
        if (peek_->ReadCmdline(pid, options_.max_args_bytes, &args_)) {
          event_.args.assign(args_.raw);
          event_.args_count = static_cast<uint32_t>(args_.count);
          event_.args_truncated = args_.truncated;
        }
        if (peek_->ReadStatus(pid, &status_) && status_.has_ids) {
          event_.creds_known = true;
          event_.uid = status_.uid;
          event_.gid = status_.gid;
          event_.cap_effective = status_.cap_effective;
          event_.cap_permitted = status_.cap_permitted;
        }
      }
      Deliver(sink);
      return;
    }
    case proc_event::PROC_EVENT_EXIT:
      HandleExit(ev, sink);
      return;
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID: {
      const auto& ids = ev.event_data.id;
      // Credentials are per thread; /proc/<pid>/status and ps show the leader's, and glibc's
      // set*id() changes every thread (the leader's own event stands for the process).
      if (ids.process_pid != ids.process_tgid) return;
      const int32_t pid = ids.process_tgid;
      Lookup(pid, timestamp_ns, &id);
      Begin(EventAction::kCredChange, pid, ids.process_pid, id.start_ticks, timestamp_ns);
      if (id.live) event_.ppid = stat_.ppid;
      // Only the real and effective IDs of one kind travel: creds_known stays false and the
      // model reads the rest from procfs. The values are still the kernel's word.
      if (ev.what == proc_event::PROC_EVENT_UID) {
        event_.uid[0] = ids.r.ruid;
        event_.uid[1] = ids.e.euid;
      } else {
        event_.gid[0] = ids.r.rgid;
        event_.gid[1] = ids.e.egid;
      }
      Deliver(sink);
      return;
    }
    case proc_event::PROC_EVENT_SID: {
      const int32_t pid = ev.event_data.sid.process_tgid;
      Lookup(pid, timestamp_ns, &id);
      Begin(EventAction::kSetsid, pid, ev.event_data.sid.process_pid, id.start_ticks, timestamp_ns);
      if (id.live) event_.ppid = stat_.ppid;
      event_.sid = pid;  // setsid() makes the caller's process the leader of both
      event_.pgid = pid;
      Deliver(sink);
      return;
    }
    case proc_event::PROC_EVENT_COMM: {
      const auto& comm = ev.event_data.comm;
      // A thread naming itself is not the process changing its name: only the leader's comm
      // is the process's (what stat and ps show).
      if (comm.process_pid != comm.process_tgid) return;
      const int32_t pid = comm.process_tgid;
      Lookup(pid, timestamp_ns, &id);
      Begin(EventAction::kComm, pid, comm.process_pid, id.start_ticks, timestamp_ns);
      if (id.live) event_.ppid = stat_.ppid;
      // prctl(PR_SET_NAME) and writes to /proc/<pid>/comm report; exec's own rename does not
      // (the kExec carries the new comm).
      CopyComm(std::string_view(comm.comm, strnlen(comm.comm, sizeof comm.comm)), &event_.comm);
      Deliver(sink);
      return;
    }
    default:
      // PROC_EVENT_NONE (acknowledgements), PTRACE, COREDUMP (the exit status says it): nothing.
      return;
  }
}

// cn_proc reports the exit of every thread (from do_exit, after exit_notify: the task is a
// zombie or already released). The process exits when its whole thread group is dead, which
// is not always when its leader exits:
//  - the leader may call pthread_exit() while other threads run on (the group lives; its
//    leader shows Z with Threads > 1);
//  - a non-leader thread calling execve() kills the leader, which reports an exit, and takes
//    over its PID (the group lives on; an EXEC follows).
// So a leader's exit is reported as kExit only when procfs confirms the group is dead (gone,
// or a zombie with no other thread). Otherwise the leader is remembered; the group's exit is
// reported at the exit of the thread that leaves it empty (with that thread's exit status,
// which is the group's for exit_group() and signals), or found by the periodic check, or
// cancelled by the EXEC of a thread that took over.
void NetlinkSource::HandleExit(const proc_event& ev, const EventSink& sink) {
  const auto& exit = ev.event_data.exit;
  const int32_t pid = exit.process_tgid;
  const uint64_t timestamp_ns = ToBoottime(ev.timestamp_ns);
  const int32_t ppid = exit.parent_tgid > 0 ? exit.parent_tgid : -1;
  Identity id;
  if (exit.process_pid != exit.process_tgid) {
    auto leader = dead_leaders_.find(pid);
    if (leader == dead_leaders_.end()) return;  // a thread of a live process
    Lookup(pid, timestamp_ns, &id);
    const bool gone = !id.live || stat_.start_ticks != leader->second.start_ticks;
    if (!gone && !IsZombieState(stat_.state, stat_.num_threads)) return;  // others still run
    const DeadLeader dead = leader->second;
    dead_leaders_.erase(leader);
    EmitExit(pid, exit.process_pid, dead.start_ticks, ppid > 0 ? ppid : dead.ppid, exit.exit_code,
             timestamp_ns, gone, sink);
    return;
  }
  Lookup(pid, timestamp_ns, &id);
  if (id.live && !IsZombieState(stat_.state, stat_.num_threads)) {
    dead_leaders_[pid] = DeadLeader{id.start_ticks, ppid, timestamp_ns};
    return;
  }
  EmitExit(pid, exit.process_pid, id.start_ticks, ppid, exit.exit_code, timestamp_ns,
           /*gone=*/!id.live, sink);
}

void NetlinkSource::EmitExit(int32_t pid, int32_t tid, uint64_t start_ticks, int32_t ppid,
                             std::optional<uint32_t> status, uint64_t timestamp_ns, bool gone,
                             const EventSink& sink) {
  dead_leaders_.erase(pid);  // one exit per process, whichever path found it first
  Begin(EventAction::kExit, pid, tid, start_ticks, timestamp_ns);
  event_.ppid = ppid;
  if (status) SetExitFromWaitStatus(*status, &event_);  // else exit_code -1, exit_signal 0: unknown
  Deliver(sink);
  if (gone) {
    // Already released (the parent waited at once, or ignores SIGCHLD): reaped too.
    event_.action = EventAction::kReap;
    event_.timestamp_ns = ToBoottime(static_cast<uint64_t>(ClockNs(CLOCK_MONOTONIC)));
    Deliver(sink);
    ForgetStart(pid, start_ticks);
    return;
  }
  zombies_.push_back(Zombie{pid, start_ticks, ppid});
}

void NetlinkSource::Begin(EventAction action, int32_t pid, int32_t tid, uint64_t start_ticks,
                          uint64_t timestamp_ns) {
  ResetEvent(&event_);
  event_.source = EventSource::kNetlink;
  event_.action = action;
  event_.timestamp_ns = timestamp_ns;
  event_.pid = pid;
  event_.tid = tid;
  event_.start_ticks = start_ticks;
}

void NetlinkSource::ForgetStart(int32_t pid, uint64_t start_ticks) {
  auto known = start_by_pid_.find(pid);
  if (known != start_by_pid_.end() && known->second == start_ticks) start_by_pid_.erase(known);
}

void NetlinkSource::EmitReap(const Zombie& zombie, const EventSink& sink) {
  Begin(EventAction::kReap, zombie.pid, zombie.pid, zombie.start_ticks,
        ToBoottime(static_cast<uint64_t>(ClockNs(CLOCK_MONOTONIC))));
  event_.ppid = zombie.ppid;
  Deliver(sink);
  ForgetStart(zombie.pid, zombie.start_ticks);
}

void NetlinkSource::ReapNow(int32_t pid, const EventSink& sink) {
  for (auto it = zombies_.begin(); it != zombies_.end();) {
    if (it->pid == pid) {
      const Zombie zombie = *it;
      it = zombies_.erase(it);
      EmitReap(zombie, sink);
    } else {
      ++it;
    }
  }
  auto leader = dead_leaders_.find(pid);
  if (leader != dead_leaders_.end()) {
    const DeadLeader dead = leader->second;
    dead_leaders_.erase(leader);
    EmitExit(pid, pid, dead.start_ticks, dead.ppid, std::nullopt, dead.timestamp_ns,
             /*gone=*/true, sink);
  }
}

void NetlinkSource::CheckZombies(const EventSink& sink) {
  next_reap_check_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.reap_check_interval_ms);
  // A reported zombie is reaped once its /proc entry is gone, or holds a process that is not
  // a zombie or started at another time (the PID was reused).
  for (size_t i = 0; i < zombies_.size();) {
    const Zombie zombie = zombies_[i];
    const bool present = peek_->ReadStat(zombie.pid, &stat_);
    const bool reaped = !present ||
                        (zombie.start_ticks != 0 && stat_.start_ticks != zombie.start_ticks) ||
                        (stat_.state != 'Z' && stat_.state != 'X');
    if (!reaped) {
      ++i;
      continue;
    }
    zombies_[i] = zombies_.back();
    zombies_.pop_back();
    EmitReap(zombie, sink);
  }
  // Leaders whose group may have died without us seeing its last thread's exit. The kernel
  // reports that exit just after procfs shows the group dead: only a group found dead by two
  // checks in a row (the socket drained in between) is ended here, with the leader's status.
  for (auto it = dead_leaders_.begin(); it != dead_leaders_.end();) {
    const int32_t pid = it->first;
    DeadLeader& dead = it->second;
    const bool present = peek_->ReadStat(pid, &stat_);
    const bool gone = !present || (dead.start_ticks != 0 && stat_.start_ticks != dead.start_ticks);
    if (!gone && !IsZombieState(stat_.state, stat_.num_threads)) {
      dead.found_dead = false;
      ++it;
      continue;
    }
    if (!dead.found_dead) {
      dead.found_dead = true;
      ++it;
      continue;
    }
    const DeadLeader ended = dead;
    it = dead_leaders_.erase(it);
    std::optional<uint32_t> status;
    if (!gone) status = static_cast<uint32_t>(stat_.exit_code);  // the leader's, best effort
    EmitExit(pid, pid, ended.start_ticks, ended.ppid, status,
             ToBoottime(static_cast<uint64_t>(ClockNs(CLOCK_MONOTONIC))), gone, sink);
  }
}

void NetlinkSource::HandleDatagram(const char* data, size_t size, const EventSink& sink) {
  ForEachProcEvent(data, size, [&](const cn_msg& msg, const proc_event& ev) {
    TrackSequence(ev.cpu, msg.seq);
    Handle(ev, sink);
  });
}

Result<size_t> NetlinkSource::Poll(int timeout_ms, const EventSink& sink) {
  if (!fd_) return Error{EINVAL, "netlink source: Poll before Start"};
  using Clock = std::chrono::steady_clock;
  boot_offset_ns_ = ClockNs(CLOCK_BOOTTIME) - ClockNs(CLOCK_MONOTONIC);
  const uint64_t before = stats_.events_received;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  auto finish = [&]() -> size_t { return static_cast<size_t>(stats_.events_received - before); };

  while (!backlog_.empty()) {
    HandleDatagram(backlog_.front().data(), backlog_.front().size(), sink);
    backlog_.pop_front();
  }
  while (true) {
    size_t handled = 0;
    for (; handled < options_.max_batch; ++handled) {
      sockaddr_nl from{};
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) return finish();
        if (errno == ENOBUFS) {
          NoteOverflow();
          continue;
        }
        Error error = Error::FromErrno("receive from the proc connector");
        finish();
        return error;
      }
      if (from.nl_pid != 0) continue;  // only the kernel speaks for the connector
      HandleDatagram(buffer_.data(), static_cast<size_t>(n), sink);
    }
    if ((!zombies_.empty() || !dead_leaders_.empty()) && Clock::now() >= next_reap_check_) {
      CheckZombies(sink);
    }
    if (stats_.events_received > before || handled == options_.max_batch) {
      return finish();
    }
    auto now = Clock::now();
    if (now >= deadline) return finish();
    auto wake = deadline;
    if (!zombies_.empty() || !dead_leaders_.empty()) wake = std::min(wake, next_reap_check_);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    pollfd pfd{fd_.get(), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(wait, 1)));
    if (ready < 0) {
      if (errno == EINTR) return finish();
      Error error = Error::FromErrno("poll the proc connector");
      finish();
      return error;
    }
  }
}

}  // namespace pidscope
