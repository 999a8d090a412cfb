#include "runtime/monitor.hpp"

#include <algorithm>

namespace pidscope {

Monitor::Monitor(std::unique_ptr<Source> source, MonitorOptions options, LogFn log)
    : source_(std::move(source)), options_(std::move(options)), log_(std::move(log)) {}

Status Monitor::Start() {
  auto reader = procfs::ProcReader::Open(options_.proc_root, options_.read);
  if (!reader) return reader.error();
  reader_.emplace(std::move(*reader));

  // Attach first: from here the kernel buffers every event, so nothing born or dead during the
  // scan is lost. Then scan, then replay the buffer over the snapshot; applying is idempotent
  // for what the scan already saw (duplicate forks are skipped, exits and reaps carry keys).
  if (!options_.source_started) {
    if (auto started = source_->Start(); !started) return started.error();
  }
  std::vector<Event> buffered;
  auto buffer = [&](const Event& e) { buffered.push_back(e); };
  if (auto polled = source_->Poll(0, buffer); !polled) return polled.error();

  auto scanned = procfs::ReadAllProcesses(options_.proc_root, options_.read);
  if (!scanned) return scanned.error();
  if (auto polled = source_->Poll(0, buffer); !polled) return polled.error();

  source_->AnnotateSnapshot(&*scanned);
  table_.Bootstrap(std::move(*scanned));
  stats_.bootstrap_replayed = buffered.size();
  for (const Event& e : buffered) Handle(e);
  RefreshRequested();
  stats_.bootstrapped = true;
  next_reconcile_ = std::chrono::steady_clock::now() + options_.reconcile_interval;
  SourceStats s = source_->Stats();
  seen_lost_ = s.events_lost;
  seen_loss_signals_ = s.loss_signals;
  log_("bootstrapped source=" + std::string(source_->name()) +
       " processes=" + std::to_string(table_.size()) +
       " replayed_events=" + std::to_string(stats_.bootstrap_replayed));
  return Ok{};
}

void Monitor::Handle(const Event& event) {
  if (event.action == EventAction::kReap && observer_) observer_(event, table_);
  derived_.clear();
  table_.Apply(event, &derived_);
  if (event.action != EventAction::kReap && observer_) observer_(event, table_);
  if (observer_) {
    for (Event& d : derived_) {
      d.timestamp_ns = event.timestamp_ns;
      observer_(d, table_);
    }
  }
}

Status Monitor::RunOnce(int timeout_ms) {
  auto polled = source_->Poll(timeout_ms, [this](const Event& e) { Handle(e); });
  if (!polled) return polled.error();
  RefreshRequested();
  CheckLoss();
  if (std::chrono::steady_clock::now() >= next_reconcile_) {
    if (auto r = Reconcile(); !r) log_("reconciliation failed: " + r.error().Message());
  }
  return Ok{};
}

void Monitor::RefreshRequested() {
  for (const ProcessKey& key : table_.TakeExecutableRequests()) {
    // One readlink: the file the kernel runs, not the path given to execve.
    if (auto exe = reader_->ReadExecutable(key.pid)) {
      table_.SetExecutable(key, exe->first, exe->second);
    }
  }
  for (int32_t pid : table_.TakeRefreshRequests()) {
    const Process* known = table_.Find(pid);
    if (known == nullptr) continue;
    auto fresh = reader_->Read(pid);
    // Gone already, or the PID names another process now: the events will tell.
    if (!fresh || fresh->key.start_ticks != known->key.start_ticks) continue;
    table_.Upsert(std::move(*fresh));
    ++stats_.refreshes;
  }
}

void Monitor::CheckLoss() {
  SourceStats s = source_->Stats();
  if (s.events_lost == seen_lost_ && s.loss_signals == seen_loss_signals_) return;
  uint64_t lost = s.events_lost - seen_lost_;
  seen_lost_ = s.events_lost;
  seen_loss_signals_ = s.loss_signals;
  log_("events lost=" + std::to_string(lost) + ": resyncing from procfs");
  if (auto r = Resync("events lost"); !r) log_("resync failed: " + r.error().Message());
}

Status Monitor::Resync(const char* reason) {
  // Apply what is still queued first, so the scan is compared with the freshest model.
  if (auto polled = source_->Poll(0, [this](const Event& e) { Handle(e); }); !polled) {
    return polled.error();
  }
  auto scanned = procfs::ReadAllProcesses(options_.proc_root, options_.read);
  if (!scanned) return scanned.error();
  uint64_t ghosts = table_.stats().ghosts_removed;
  uint64_t missing = table_.stats().missing_added;
  table_.Reconcile(std::move(*scanned));
  ++stats_.resyncs;
  log_(std::string("resync reason=\"") + reason +
       "\" ghosts_removed=" + std::to_string(table_.stats().ghosts_removed - ghosts) +
       " missing_added=" + std::to_string(table_.stats().missing_added - missing));
  return Ok{};
}

Status Monitor::Reconcile() {
  next_reconcile_ = std::chrono::steady_clock::now() + options_.reconcile_interval;
  if (auto polled = source_->Poll(0, [this](const Event& e) { Handle(e); }); !polled) {
    return polled.error();
  }
  auto pids = reader_->ListPids();
  if (!pids) return pids.error();
  uint64_t ghosts = table_.stats().ghosts_removed;
  std::vector<int32_t> missing = table_.RemoveGhosts(*pids);
  size_t added = 0;
  for (int32_t pid : missing) {
    if (auto p = reader_->Read(pid)) {
      table_.AddMissing(std::move(*p));
      ++added;
    }
  }
  ++stats_.reconciliations;
  uint64_t removed = table_.stats().ghosts_removed - ghosts;
  if (removed > 0 || added > 0) {
    log_("reconciliation ghosts_removed=" + std::to_string(removed) +
         " missing_added=" + std::to_string(added));
  }
  return Ok{};
}

void Monitor::Stop() {
  (void)source_->Poll(0, [this](const Event& e) { Handle(e); });
  source_->Stop();
}

}  // namespace pidscope
