// The live model's rules, on synthetic events: what the kernel would do, checked without a kernel.
// (The integration tests check the same rules against the real kernel.)
#include <gtest/gtest.h>

#include <cstring>
#include <tuple>

#include "model/process_table.hpp"

namespace pidscope {
namespace {

Process MakeProcess(int32_t pid, int32_t ppid, uint64_t start, std::vector<int32_t> ns_pid = {},
                    uint64_t pidns = 4026531836) {
  Process p;
  p.key = {pid, start};
  p.ppid = ppid;
  p.pgid = pid;
  p.sid = pid;
  p.state = 'S';
  p.threads = 1;
  p.comm = "proc" + std::to_string(pid);
  p.ns_pid = ns_pid.empty() ? std::vector<int32_t>{pid} : ns_pid;
  p.ns_inode[static_cast<size_t>(NsType::kPid)] = pidns;
  p.subreaper = Tristate::kNo;
  return p;
}

Event Fork(int32_t pid, int32_t ppid, uint64_t start) {
  Event e;
  e.action = EventAction::kFork;
  e.pid = e.tid = pid;
  e.ppid = ppid;
  e.parent_tid = ppid;
  e.start_ticks = start;
  return e;
}

Event About(EventAction action, int32_t pid, uint64_t start) {
  Event e;
  e.action = action;
  e.pid = e.tid = pid;
  e.start_ticks = start;
  return e;
}

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Process> boot;
    boot.push_back(MakeProcess(1, 0, 1));
    boot.push_back(MakeProcess(100, 1, 50));  // a shell
    table.Bootstrap(std::move(boot));
  }
  void Apply(const Event& e) { table.Apply(e, &derived); }

  ProcessTable table;
  std::vector<Event> derived;
};

TEST_F(ModelTest, ForkCopiesTheParent) {
  Apply(Fork(200, 100, 60));
  const Process* child = table.Find(ProcessKey{200, 60});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->ppid, 100);
  EXPECT_EQ(child->comm, "proc100");
  EXPECT_EQ(child->pgid, 100);
  EXPECT_EQ(child->sid, 100);
  EXPECT_EQ(child->subreaper, Tristate::kNo);
  EXPECT_EQ(table.Children(100), std::vector<int32_t>{200});
}

TEST_F(ModelTest, ForkOfAKnownProcessIsADuplicate) {
  Apply(Fork(100, 1, 50));
  EXPECT_EQ(table.stats().duplicates, 1u);
  EXPECT_EQ(table.size(), 2u);
}

TEST_F(ModelTest, ReusedPidIsANewProcess) {
  Apply(Fork(200, 100, 60));
  Apply(Fork(200, 1, 70));  // the reap of the first holder was missed
  EXPECT_EQ(table.Find(ProcessKey{200, 60}), nullptr);
  ASSERT_NE(table.Find(ProcessKey{200, 70}), nullptr);
  EXPECT_EQ(table.stats().pid_reuse, 1u);
  EXPECT_TRUE(table.Children(100).empty());
  // Events for the old holder do not touch the new one.
  Apply(About(EventAction::kReap, 200, 60));
  EXPECT_NE(table.Find(ProcessKey{200, 70}), nullptr);
}

TEST_F(ModelTest, ExecUpdatesProgramEveryTime) {
  Apply(Fork(200, 100, 60));
  for (const char* program : {"/bin/a", "/bin/b", "/bin/c"}) {
    Event e = About(EventAction::kExec, 200, 60);
    e.filename = program;
    e.args = std::string(program) + std::string("\0x", 2);
    e.args_count = 2;
    Apply(e);
  }
  const Process* p = table.Find(200);
  EXPECT_EQ(*p->executable, "/bin/c");
  EXPECT_EQ(p->exec_count, 3u);
  EXPECT_EQ(p->args_count, 2u);
  EXPECT_EQ(p->key.pid, 200);
}

TEST_F(ModelTest, ExitMakesAZombieAndReapEndsIt) {
  Apply(Fork(200, 100, 60));
  Event exit = About(EventAction::kExit, 200, 60);
  exit.exit_code = 7;
  exit.timestamp_ns = 123;
  Apply(exit);
  const Process* z = table.Find(200);
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(z->is_zombie());
  EXPECT_EQ(z->exit_code, 7);
  EXPECT_EQ(table.zombie_count(), 1u);
  Apply(About(EventAction::kReap, 200, 60));
  EXPECT_EQ(table.Find(200), nullptr);
  EXPECT_EQ(table.zombie_count(), 0u);
}

TEST_F(ModelTest, OrphanGoesToHostInit) {
  Apply(Fork(200, 100, 60));
  Apply(Fork(300, 200, 61));
  Apply(About(EventAction::kExit, 200, 60));
  const Process* orphan = table.Find(300);
  EXPECT_EQ(orphan->ppid, 1);
  EXPECT_EQ(orphan->reaper_kind, ReaperKind::kInit);
  EXPECT_EQ(orphan->original_ppid, 200);
  EXPECT_EQ(table.orphan_count(), 1u);
  ASSERT_EQ(derived.size(), 1u);
  EXPECT_EQ(derived[0].action, EventAction::kReparent);
  EXPECT_EQ(derived[0].old_ppid, 200);
  EXPECT_EQ(derived[0].ppid, 1);
}

