// GroupStats as ProcessTable keeps them while it indexes records: totals, per PID namespace, per
// container and per pod, through bootstrap, fork, exit, reap, reparenting, sub-reaper changes and
// refreshes; a group's entry goes away with its last process.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/process_table.hpp"
#include "resolve/cgroup_identity.hpp"

namespace pidscope {
namespace {

constexpr uint64_t kHostNs = 4026531836;
constexpr uint64_t kNsA = 4026532600;  // container A's PID namespace
constexpr uint64_t kNsB = 4026532700;  // container B's
constexpr uint64_t kSecond = 1'000'000'000;

const std::string kIdA = std::string(64, 'a');
const std::string kIdB = std::string(64, 'b');
constexpr const char* kPod = "0f6e4c9a-0c41-4b9a-9b1e-2d7c5a3e8f10";

std::shared_ptr<const ContainerIdentity> Identity(const std::string& id,
                                                  const std::string& pod_uid = "") {
  auto c = std::make_shared<ContainerIdentity>();
  c->runtime = std::string(kRuntimeContainerd);
  c->id = id;
  c->pod_uid = pod_uid;
  c->in_kubernetes = !pod_uid.empty();
  c->qos_class = pod_uid.empty() ? "" : std::string(kQosBurstable);
  c->role = std::string(id.empty() ? kRolePod : kRoleContainer);
  c->cgroup_path = "/kubepods.slice/test/" + id;
  return c;
}

Process HostProcess(int32_t pid, int32_t ppid) {
  Process p;
  p.key = {pid, static_cast<uint64_t>(pid)};
  p.ppid = ppid;
  p.state = 'S';
  p.threads = 1;
  p.comm = "p" + std::to_string(pid);
  p.ns_pid = {pid};
  p.ns_inode[static_cast<size_t>(NsType::kPid)] = kHostNs;
  p.subreaper = Tristate::kNo;
  return p;
}

Process Member(int32_t pid, int32_t ppid, int32_t nspid, uint64_t pidns,
               std::shared_ptr<const ContainerIdentity> container) {
  Process p = HostProcess(pid, ppid);
  p.ns_pid = {pid, nspid};
  p.ns_inode[static_cast<size_t>(NsType::kPid)] = pidns;
  p.container = std::move(container);
  return p;
}

Event Fork(int32_t pid, int32_t ppid, uint64_t pidns, int32_t nspid) {
  Event e;
  e.action = EventAction::kFork;
  e.pid = e.tid = pid;
  e.ppid = ppid;
  e.parent_tid = ppid;
  e.start_ticks = static_cast<uint64_t>(pid);
  e.pidns_known = true;
  e.pidns_inode = pidns;
  e.pidns_level = pidns == kHostNs ? 0 : 1;
  e.ns_pids = {pid, nspid};
  return e;
}

Event About(EventAction action, int32_t pid) {
  Event e;
  e.action = action;
  e.pid = e.tid = pid;
  e.start_ticks = static_cast<uint64_t>(pid);
  return e;
}

Event Exit(int32_t pid, uint64_t at_ns) {
  Event e = About(EventAction::kExit, pid);
  e.exit_code = 0;
  e.timestamp_ns = at_ns;
  return e;
}

Event Subreaper(int32_t pid, bool on) {
  Event e = About(EventAction::kSubreaper, pid);
  e.subreaper = on;
  return e;
}

size_t Orphans(const GroupStats& g, ReaperKind kind) {
  return static_cast<size_t>(g.orphans_by_kind[static_cast<size_t>(kind)]);
}

// Host: 1 (init), 100 (containerd-shim). Container A (pod kPod): init 200 = A's PID 1, with
// 201 and 202 below it. Container B (no pod): init 300.
class GroupStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = Identity(kIdA, kPod);
    b = Identity(kIdB);
    std::vector<Process> boot;
    boot.push_back(HostProcess(1, 0));
    boot.push_back(HostProcess(100, 1));
    boot.push_back(Member(200, 100, 1, kNsA, a));
    boot.push_back(Member(201, 200, 2, kNsA, a));
    boot.push_back(Member(202, 200, 3, kNsA, a));
    boot.push_back(Member(300, 100, 1, kNsB, b));
    table.Bootstrap(std::move(boot));
  }

