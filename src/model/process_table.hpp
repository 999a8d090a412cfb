// ProcessTable: the model of every process on the host. Single writer, no I/O.
//
// A PID names at most one process at a time (the kernel reuses a PID only after the old process
// was reaped), so records are stored per PID and the (pid, start time) key tells a reused PID
// from the process that held it before: lookups by key never return the wrong process.
//
// Events are applied in the order the kernel produced them. Applying is idempotent where a
// bootstrap needs it (a fork of a process the snapshot already holds is a duplicate), and the
// model derives what the kernel does not report: reparenting when a parent dies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/process.hpp"
#include "source/event.hpp"
#include "util/intern_pool.hpp"

namespace pidscope {

struct ModelStats {
  uint64_t events_applied = 0;
  uint64_t duplicates = 0;          // forks of processes already known (bootstrap overlap)
  uint64_t unknown_process = 0;     // events about a process the model does not hold
  uint64_t pid_reuse = 0;           // a fork replaced a stale record with the same PID
  uint64_t reparents = 0;           // reparent events derived
  uint64_t parent_corrections = 0;  // the kernel's parent differed from the model's: fixed
  uint64_t ghosts_removed = 0;      // records gone from /proc removed by reconciliation
  uint64_t missing_added = 0;       // processes found in /proc that the model lacked
};

// Counts for one group of processes (all, a PID namespace, a container, a pod), kept up to
// date as records are indexed, so reading them costs O(groups), not O(processes).
struct GroupStats {
  int64_t processes = 0;
  int64_t zombies = 0;
  std::array<int64_t, 6> orphans_by_kind{};  // indexed by ReaperKind (kNone unused)
  int64_t subreapers = 0;
  // Exit times (CLOCK_BOOTTIME ns, 0 unknown) of the zombies: the oldest gives the age alert.
  // A vector, not a set: zombies are few, and its capacity is reused without allocating.
  std::vector<uint64_t> zombie_exits;
  std::shared_ptr<const ContainerIdentity> identity;  // containers and pods: keeps keys alive
  uint64_t pidns_inode = 0;

  int64_t orphans() const;
  // Age of the oldest zombie whose exit time is known, 0 if none.
  uint64_t OldestZombieAgeNs(uint64_t now_boot_ns) const;
};

class ProcessTable {
 public:
  // Replaces the whole content with a snapshot.
  void Bootstrap(std::vector<Process> processes);

  // Inserts `process`, replacing any record with the same PID (same key: an update; other start
  // time: the PID was reused and the old record is dropped).
  void Upsert(Process process);
  // Removes the process with exactly this key; false if absent or the PID now names another.
  bool Remove(const ProcessKey& key);

  // Applies one event. Events the model derives from it (reparent) are appended to `derived`
  // (may be null).
  void Apply(const Event& event, std::vector<Event>* derived);

  // Makes the model equal to a fresh procfs scan: records absent from it are ghosts (removed,
  // counted), processes the model lacked are added (counted), records with the same key are
  // refreshed while what only events can know (orphan state, sub-reaper, exit) is kept.
  void Reconcile(std::vector<Process> scanned);
  // The cheap form: `listed` are the PIDs in /proc now (sorted). Records whose PID is not
  // listed are removed as ghosts; listed PIDs the model lacks are returned for the caller to
  // read and Upsert (AddMissing counts them).
  std::vector<int32_t> RemoveGhosts(const std::vector<int32_t>& listed);
  void AddMissing(Process process);

  const Process* Find(int32_t pid) const;
  const Process* Find(const ProcessKey& key) const;
  // PIDs whose parent is `pid`, ascending.
  std::vector<int32_t> Children(int32_t pid) const;
  // The init (PID 1) of the PID namespace with this inode, or null.
  const Process* NamespaceInit(uint64_t pidns_inode) const;

  size_t size() const { return by_pid_.size(); }
  size_t zombie_count() const { return static_cast<size_t>(totals_.zombies); }
  size_t orphan_count() const { return static_cast<size_t>(totals_.orphans()); }
  size_t subreaper_count() const { return static_cast<size_t>(totals_.subreapers); }
  const ModelStats& stats() const { return stats_; }

  // Aggregates: every process, per PID namespace (inode), per container (id), per pod (UID).
  const GroupStats& totals() const { return totals_; }
  const std::unordered_map<uint64_t, GroupStats>& by_pidns() const { return by_pidns_; }
  const std::unordered_map<std::string_view, GroupStats>& by_container() const {
    return by_container_;
  }
  const std::unordered_map<std::string_view, GroupStats>& by_pod() const { return by_pod_; }

  // PIDs of records built from events alone (needs_refresh): the caller may read them from
  // procfs and Upsert. Cleared by the call.
  std::vector<int32_t> TakeRefreshRequests();
  // Processes that exec'd: the kernel gives the path as passed to execve (relative, or a
  // symlink), procfs gives the file it runs. Cleared by the call.
  std::vector<ProcessKey> TakeExecutableRequests();
  // Sets the executable of exactly this process (no-op if the PID now names another).
  void SetExecutable(const ProcessKey& key, std::string_view path, bool deleted);

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [pid, process] : by_pid_) fn(process);
  }
  // Every process, sorted by PID: for stable output.
  std::vector<const Process*> SortedByPid() const;

 private:
  using Map = std::unordered_map<int32_t, Process>;

  Process* FindMutable(int32_t pid);
  // The record an event is about, or null (unknown, or the PID now names another process).
  Process* Target(const Event& event);
  void Index(const Process& process);
  void Unindex(const Process& process);
  void SetParent(Process* process, int32_t ppid);
  void ApplyFork(const Event& event);
  void ApplyExec(const Event& event, Process* process);
  void ApplyExit(const Event& event, Process* process, std::vector<Event>* derived);
  void ApplyThreadExit(const Event& event, Process* process, std::vector<Event>* derived);
  void RemoveRecord(Map::iterator it);
  // The kernel's choice of a new parent for the children of `father` whose group died.
  std::pair<const Process*, ReaperKind> FindNewReaper(const Process& father) const;
  void Reparent(Process* child, int32_t new_ppid, ReaperKind kind, std::vector<Event>* derived);

  Map by_pid_;
  // Parent PID -> child PIDs. Emptied vectors are kept: a busy parent forks again soon, and
  // reusing the vector avoids an allocation per fork.
  std::unordered_map<int32_t, std::vector<int32_t>> children_;
  std::unordered_map<uint64_t, int32_t> pidns_init_;  // pidns inode -> host PID of its init
  std::vector<Map::node_type> spare_nodes_;           // recycled records: no allocation per fork
  std::vector<int32_t> refresh_requests_;
  std::vector<ProcessKey> executable_requests_;
  InternPool<std::string> paths_;
  void Count(const Process& p, int sign);

  GroupStats totals_;
  std::unordered_map<uint64_t, GroupStats> by_pidns_;
  std::unordered_map<std::string_view, GroupStats> by_container_;  // keys view identity->id
  std::unordered_map<std::string_view, GroupStats> by_pod_;        // keys view identity->pod_uid
  ModelStats stats_;
};

}  // namespace pidscope
