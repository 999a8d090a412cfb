// ProcessTable: the model of every process on the host. Single writer, no I/O.
//
// A PID names at most one process at a time (the kernel reuses a PID only after the old process
// was reaped), so records are stored per PID and the (pid, start time) key tells a reused PID
// from the process that held it before: lookups by key never return the wrong process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "model/process.hpp"

namespace pidscope {

class ProcessTable {
 public:
  // Replaces the whole content with a snapshot.
  void Bootstrap(std::vector<Process> processes);

  // Inserts `process`, replacing any record with the same PID (same key: an update; other start
  // time: the PID was reused and the old record is dropped).
  void Upsert(Process process);
  // Removes the process with exactly this key; false if absent or the PID now names another.
  bool Remove(const ProcessKey& key);

  const Process* Find(int32_t pid) const;
  const Process* Find(const ProcessKey& key) const;
  // PIDs whose parent is `pid`, ascending.
  std::vector<int32_t> Children(int32_t pid) const;

  size_t size() const { return by_pid_.size(); }

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [pid, process] : by_pid_) fn(process);
  }
  // Every process, sorted by PID: for stable output.
  std::vector<const Process*> SortedByPid() const;

 private:
  void LinkChild(const Process& process);
  void UnlinkChild(const Process& process);

  std::unordered_map<int32_t, Process> by_pid_;
  std::unordered_map<int32_t, std::vector<int32_t>> children_;
};

}  // namespace pidscope