  void Apply(const Event& e) { table.Apply(e, &derived); }

  const GroupStats* Container(const std::string& id) const {
    auto it = table.by_container().find(id);
    return it == table.by_container().end() ? nullptr : &it->second;
  }
  const GroupStats* Pod(const std::string& uid) const {
    auto it = table.by_pod().find(uid);
    return it == table.by_pod().end() ? nullptr : &it->second;
  }
  const GroupStats* Pidns(uint64_t inode) const {
    auto it = table.by_pidns().find(inode);
    return it == table.by_pidns().end() ? nullptr : &it->second;
  }

  // The invariants every state must satisfy: each group's counts equal a recount over the
  // records, and no group is kept without processes.
  void ExpectConsistent() const {
    int64_t processes = 0, zombies = 0, subreapers = 0, orphans = 0;
    std::map<std::string, int64_t> per_container;
    std::map<uint64_t, int64_t> per_pidns;
    table.ForEach([&](const Process& p) {
      ++processes;
      zombies += p.is_zombie();
      subreapers += p.subreaper == Tristate::kYes;
      orphans += p.is_orphan();
      ++per_pidns[p.ns(NsType::kPid)];
      if (p.container && !p.container->id.empty()) ++per_container[p.container->id];
    });
    EXPECT_EQ(table.totals().processes, processes);
    EXPECT_EQ(table.totals().zombies, zombies);
    EXPECT_EQ(table.totals().subreapers, subreapers);
    EXPECT_EQ(table.totals().orphans(), orphans);
    EXPECT_EQ(table.totals().zombie_exits.size(), static_cast<size_t>(zombies));
    EXPECT_EQ(table.zombie_count(), static_cast<size_t>(zombies));
    EXPECT_EQ(table.orphan_count(), static_cast<size_t>(orphans));
    EXPECT_EQ(table.subreaper_count(), static_cast<size_t>(subreapers));
    EXPECT_EQ(table.by_container().size(), per_container.size());
    for (const auto& [id, n] : per_container) {
      const GroupStats* g = Container(id);
      ASSERT_NE(g, nullptr) << id;
      EXPECT_EQ(g->processes, n) << id;
      ASSERT_NE(g->identity, nullptr) << id;
      EXPECT_EQ(g->identity->id, id);
    }
    EXPECT_EQ(table.by_pidns().size(), per_pidns.size());
    for (const auto& [inode, n] : per_pidns) {
      const GroupStats* g = Pidns(inode);
      ASSERT_NE(g, nullptr) << inode;
      EXPECT_EQ(g->processes, n) << inode;
      EXPECT_EQ(g->pidns_inode, inode);
    }
    for (const auto& [key, g] : table.by_container()) EXPECT_GT(g.processes, 0) << key;
    for (const auto& [key, g] : table.by_pod()) EXPECT_GT(g.processes, 0) << key;
    for (const auto& [key, g] : table.by_pidns()) EXPECT_GT(g.processes, 0) << key;
  }

  std::shared_ptr<const ContainerIdentity> a;
  std::shared_ptr<const ContainerIdentity> b;
  ProcessTable table;
  std::vector<Event> derived;
};