TEST_F(ModelTest, OrphanGoesToNearestSubreaper) {
  Apply(Fork(200, 100, 60));  // will be the sub-reaper
  Event prctl = About(EventAction::kSubreaper, 200, 60);
  prctl.subreaper = true;
  Apply(prctl);
  Apply(Fork(300, 200, 61));
  Apply(Fork(400, 300, 62));
  Apply(About(EventAction::kExit, 300, 61));
  EXPECT_EQ(table.Find(400)->ppid, 200);
  EXPECT_EQ(table.Find(400)->reaper_kind, ReaperKind::kSubreaper);
  EXPECT_EQ(table.subreaper_count(), 1u);
}

TEST_F(ModelTest, DeadSubreaperIsSkipped) {
  Apply(Fork(200, 100, 60));
  Event prctl = About(EventAction::kSubreaper, 200, 60);
  prctl.subreaper = true;
  Apply(prctl);
  Apply(Fork(300, 200, 61));
  Apply(Fork(400, 300, 62));
  Apply(About(EventAction::kExit, 200, 60));  // the sub-reaper dies first: 300 goes to init
  Apply(About(EventAction::kExit, 300, 61));
  EXPECT_EQ(table.Find(400)->ppid, 1);
  EXPECT_EQ(table.Find(400)->reaper_kind, ReaperKind::kInit);
}

TEST_F(ModelTest, OrphanInsideAPidNamespaceGoesToItsInit) {
  constexpr uint64_t kNs = 4026532000;
  Event init = Fork(500, 100, 70);
  init.pidns_known = true;
  init.pidns_level = 1;
  init.pidns_inode = kNs;
  init.ns_pids = {500, 1};
  Apply(init);
  for (auto [pid, ppid, nspid, start] : {std::tuple{501, 500, 2, 71}, {502, 501, 3, 72}}) {
    Event e = Fork(pid, ppid, start);
    e.pidns_known = true;
    e.pidns_level = 1;
    e.pidns_inode = kNs;
    e.ns_pids = {pid, nspid};
    Apply(e);
  }
  ASSERT_EQ(table.NamespaceInit(kNs), table.Find(500));
  EXPECT_TRUE(table.Find(500)->is_namespace_init());
  Apply(About(EventAction::kExit, 501, 71));
  EXPECT_EQ(table.Find(502)->ppid, 500);
  EXPECT_EQ(table.Find(502)->reaper_kind, ReaperKind::kPidnsInit);
}

TEST_F(ModelTest, NamespaceInitExitDoesNotReparentItsMembers) {
  Event init = Fork(500, 100, 70);
  init.pidns_known = true;
  init.pidns_level = 1;
  init.pidns_inode = 4026532000;
  init.ns_pids = {500, 1};
  Apply(init);
  Event member = Fork(501, 500, 71);
  member.pidns_known = true;
  member.pidns_level = 1;
  member.pidns_inode = 4026532000;
  member.ns_pids = {501, 2};
  Apply(member);
  Apply(About(EventAction::kExit, 500, 70));
  EXPECT_EQ(table.Find(501)->ppid, 500);  // the kernel kills it; it is not adopted
  EXPECT_TRUE(derived.empty());
}

TEST_F(ModelTest, ThreadExitMovesChildrenToASiblingThread) {
  Apply(Fork(200, 100, 60));
  Event fork = Fork(300, 200, 61);
  fork.parent_tid = 201;  // forked by thread 201 of process 200
  Apply(fork);
  Event thread_exit = About(EventAction::kThreadExit, 200, 60);
  thread_exit.tid = 201;
  Apply(thread_exit);
  EXPECT_EQ(table.Find(300)->ppid, 200);
  EXPECT_EQ(table.Find(300)->reaper_kind, ReaperKind::kThread);
}

TEST_F(ModelTest, SetsidAndSetpgid) {
  Apply(Fork(200, 100, 60));
  Apply(About(EventAction::kSetsid, 200, 60));
  EXPECT_EQ(table.Find(200)->sid, 200);
  EXPECT_EQ(table.Find(200)->pgid, 200);
  Apply(Fork(300, 200, 61));
  Event setpgid = About(EventAction::kSetpgid, 300, 61);
  setpgid.pgid = 300;
  Apply(setpgid);
  EXPECT_EQ(table.Find(300)->pgid, 300);
  EXPECT_EQ(table.Find(300)->sid, 200);
}

TEST_F(ModelTest, KernelParentCorrectsAWrongPrediction) {
  Apply(Fork(200, 100, 60));
  Apply(Fork(300, 200, 61));
  Event comm = About(EventAction::kComm, 300, 61);
  comm.ppid = 1;  // the kernel says init is the parent now: the exit of 200 was missed
  std::strncpy(comm.comm.data(), "renamed", comm.comm.size());
  Apply(comm);
  EXPECT_EQ(table.Find(300)->ppid, 1);
  EXPECT_EQ(table.Find(300)->comm, "renamed");
  EXPECT_EQ(table.stats().parent_corrections, 1u);
}

TEST_F(ModelTest, ReconcileRemovesGhostsAndAddsMissing) {
  Apply(Fork(200, 100, 60));
  std::vector<int32_t> listed = {1, 100, 900};  // 200 is gone, 900 is new
  std::vector<int32_t> missing = table.RemoveGhosts(listed);
  EXPECT_EQ(table.Find(200), nullptr);
  EXPECT_EQ(missing, std::vector<int32_t>{900});
  table.AddMissing(MakeProcess(900, 1, 80));
  EXPECT_EQ(table.stats().ghosts_removed, 1u);
  EXPECT_EQ(table.stats().missing_added, 1u);
}

}  // namespace
}  // namespace pidscope
