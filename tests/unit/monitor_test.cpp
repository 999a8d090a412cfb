// The Monitor's bootstrap without a gap, on a fake /proc and a scripted source: events captured
// while the scan runs are replayed over it without losing or duplicating anything.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/monitor.hpp"

namespace pidscope {
namespace {

namespace fs = std::filesystem;

// A directory laid out like /proc with just enough of each process for ProcReader.
class FakeProcRoot {
 public:
  FakeProcRoot() {
    char tmpl[] = "/tmp/pidscope-fakeproc.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~FakeProcRoot() { fs::remove_all(root_); }

  void Add(int32_t pid, int32_t ppid, uint64_t start_ticks, const std::string& comm) {
    fs::path dir = fs::path(root_) / std::to_string(pid);
    fs::create_directories(dir);
    std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << ppid << " " << pid << " " << pid
                                << " 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 " << start_ticks
                                << " 0 0\n";
    std::ofstream(dir / "status") << "Name:\t" << comm << "\nTgid:\t" << pid << "\nPid:\t" << pid
                                  << "\nPPid:\t" << ppid << "\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
                                  << "NSpid:\t" << pid << "\nThreads:\t1\n";
    std::ofstream(dir / "cmdline") << comm << '\0';
    std::ofstream(dir / "cgroup") << "0::/\n";
  }
  void Remove(int32_t pid) { fs::remove_all(fs::path(root_) / std::to_string(pid)); }
  const std::string& path() const { return root_; }

 private:
  std::string root_;
};

// Delivers scripted events: `before_scan` on the first Poll (what the kernel buffered while the
// scan had not started), `during_scan` on the second (what happened while it ran).
class ScriptedSource : public Source {
 public:
  std::vector<Event> before_scan;
  std::vector<Event> during_scan;
  std::vector<Event> later;

  const char* name() const override { return "scripted"; }
  Status Start() override { return Ok{}; }
  Result<size_t> Poll(int, const EventSink& sink) override {
    std::vector<Event>* batch = polls_ == 0 ? &before_scan : polls_ == 1 ? &during_scan : &later;
    ++polls_;
    for (const Event& e : *batch) sink(e);
    size_t n = batch->size();
    batch->clear();
    return n;
  }
  SourceStats Stats() const override { return stats; }
  void Stop() override {}
  SourceStats stats;

 private:
  int polls_ = 0;
};

Event MakeEvent(EventAction action, int32_t pid, uint64_t start, int32_t ppid = -1) {
  Event e;
  e.action = action;
  e.pid = e.tid = pid;
  e.start_ticks = start;
  e.ppid = ppid;
  e.parent_tid = ppid;
  return e;
}

TEST(Monitor, BootstrapReplaysWhatHappenedDuringTheScan) {
  FakeProcRoot proc;
  proc.Add(1, 0, 1, "init");
  proc.Add(10, 1, 5, "shell");
  proc.Add(11, 10, 6, "sleeper");  // in the scan and forked after attach: a duplicate fork
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource* script = source.get();
  script->before_scan.push_back(MakeEvent(EventAction::kFork, 11, 6, 10));
  // Born and gone before the scan: must not be left behind as a ghost.
  script->before_scan.push_back(MakeEvent(EventAction::kFork, 12, 7, 10));
  script->before_scan.push_back(MakeEvent(EventAction::kExit, 12, 7, 10));
  script->before_scan.push_back(MakeEvent(EventAction::kReap, 12, 7, 10));
  // Born during the scan, after its PID slot was listed: must be added.
  script->during_scan.push_back(MakeEvent(EventAction::kFork, 13, 8, 10));

  std::vector<std::string> seen;
  Monitor monitor(std::move(source), MonitorOptions{proc.path(), {}, std::chrono::hours(1)},
                  [](const std::string&) {});
  monitor.SetObserver([&](const Event& e, const ProcessTable&) {
    seen.push_back(std::string(ActionName(e.action)) + ":" + std::to_string(e.pid));
  });
  ASSERT_TRUE(monitor.Start());
  const ProcessTable& table = monitor.table();
  EXPECT_NE(table.Find(ProcessKey{1, 1}), nullptr);
  EXPECT_NE(table.Find(ProcessKey{10, 5}), nullptr);
  EXPECT_NE(table.Find(ProcessKey{11, 6}), nullptr);
  EXPECT_EQ(table.Find(12), nullptr);
  ASSERT_NE(table.Find(ProcessKey{13, 8}), nullptr);
  EXPECT_EQ(table.Find(13)->ppid, 10);
  EXPECT_EQ(table.Find(13)->comm, "shell");  // a fork copies its parent until it execs
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.stats().duplicates, 1u);
  EXPECT_EQ(monitor.stats().bootstrap_replayed, 5u);
  EXPECT_EQ(seen.size(), 5u);
}

TEST(Monitor, LossTriggersAResyncThatRemovesGhostsAndAddsTheMissing) {
  FakeProcRoot proc;
  proc.Add(1, 0, 1, "init");
  proc.Add(10, 1, 5, "shell");
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource* script = source.get();
  Monitor monitor(std::move(source), MonitorOptions{proc.path(), {}, std::chrono::hours(1)},
                  [](const std::string&) {});
  ASSERT_TRUE(monitor.Start());
  // The kernel dropped the events of 10's death and 20's birth.
  proc.Remove(10);
  proc.Add(20, 1, 9, "daemon");
  script->stats.events_lost = 2;
  script->stats.loss_signals = 1;
  ASSERT_TRUE(monitor.RunOnce(0));
  EXPECT_EQ(monitor.stats().resyncs, 1u);
  EXPECT_EQ(monitor.table().Find(10), nullptr);
  EXPECT_NE(monitor.table().Find(ProcessKey{20, 9}), nullptr);
  EXPECT_EQ(monitor.table().stats().ghosts_removed, 1u);
  EXPECT_EQ(monitor.table().stats().missing_added, 1u);
}

TEST(Monitor, PeriodicReconciliationHealsWithoutLossSignals) {
  FakeProcRoot proc;
  proc.Add(1, 0, 1, "init");
  proc.Add(10, 1, 5, "shell");
  Monitor monitor(std::make_unique<ScriptedSource>(),
                  MonitorOptions{proc.path(), {}, std::chrono::milliseconds(0)},
                  [](const std::string&) {});
  ASSERT_TRUE(monitor.Start());
  proc.Remove(10);
  proc.Add(30, 1, 11, "late");
  ASSERT_TRUE(monitor.RunOnce(0));
  EXPECT_GE(monitor.stats().reconciliations, 1u);
  EXPECT_EQ(monitor.table().Find(10), nullptr);
  EXPECT_NE(monitor.table().Find(ProcessKey{30, 11}), nullptr);
}

}  // namespace
}  // namespace pidscope