TEST_F(GroupStatsTest, BootstrapCountsEveryGroup) {
  EXPECT_EQ(table.totals().processes, 6);
  ASSERT_NE(Container(kIdA), nullptr);
  EXPECT_EQ(Container(kIdA)->processes, 3);
  EXPECT_EQ(Container(kIdA)->identity, a);  // the identity the processes share
  ASSERT_NE(Container(kIdB), nullptr);
  EXPECT_EQ(Container(kIdB)->processes, 1);
  ASSERT_NE(Pod(kPod), nullptr);
  EXPECT_EQ(Pod(kPod)->processes, 3);
  EXPECT_EQ(table.by_pod().size(), 1u);  // B is in no pod
  ASSERT_NE(Pidns(kHostNs), nullptr);
  EXPECT_EQ(Pidns(kHostNs)->processes, 2);
  EXPECT_EQ(Pidns(kNsA)->processes, 3);
  EXPECT_EQ(Pidns(kNsA)->pidns_inode, kNsA);
  EXPECT_EQ(Pidns(kNsB)->processes, 1);
  EXPECT_EQ(Container(kIdA)->zombies, 0);
  EXPECT_EQ(Container(kIdA)->orphans(), 0);
  EXPECT_EQ(Container(kIdA)->subreapers, 0);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, ForkAddsToTheParentsGroups) {
  Apply(Fork(203, 201, kNsA, 4));
  const Process* child = table.Find(203);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->container, a);
  EXPECT_EQ(Container(kIdA)->processes, 4);
  EXPECT_EQ(Pod(kPod)->processes, 4);
  EXPECT_EQ(Pidns(kNsA)->processes, 4);
  EXPECT_EQ(Container(kIdB)->processes, 1);
  EXPECT_EQ(table.totals().processes, 7);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, ExitMakesAZombieUntilReaped) {
  constexpr uint64_t kExit = 1000 * kSecond;
  Apply(Exit(202, kExit));
  EXPECT_EQ(Container(kIdA)->zombies, 1);
  EXPECT_EQ(Pod(kPod)->zombies, 1);
  EXPECT_EQ(Pidns(kNsA)->zombies, 1);
  EXPECT_EQ(table.totals().zombies, 1);
  EXPECT_EQ(Container(kIdA)->processes, 3);  // a zombie is still a process
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kExit + 7 * kSecond), 7 * kSecond);
  EXPECT_EQ(Pidns(kNsA)->OldestZombieAgeNs(kExit + 7 * kSecond), 7 * kSecond);
  EXPECT_EQ(Container(kIdB)->zombies, 0);
  EXPECT_EQ(Container(kIdB)->OldestZombieAgeNs(kExit + 7 * kSecond), 0u);
  ExpectConsistent();

  Apply(About(EventAction::kReap, 202));
  EXPECT_EQ(Container(kIdA)->zombies, 0);
  EXPECT_EQ(Container(kIdA)->processes, 2);
  EXPECT_TRUE(Container(kIdA)->zombie_exits.empty());
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kExit + 7 * kSecond), 0u);
  EXPECT_EQ(Pod(kPod)->processes, 2);
  EXPECT_EQ(table.totals().zombies, 0);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, OldestZombieAgeFollowsWhichZombiesRemain) {
  constexpr uint64_t kNow = 5000 * kSecond;
  Apply(Fork(203, 200, kNsA, 4));
  Apply(Exit(201, kNow - 30 * kSecond));
  Apply(Exit(202, kNow - 10 * kSecond));
  Apply(Exit(203, kNow - 30 * kSecond));  // same exit time as 201
  EXPECT_EQ(Container(kIdA)->zombies, 3);
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kNow), 30 * kSecond);
  Apply(About(EventAction::kReap, 201));
  // 203 exited at the same time as 201: still 30 s.
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kNow), 30 * kSecond);
  Apply(About(EventAction::kReap, 203));
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kNow), 10 * kSecond);
  // A clock before the exit (another boot's times) gives no age rather than a huge one.
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(kNow - 20 * kSecond), 0u);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, ZombiesOfUnknownExitTimeAreCountedButHaveNoAge) {
  // A procfs snapshot shows zombies without an exit time.
  Process z = Member(203, 200, 4, kNsA, a);
  z.state = 'Z';
  table.Upsert(z);
  EXPECT_EQ(Container(kIdA)->zombies, 1);
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(9999 * kSecond), 0u);
  Apply(Exit(202, 100 * kSecond));
  EXPECT_EQ(Container(kIdA)->zombies, 2);
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(130 * kSecond), 30 * kSecond);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, OrphansAreCountedByTheirReaper) {
  // 201 forks 203, then dies: 203 goes to A's init (200).
  Apply(Fork(203, 201, kNsA, 4));
  Apply(Exit(201, 10 * kSecond));
  ASSERT_EQ(derived.size(), 1u);
  EXPECT_EQ(derived[0].action, EventAction::kReparent);
  EXPECT_EQ(table.Find(203)->ppid, 200);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kPidnsInit), 1u);
  EXPECT_EQ(Orphans(*Pod(kPod), ReaperKind::kPidnsInit), 1u);
  EXPECT_EQ(Orphans(*Pidns(kNsA), ReaperKind::kPidnsInit), 1u);
  EXPECT_EQ(Orphans(table.totals(), ReaperKind::kPidnsInit), 1u);
  EXPECT_EQ(Container(kIdA)->orphans(), 1);
  EXPECT_EQ(Container(kIdB)->orphans(), 0);
  EXPECT_EQ(Pidns(kHostNs)->orphans(), 0);

  // On the host: a child of the shim whose parent dies goes to PID 1.
  Apply(Fork(150, 100, kHostNs, 0));
  Apply(Fork(151, 150, kHostNs, 0));
  Apply(Exit(150, 11 * kSecond));
  EXPECT_EQ(Orphans(*Pidns(kHostNs), ReaperKind::kInit), 1u);
  EXPECT_EQ(Orphans(table.totals(), ReaperKind::kInit), 1u);
  EXPECT_EQ(table.totals().orphans(), 2);
  ExpectConsistent();

  // An orphan that exits stays an orphan (a zombie of its reaper) until reaped.
  Apply(Exit(203, 12 * kSecond));
  EXPECT_EQ(Container(kIdA)->orphans(), 1);
  EXPECT_EQ(Container(kIdA)->zombies, 2);  // 201 (not reaped by the test) and 203
  Apply(About(EventAction::kReap, 203));
  EXPECT_EQ(Container(kIdA)->orphans(), 0);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, SubreapersAndTheirAdoptions) {
  Apply(Subreaper(201, true));
  EXPECT_EQ(Container(kIdA)->subreapers, 1);
  EXPECT_EQ(Pod(kPod)->subreapers, 1);
  EXPECT_EQ(Pidns(kNsA)->subreapers, 1);
  EXPECT_EQ(table.totals().subreapers, 1);
  EXPECT_EQ(Container(kIdB)->subreapers, 0);
  // 201 -> 203 -> 204; 203 dies: 204 goes to the sub-reaper 201.
  Apply(Fork(203, 201, kNsA, 4));
  Apply(Fork(204, 203, kNsA, 5));
  EXPECT_EQ(table.Find(203)->subreaper, Tristate::kNo);  // not inherited
  EXPECT_EQ(Container(kIdA)->subreapers, 1);
  Apply(Exit(203, 10 * kSecond));
  EXPECT_EQ(table.Find(204)->ppid, 201);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kSubreaper), 1u);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kPidnsInit), 0u);
  ExpectConsistent();
  // Setting the flag twice counts once; clearing it removes the count.
  Apply(Subreaper(201, true));
  EXPECT_EQ(Container(kIdA)->subreapers, 1);
  Apply(Subreaper(201, false));
  EXPECT_EQ(Container(kIdA)->subreapers, 0);
  EXPECT_EQ(table.totals().subreapers, 0);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, ThreadReaperIsCountedAsSuch) {
  Event fork = Fork(203, 201, kNsA, 4);
  fork.parent_tid = 205;  // forked by thread 205 of 201
  Apply(fork);
  Event thread_exit = About(EventAction::kThreadExit, 201);
  thread_exit.tid = 205;
  Apply(thread_exit);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kThread), 1u);
  EXPECT_EQ(Orphans(table.totals(), ReaperKind::kThread), 1u);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, KernelCorrectionOfAGoneParentMakesAnOrphan) {
  // The model missed 201's death; an event about 203 names its new parent, the init.
  Apply(Fork(203, 201, kNsA, 4));
  table.Remove(ProcessKey{201, 201});
  Event comm = About(EventAction::kComm, 203);
  comm.ppid = 200;
  Apply(comm);
  EXPECT_EQ(table.Find(203)->reaper_kind, ReaperKind::kPidnsInit);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kPidnsInit), 1u);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, GroupsAreErasedWithTheirLastProcess) {
  Apply(Exit(300, 10 * kSecond));
  EXPECT_EQ(Container(kIdB)->zombies, 1);
  Apply(About(EventAction::kReap, 300));
  EXPECT_EQ(Container(kIdB), nullptr);
  EXPECT_EQ(Pidns(kNsB), nullptr);
  ExpectConsistent();

  // Container A's init dies: its members are killed (not reparented), then all are reaped.
  Apply(Exit(201, 11 * kSecond));
  Apply(Exit(202, 11 * kSecond));
  Apply(Exit(200, 12 * kSecond));
  EXPECT_TRUE(derived.empty());
  EXPECT_EQ(Container(kIdA)->zombies, 3);
  Apply(About(EventAction::kReap, 201));
  Apply(About(EventAction::kReap, 202));
  ASSERT_NE(Container(kIdA), nullptr);
  Apply(About(EventAction::kReap, 200));
  EXPECT_EQ(Container(kIdA), nullptr);
  EXPECT_EQ(Pod(kPod), nullptr);
  EXPECT_EQ(Pidns(kNsA), nullptr);
  EXPECT_TRUE(table.by_container().empty());
  EXPECT_TRUE(table.by_pod().empty());
  EXPECT_EQ(table.by_pidns().size(), 1u);
  EXPECT_EQ(table.totals().processes, 2);
  EXPECT_EQ(table.totals().zombies, 0);
  EXPECT_TRUE(table.totals().zombie_exits.empty());
  ExpectConsistent();

  // A container that comes back later starts from zero.
  table.Upsert(Member(400, 100, 1, kNsB, b));
  ASSERT_NE(Container(kIdB), nullptr);
  EXPECT_EQ(Container(kIdB)->processes, 1);
  EXPECT_EQ(Container(kIdB)->zombies, 0);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, KeysOutliveTheIdentityThatCreatedTheGroup) {
  // Two identity objects for the same container (its processes' cgroup files differ, e.g. one
  // was moved in one v1 hierarchy only). The group keeps the first one alive for its key.
  auto a2 = Identity(kIdA, kPod);
  table.Upsert(Member(203, 200, 4, kNsA, a2));
  const GroupStats* g = Container(kIdA);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->processes, 4);
  const ContainerIdentity* keeper = g->identity.get();
  // Drop every other reference to the first identity.
  for (int32_t pid : {202, 201, 200}) {
    Process p = *table.Find(pid);
    p.container = a2;
    table.Upsert(p);
  }
  a.reset();
  ASSERT_NE(Container(kIdA), nullptr);
  EXPECT_EQ(Container(kIdA)->identity.get(), keeper);
  EXPECT_EQ(Container(kIdA)->processes, 4);
  for (const auto& [key, stats] : table.by_container()) {
    EXPECT_TRUE(key == kIdA || key == kIdB) << key;
    EXPECT_EQ(key, stats.identity->id);
    // The key views the id the group holds.
    EXPECT_EQ(key.data(), stats.identity->id.data());
  }
  for (const auto& [key, stats] : table.by_pod()) {
    EXPECT_EQ(key, kPod);
    EXPECT_EQ(key.data(), stats.identity->pod_uid.data());
  }
  ExpectConsistent();
}

