// Monitor: keeps the ProcessTable exact. It owns a Source and does the I/O the model must not:
// the bootstrap without a gap (attach first, buffer, scan procfs, replay), refreshes of records
// built from events alone, resyncs after loss and the periodic cheap reconciliation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/process_table.hpp"
#include "pidscope/result.hpp"
#include "procfs/reader.hpp"
#include "source/source.hpp"

namespace pidscope {

struct MonitorOptions {
  std::string proc_root = "/proc";
  procfs::ReadOptions read;
  std::chrono::milliseconds reconcile_interval{30'000};
  bool source_started = false;  // the caller already started the source (auto selection does)
};

struct MonitorStats {
  uint64_t resyncs = 0;             // full rescans after loss
  uint64_t reconciliations = 0;     // periodic cheap reconciliations
  uint64_t refreshes = 0;           // records completed from procfs
  uint64_t bootstrap_replayed = 0;  // events buffered during the bootstrap scan
  bool bootstrapped = false;
};

// Called for every event once the model has applied it (for reap: just before the record is
// removed, so the observer still sees the process). Derived events (reparent) follow the event
// that caused them.
using EventObserver = std::function<void(const Event&, const ProcessTable&)>;
using LogFn = std::function<void(const std::string& message)>;

class Monitor {
 public:
  Monitor(std::unique_ptr<Source> source, MonitorOptions options, LogFn log);

  // Attaches the source, scans procfs and replays what happened meanwhile.
  Status Start();
  // Waits up to timeout_ms for events, applies them, and does whatever maintenance is due.
  Status RunOnce(int timeout_ms);
  // Drains what the source still holds, then detaches it.
  void Stop();

  void SetObserver(EventObserver observer) { observer_ = std::move(observer); }
  const ProcessTable& table() const { return table_; }
  const MonitorStats& stats() const { return stats_; }
  const Source& source() const { return *source_; }
  void set_reconcile_interval(std::chrono::milliseconds interval) {
    options_.reconcile_interval = interval;
  }

  // Full rescan and reconcile now (also what loss triggers).
  Status Resync(const char* reason);
  // Cheap reconciliation now: list /proc, drop ghosts, add the missing.
  Status Reconcile();

 private:
  void Handle(const Event& event);
  void RefreshRequested();
  void CheckLoss();

  std::unique_ptr<Source> source_;
  MonitorOptions options_;
  LogFn log_;
  ProcessTable table_;
  std::optional<procfs::ProcReader> reader_;
  EventObserver observer_;
  MonitorStats stats_;
  std::vector<Event> derived_;  // reused for every event
  uint64_t seen_lost_ = 0;
  uint64_t seen_loss_signals_ = 0;
  std::chrono::steady_clock::time_point next_reconcile_;
};

}  // namespace pidscope
