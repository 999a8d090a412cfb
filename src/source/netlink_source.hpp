// The proc connector source: process events from the kernel over NETLINK_CONNECTOR
// (CN_IDX_PROC), for kernels or environments where BPF is unavailable.
//
// What the kernel sends is thin, so this source completes it from procfs at once (racy by
// nature: a process may be gone before it is read, its fields are then left unknown):
//   FORK  (child is a new thread group) -> kFork; start time and namespace PIDs from procfs.
//   EXEC  -> kExec; filename from /proc/<pid>/exe (the resolved binary: a script shows its
//            interpreter), args from cmdline, comm and credentials from stat and status.
//   EXIT  -> kExit when the whole thread group is dead (see HandleExit in the .cpp), with
//            exit_code/exit_signal decoded from the kernel's wait status.
//   UID/GID -> kCredChange with ruid/euid or rgid/egid only (creds_known = false).
//   SID   -> kSetsid.  COMM (of the group leader) -> kComm.
//   (none) -> kReap, synthesised: a reported zombie whose /proc entry vanished (or whose PID
//            now belongs to a process with another start time) was reaped.
// The connector has no setpgid, reparent, subreaper or reap event, no argv, no filename and no
// namespace information; it reports host PIDs only (the initial PID and user namespaces:
// pidscope must run with the host's PID namespace) and drops events when its socket overflows.
// Loss is counted from the per-CPU sequence numbers of the messages and from ENOBUFS.
// Subscribing needs CAP_NET_ADMIN on kernels before 6.6 (later ones let anyone listen).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pidscope/result.hpp"
#include "pidscope/unique_fd.hpp"
#include "procfs/parse.hpp"
#include "source/event.hpp"
#include "source/procfs_source.hpp"
#include "source/source.hpp"

struct proc_event;  // <linux/cn_proc.h>

namespace pidscope {

struct NetlinkSourceOptions {
  std::string proc_root = "/proc";
  int receive_buffer_bytes = 32 << 20;  // forced with SO_RCVBUFFORCE when privileged
  int reap_check_interval_ms = 100;     // how often reported zombies are checked for their reap
  int subscribe_timeout_ms = 2000;      // wait for the kernel's answer to the subscription
  size_t max_args_bytes = 32 * 1024;    // argv kept in kExec events
  size_t max_batch = 4096;              // messages handled per Poll at most
};

class NetlinkSource : public Source {
 public:
  NetlinkSource() : NetlinkSource(NetlinkSourceOptions{}) {}
  explicit NetlinkSource(NetlinkSourceOptions options);
  ~NetlinkSource() override;
  NetlinkSource(const NetlinkSource&) = delete;
  NetlinkSource& operator=(const NetlinkSource&) = delete;

  const char* name() const override { return "netlink"; }
  // Opens the socket, subscribes (PROC_CN_MCAST_LISTEN) and waits for the kernel's
  // acknowledgement. Fails with a clear error without CAP_NET_ADMIN (older kernels), outside
  // the initial user/PID namespace (the kernel then ignores the subscription) or without
  // CONFIG_PROC_EVENTS.
  Status Start() override;
  Result<size_t> Poll(int timeout_ms, const EventSink& sink) override;
  SourceStats Stats() const override { return stats_; }
  // Unsubscribes (PROC_CN_MCAST_IGNORE, so the kernel stops producing events for us) and
  // closes the socket.
  void Stop() override;

  // Zombies reported (kExit) whose reap is still awaited: for tests and metrics.
  size_t pending_zombies() const { return zombies_.size(); }

 private:
  struct Identity;  // what procfs says about a PID right now (see .cpp)
  struct Zombie {
    int32_t pid = 0;
    uint64_t start_ticks = 0;
    int32_t ppid = -1;
  };
  struct DeadLeader {  // a leader that exited while other threads of its group live
    uint64_t start_ticks = 0;
    int32_t ppid = -1;
    uint64_t timestamp_ns = 0;
    bool found_dead = false;  // the periodic check saw the group dead once already
  };
  Status Subscribe(int op, bool wait_for_ack);
  void HandleDatagram(const char* data, size_t size, const EventSink& sink);
  // Turns one connector message into events for the sink.
  void Handle(const proc_event& ev, const EventSink& sink);
  void HandleExit(const proc_event& ev, const EventSink& sink);
  // Emits kExit for a dead group (status std::nullopt: unknown), then kReap at once when it is
  // already gone, or remembers the zombie.
  void EmitExit(int32_t pid, int32_t tid, uint64_t start_ticks, int32_t ppid,
                std::optional<uint32_t> status, uint64_t timestamp_ns, bool gone,
                const EventSink& sink);
  void EmitReap(const Zombie& zombie, const EventSink& sink);
  // Clears event_ for reuse and fills what every event carries.
  void Begin(EventAction action, int32_t pid, int32_t tid, uint64_t start_ticks,
             uint64_t timestamp_ns);
  // Drops the remembered start time of `pid` if it is still this process's.
  void ForgetStart(int32_t pid, uint64_t start_ticks);
  // Ends the records still open under `pid` (its PID is being reused).
  void ReapNow(int32_t pid, const EventSink& sink);
  void CheckZombies(const EventSink& sink);
  void NoteOverflow();
  void TrackSequence(uint32_t cpu, uint32_t seq);
  // Reads /proc/<pid>/stat into stat_ and reconciles it with the start time remembered for
  // `pid` and the time of the event (CLOCK_BOOTTIME ns, 0 unknown).
  void Lookup(int32_t pid, uint64_t event_boot_ns, Identity* out);
  void Deliver(const EventSink& sink);
  uint64_t ToBoottime(uint64_t monotonic_ns) const;

  NetlinkSourceOptions options_;
  uint64_t ns_per_tick_;  // for comparing start ticks with event times
  UniqueFd fd_;
  std::optional<ProcPeek> peek_;
  bool subscribed_ = false;
  uint32_t seq_ = 0;
  uint32_t ack_nonce_ = 0;
  SourceStats stats_;
  int64_t boot_offset_ns_ = 0;  // CLOCK_BOOTTIME - CLOCK_MONOTONIC (the connector's clock)

  // Messages that arrived while Start() waited for the acknowledgement.
  std::deque<std::vector<char>> backlog_;
  // The start time of each process this source has seen, by PID (a PID's start time tells
  // whether a later procfs read is about the same process).
  std::unordered_map<int32_t, uint64_t> start_by_pid_;
  std::unordered_map<int32_t, DeadLeader> dead_leaders_;
  std::vector<Zombie> zombies_;
  std::chrono::steady_clock::time_point next_reap_check_{};
  // Per-CPU sequence numbers: a gap is a loss.
  std::vector<uint32_t> next_seq_;
  std::vector<bool> seq_seen_;
  uint64_t unclaimed_overflows_ = 0;  // ENOBUFS reports whose sequence gap is not yet seen

  // Reused per message: no allocation on the hot path once warm.
  std::vector<char> buffer_;
  procfs::StatFields stat_;
  procfs::StatusFields status_;
  procfs::Args args_;
  Event event_;
};

}  // namespace pidscope
