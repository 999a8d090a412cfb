// ProcessTable: records keyed by (pid, start time), so a reused PID never aliases the process
// that held it before; the parent-to-children index follows every change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/process_table.hpp"

namespace pidscope {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Process MakeProcess(int32_t pid, uint64_t start_ticks, int32_t ppid, std::string comm = "p") {
  Process p;
  p.key = ProcessKey{pid, start_ticks};
  p.ppid = ppid;
  p.comm = std::move(comm);
  return p;
}

TEST(ProcessTable, FindsByPidAndByKey) {
  ProcessTable table;
  table.Upsert(MakeProcess(100, 500, 1, "old"));
  ASSERT_NE(table.Find(100), nullptr);
  EXPECT_EQ(table.Find(100)->comm, "old");
  ASSERT_NE(table.Find(ProcessKey{100, 500}), nullptr);
  EXPECT_EQ(table.Find(ProcessKey{100, 500})->comm, "old");
  EXPECT_EQ(table.Find(ProcessKey{100, 501}), nullptr);
  EXPECT_EQ(table.Find(101), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

TEST(ProcessTable, UpsertWithSameKeyUpdatesInPlace) {
  ProcessTable table;
  table.Upsert(MakeProcess(100, 500, 1, "before"));
  table.Upsert(MakeProcess(100, 500, 1, "after"));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find(ProcessKey{100, 500})->comm, "after");
  EXPECT_THAT(table.Children(1), ElementsAre(100));  // not listed twice
}

TEST(ProcessTable, ReusedPidDoesNotAliasTheOldProcess) {
  ProcessTable table;
  table.Upsert(MakeProcess(100, 500, 1, "old"));
  table.Upsert(MakeProcess(100, 900, 1, "new"));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find(ProcessKey{100, 500}), nullptr);
  ASSERT_NE(table.Find(ProcessKey{100, 900}), nullptr);
  EXPECT_EQ(table.Find(ProcessKey{100, 900})->comm, "new");
  EXPECT_EQ(table.Find(100)->comm, "new");
}

TEST(ProcessTable, RemovingTheOldKeyOfAReusedPidKeepsTheNewProcess) {
  ProcessTable table;
  table.Upsert(MakeProcess(100, 500, 1, "old"));
  table.Upsert(MakeProcess(100, 900, 1, "new"));
  EXPECT_FALSE(table.Remove(ProcessKey{100, 500}));
  ASSERT_NE(table.Find(ProcessKey{100, 900}), nullptr);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_THAT(table.Children(1), ElementsAre(100));
  EXPECT_TRUE(table.Remove(ProcessKey{100, 900}));
  EXPECT_EQ(table.Find(100), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_THAT(table.Children(1), IsEmpty());
}

TEST(ProcessTable, ReusedPidWithAnotherParentMovesInTheChildIndex) {
  ProcessTable table;
  table.Upsert(MakeProcess(1, 1, 0));
  table.Upsert(MakeProcess(2, 2, 1));
  table.Upsert(MakeProcess(100, 500, 1, "old"));
  table.Upsert(MakeProcess(100, 900, 2, "new"));
  EXPECT_THAT(table.Children(1), ElementsAre(2));
  EXPECT_THAT(table.Children(2), ElementsAre(100));
}

TEST(ProcessTable, RemoveOfAnAbsentKeyFails) {
  ProcessTable table;
  EXPECT_FALSE(table.Remove(ProcessKey{7, 7}));
  table.Upsert(MakeProcess(7, 7, 1));
  EXPECT_FALSE(table.Remove(ProcessKey{8, 7}));
  EXPECT_TRUE(table.Remove(ProcessKey{7, 7}));
  EXPECT_FALSE(table.Remove(ProcessKey{7, 7}));
}

TEST(ProcessTable, ChildrenAreSortedAndFollowReparenting) {
  ProcessTable table;
  table.Upsert(MakeProcess(1, 1, 0));
  table.Upsert(MakeProcess(50, 10, 1));
  for (int32_t pid : {70, 55, 60}) table.Upsert(MakeProcess(pid, 20, 50));
  EXPECT_THAT(table.Children(50), ElementsAre(55, 60, 70));
  EXPECT_THAT(table.Children(1), ElementsAre(50));
  // 50 exits: its children are re-upserted with the subreaper (here init) as parent.
  EXPECT_TRUE(table.Remove(ProcessKey{50, 10}));
  for (int32_t pid : {55, 60, 70}) table.Upsert(MakeProcess(pid, 20, 1));
  EXPECT_THAT(table.Children(50), IsEmpty());
  EXPECT_THAT(table.Children(1), ElementsAre(55, 60, 70));
}

TEST(ProcessTable, RemovedChildLeavesItsParentsList) {
  ProcessTable table;
  table.Upsert(MakeProcess(10, 1, 1));
  table.Upsert(MakeProcess(11, 1, 1));
  EXPECT_TRUE(table.Remove(ProcessKey{10, 1}));
  EXPECT_THAT(table.Children(1), ElementsAre(11));
}

TEST(ProcessTable, ChildrenOfUnknownPidIsEmpty) {
  ProcessTable table;
  EXPECT_THAT(table.Children(12345), IsEmpty());
}

TEST(ProcessTable, KernelThreadsHangUnderPidZero) {
  ProcessTable table;
  table.Upsert(MakeProcess(1, 1, 0));
  table.Upsert(MakeProcess(2, 1, 0));
  table.Upsert(MakeProcess(3, 2, 2));
  EXPECT_THAT(table.Children(0), ElementsAre(1, 2));
  EXPECT_THAT(table.Children(2), ElementsAre(3));
}

TEST(ProcessTable, BootstrapReplacesEverything) {
  ProcessTable table;
  table.Upsert(MakeProcess(9, 9, 1));
  std::vector<Process> snapshot;
  snapshot.push_back(MakeProcess(30, 3, 1));
  snapshot.push_back(MakeProcess(10, 1, 1));
  snapshot.push_back(MakeProcess(20, 2, 10));
  table.Bootstrap(std::move(snapshot));
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.Find(9), nullptr);
  EXPECT_THAT(table.Children(1), ElementsAre(10, 30));
  EXPECT_THAT(table.Children(10), ElementsAre(20));
  std::vector<int32_t> order;
  for (const Process* p : table.SortedByPid()) order.push_back(p->key.pid);
  EXPECT_THAT(order, ElementsAre(10, 20, 30));
}

TEST(ProcessTable, ForEachVisitsEveryRecordOnce) {
  ProcessTable table;
  for (int32_t pid = 1; pid <= 100; ++pid) table.Upsert(MakeProcess(pid, pid, pid / 2));
  int visits = 0;
  int64_t pid_sum = 0;
  table.ForEach([&](const Process& p) {
    ++visits;
    pid_sum += p.key.pid;
  });
  EXPECT_EQ(visits, 100);
  EXPECT_EQ(pid_sum, 5050);
}

TEST(ProcessTable, ZombieCountFollowsPidReuse) {
  ProcessTable table;
  Process zombie = MakeProcess(100, 500, 1);
  zombie.state = 'Z';
  zombie.threads = 1;
  table.Upsert(zombie);
  EXPECT_EQ(table.zombie_count(), 1u);
  table.Upsert(MakeProcess(100, 900, 1));  // reaped, and the PID went to a new process
  EXPECT_EQ(table.zombie_count(), 0u);
  EXPECT_FALSE(table.Remove(ProcessKey{100, 500}));
  EXPECT_EQ(table.zombie_count(), 0u);
}

TEST(ProcessTable, NamespaceInitIsForgottenWhenItsPidIsReused) {
  constexpr uint64_t kPidns = 4026532500;
  ProcessTable table;
  Process init = MakeProcess(300, 10, 1, "tini");
  init.ns_pid = {300, 1};
  init.ns_inode[static_cast<size_t>(NsType::kPid)] = kPidns;
  table.Upsert(init);
  ASSERT_NE(table.NamespaceInit(kPidns), nullptr);
  EXPECT_EQ(table.NamespaceInit(kPidns)->comm, "tini");
  Process reused = MakeProcess(300, 20, 1, "bash");
  reused.ns_pid = {300};
  table.Upsert(reused);
  EXPECT_EQ(table.NamespaceInit(kPidns), nullptr);
}

TEST(ProcessKeyHash, DistinguishesPidAndStartTime) {
  ProcessKeyHash hash;
  EXPECT_NE(hash(ProcessKey{100, 500}), hash(ProcessKey{100, 900}));
  EXPECT_NE(hash(ProcessKey{100, 500}), hash(ProcessKey{101, 500}));
  EXPECT_EQ(hash(ProcessKey{100, 500}), hash(ProcessKey{100, 500}));
}

}  // namespace
}  // namespace pidscope