TEST_F(GroupStatsTest, RefreshThatMovesAProcessBetweenContainersMovesItsCounts) {
  // `runc exec` or nsenter: a process joins container B; a refresh from procfs says so.
  Process moved = *table.Find(202);
  moved.container = b;
  moved.ns_inode[static_cast<size_t>(NsType::kPid)] = kNsB;
  table.Upsert(moved);
  EXPECT_EQ(Container(kIdA)->processes, 2);
  EXPECT_EQ(Pod(kPod)->processes, 2);
  EXPECT_EQ(Container(kIdB)->processes, 2);
  EXPECT_EQ(Pidns(kNsB)->processes, 2);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, RefreshKeepsLiveStateWithoutCountingTwice) {
  Apply(Subreaper(201, true));
  Apply(Fork(203, 201, kNsA, 4));
  Apply(Fork(204, 203, kNsA, 5));
  Apply(Exit(203, 10 * kSecond));  // 204 adopted by 201
  Apply(Exit(204, 11 * kSecond));  // and now a zombie of it
  // procfs refreshes of the same processes know neither the flag nor the orphan state.
  for (int32_t pid : {201, 204}) {
    Process fresh = *table.Find(pid);
    fresh.subreaper = Tristate::kUnknown;
    fresh.reaper_kind = ReaperKind::kNone;
    fresh.exited = false;
    fresh.exit_boot_ns = 0;
    table.Upsert(fresh);
  }
  EXPECT_EQ(Container(kIdA)->subreapers, 1);
  EXPECT_EQ(Orphans(*Container(kIdA), ReaperKind::kSubreaper), 1u);
  EXPECT_EQ(Container(kIdA)->zombies, 2);  // 203 (unreaped) and 204
  EXPECT_EQ(Container(kIdA)->OldestZombieAgeNs(20 * kSecond), 10 * kSecond);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, ExecByAThreadOfAnExitedLeaderIsNoZombie) {
  // procfs shows a process whose main thread exited while others live as state Z with several
  // threads: not a zombie. When one of its threads execs, the kernel makes it the leader again
  // (de_thread): the process runs the new program, still not a zombie.
  Process leader_gone = Member(203, 200, 4, kNsA, a);
  leader_gone.state = 'Z';
  leader_gone.threads = 3;
  table.Upsert(leader_gone);
  ASSERT_FALSE(table.Find(203)->is_zombie());
  EXPECT_EQ(Container(kIdA)->zombies, 0);

  Event exec = About(EventAction::kExec, 203);
  exec.tid = 203;
  exec.old_tid = 205;  // the thread that exec'd
  exec.filename = "/usr/bin/true";
  Apply(exec);
  EXPECT_FALSE(table.Find(203)->is_zombie());
  EXPECT_EQ(Container(kIdA)->zombies, 0);
  ExpectConsistent();

  // Its real exit and reap leave every count at zero, none negative.
  Apply(Exit(203, 10 * kSecond));
  EXPECT_EQ(Container(kIdA)->zombies, 1);
  Apply(About(EventAction::kReap, 203));
  EXPECT_EQ(Container(kIdA)->zombies, 0);
  EXPECT_EQ(table.totals().zombies, 0);
  EXPECT_EQ(table.zombie_count(), 0u);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, PodLevelProcessesCountForThePodOnly) {
  // The pod's own cgroup (no container): a process there counts in by_pod, not by_container.
  Process pod_level = HostProcess(250, 100);
  pod_level.container = Identity("", kPod);
  table.Upsert(pod_level);
  EXPECT_EQ(Pod(kPod)->processes, 4);
  EXPECT_EQ(Container(kIdA)->processes, 3);
  EXPECT_EQ(table.by_container().size(), 2u);
  ExpectConsistent();
}

TEST_F(GroupStatsTest, BootstrapStartsOver) {
  Apply(Exit(202, 10 * kSecond));
  table.Bootstrap({HostProcess(1, 0)});
  EXPECT_EQ(table.totals().processes, 1);
  EXPECT_EQ(table.totals().zombies, 0);
  EXPECT_TRUE(table.totals().zombie_exits.empty());
  EXPECT_TRUE(table.by_container().empty());
  EXPECT_TRUE(table.by_pod().empty());
  EXPECT_EQ(table.by_pidns().size(), 1u);
  ExpectConsistent();
}

}  // namespace
}  // namespace pidscope
