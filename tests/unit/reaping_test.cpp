// AssessReaping on synthetic tables: observation (zombie children of a namespace's init and how
// long they stayed unreaped) decides; hints (a known reaper program, SIGCHLD ignored or caught)
// only speak when no zombie is seen, and never make "failing".
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/process_table.hpp"
#include "model/reaping.hpp"

namespace pidscope {
namespace {

constexpr uint64_t kHostNs = 4026531836;
constexpr uint64_t kContainerNs = 4026532500;
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kNow = 10'000 * kSecond;  // CLOCK_BOOTTIME "now" of every assessment
constexpr int32_t kInitPid = 500;

uint64_t Bit(int signo) { return uint64_t{1} << (signo - 1); }

Process HostProcess(int32_t pid, int32_t ppid, std::string comm) {
  Process p;
  p.key = {pid, static_cast<uint64_t>(pid) * 10};
  p.ppid = ppid;
  p.state = 'S';
  p.threads = 1;
  p.comm = std::move(comm);
  p.ns_pid = {pid};
  p.ns_inode[static_cast<size_t>(NsType::kPid)] = kHostNs;
  return p;
}

// A member of the container's PID namespace with PID `nspid` there.
Process Member(int32_t pid, int32_t ppid, int32_t nspid, std::string comm) {
  Process p = HostProcess(pid, ppid, std::move(comm));
  p.ns_pid = {pid, nspid};
  p.ns_inode[static_cast<size_t>(NsType::kPid)] = kContainerNs;
  return p;
}

Process Init(std::string comm, std::string executable = "") {
  Process p = Member(kInitPid, 400, 1, std::move(comm));
  if (!executable.empty()) p.executable = std::make_shared<const std::string>(executable);
  return p;
}

// A zombie as the live model holds it (exit event seen; exit_boot_ns 0 = unknown).
Process Zombie(int32_t pid, int32_t ppid, int32_t nspid, uint64_t exit_boot_ns) {
  Process p = Member(pid, ppid, nspid, "sleep");
  p.exited = true;
  p.state = 'Z';
  p.threads = 0;
  p.exit_code = 0;
  p.exit_boot_ns = exit_boot_ns;
  return p;
}

// A zombie as a procfs snapshot shows it: state Z, one (dead) thread, no exit time.
Process ProcfsZombie(int32_t pid, int32_t ppid, int32_t nspid) {
  Process p = Member(pid, ppid, nspid, "sleep");
  p.state = 'Z';
  p.threads = 1;
  return p;
}

std::optional<ReapingAssessment> Assess(std::vector<Process> processes,
                                        uint64_t pidns = kContainerNs, ReapingPolicy policy = {}) {
  ProcessTable table;
  // Every table has the host's init and the runtime's shim that started the container.
  processes.push_back(HostProcess(1, 0, "systemd"));
  processes.push_back(HostProcess(400, 1, "containerd-shim"));
  table.Bootstrap(std::move(processes));
  return AssessReaping(table, pidns, kNow, policy);
}

TEST(ReapingTest, InitWithOldZombieChildrenIsFailingWithTheReason) {
  auto a = Assess({Init("sleep", "/usr/bin/sleep"), Zombie(501, kInitPid, 2, kNow - 40 * kSecond),
                   Zombie(502, kInitPid, 3, kNow - 5 * kSecond)});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kFailing);
  EXPECT_STREQ(ReapingStateName(a->state), "failing");
  EXPECT_EQ(a->reason, "2 zombie children, oldest unreaped for 40 s");
  EXPECT_EQ(a->zombie_children, 2);
  EXPECT_EQ(a->oldest_zombie_child_age_ns, 40 * kSecond);
  EXPECT_EQ(a->init_pid, kInitPid);
  EXPECT_EQ(a->init_name, "sleep");
  EXPECT_EQ(a->init_executable, "/usr/bin/sleep");
  EXPECT_EQ(a->known_reaper, "");
}

TEST(ReapingTest, FailingFromTheExactThresholdOn) {
  ReapingPolicy policy;
  policy.failing_after_ns = 2 * kSecond;
  auto at =
      Assess({Init("sleep"), Zombie(501, kInitPid, 2, kNow - 2 * kSecond)}, kContainerNs, policy);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->state, ReapingState::kFailing);
  EXPECT_EQ(at->reason, "1 zombie children, oldest unreaped for 2 s");
  auto below = Assess({Init("sleep"), Zombie(501, kInitPid, 2, kNow - 2 * kSecond + 1)},
                      kContainerNs, policy);
  ASSERT_TRUE(below.has_value());
  EXPECT_EQ(below->state, ReapingState::kSuspect);
}

TEST(ReapingTest, YoungZombiesAreSuspect) {
  auto a = Assess({Init("sleep"), Zombie(501, kInitPid, 2, kNow - 3 * kSecond),
                   Zombie(502, kInitPid, 3, kNow - 1 * kSecond)});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kSuspect);
  EXPECT_STREQ(ReapingStateName(a->state), "suspect");
  EXPECT_EQ(a->reason, "2 zombie children, not yet old");
  EXPECT_EQ(a->zombie_children, 2);
  EXPECT_EQ(a->oldest_zombie_child_age_ns, 3 * kSecond);
}

TEST(ReapingTest, ZombiesOfUnknownAgeAreSuspectNeverFailing) {
  // A snapshot cannot tell when they exited: however many there are, that is not proof.
  auto a = Assess({Init("sleep"), ProcfsZombie(501, kInitPid, 2), ProcfsZombie(502, kInitPid, 3),
                   Zombie(503, kInitPid, 4, 0)});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kSuspect);
  EXPECT_EQ(a->reason, "3 zombie children (age unknown: exited before pidscope watched)");
  EXPECT_EQ(a->zombie_children, 3);
  EXPECT_EQ(a->oldest_zombie_child_age_ns, 0u);
}

TEST(ReapingTest, ObservationBeatsAKnownReaperName) {
  // A program named like a reaper that leaves zombies for a minute is failing all the same.
  auto a = Assess({Init("tini", "/usr/bin/tini"), Zombie(501, kInitPid, 2, kNow - 60 * kSecond)});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kFailing);
  EXPECT_EQ(a->known_reaper, "tini");
}

TEST(ReapingTest, OnlyZombieChildrenOfTheInitCount) {
  // A zombie grandchild is its own parent's business, not the init's.
  Process child = Member(501, kInitPid, 2, "sh");
  child.sig_caught = Bit(SIGCHLD);
  auto a = Assess({Init("tini", "/usr/bin/tini"), child, Zombie(502, 501, 3, kNow - 60 * kSecond)});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_EQ(a->zombie_children, 0);
}

TEST(ReapingTest, KnownReaperWithoutZombiesIsOk) {
  Process init = Init("tini", "/usr/bin/tini");
  auto a = Assess({init, Member(501, kInitPid, 2, "nginx")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_STREQ(ReapingStateName(a->state), "ok");
  EXPECT_EQ(a->known_reaper, "tini");
  EXPECT_EQ(a->reason, "known reaper tini");
  EXPECT_EQ(a->zombie_children, 0);
}

TEST(ReapingTest, KnownReaperByExecutableOrByComm) {
  // docker run --init: the binary is docker-init, whatever comm it shows.
  Process by_exe = Init("init-wrapper", "/sbin/docker-init");
  EXPECT_EQ(KnownReaper(by_exe), "docker-init");
  // No readable executable (another user's exe link): the comm decides.
  Process by_comm = Init("dumb-init");
  EXPECT_EQ(KnownReaper(by_comm), "dumb-init");
  EXPECT_EQ(KnownReaper(Init("catatonit", "/usr/libexec/podman/catatonit")), "catatonit");
  // A path that only contains a reaper's name is not that reaper.
  EXPECT_EQ(KnownReaper(Init("sleep", "/opt/tini/bin/sleep")), "");
  EXPECT_EQ(KnownReaper(Init("sleep", "/usr/bin/sleep")), "");

  auto a = Assess({by_exe, Member(501, kInitPid, 2, "app")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_EQ(a->known_reaper, "docker-init");
}

TEST(ReapingTest, SleepLikeInitWithLiveChildrenAndNoSigchldHandlingIsSuspect) {
  auto a = Assess({Init("sleep", "/usr/bin/sleep"), Member(501, kInitPid, 2, "worker")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kSuspect);
  EXPECT_EQ(a->reason, "sleep is not a known reaper and does not handle SIGCHLD");
  EXPECT_FALSE(a->sigchld_ignored);
  EXPECT_FALSE(a->sigchld_caught);
}

TEST(ReapingTest, BlockedSigchldAloneIsStillSuspect) {
  // tini and catatonit block SIGCHLD to wait for it synchronously; a program that merely blocks
  // it and is none of them gives no evidence of reaping.
  Process init = Init("app");
  init.sig_blocked = Bit(SIGCHLD);
  auto a = Assess({init, Member(501, kInitPid, 2, "worker")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kSuspect);
  EXPECT_TRUE(a->sigchld_blocked);
}

TEST(ReapingTest, SigchldIgnoredIsOk) {
  Process init = Init("app");
  init.sig_ignored = Bit(SIGCHLD);
  auto a = Assess({init, Member(501, kInitPid, 2, "worker")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_TRUE(a->sigchld_ignored);
  EXPECT_EQ(a->reason, "SIGCHLD ignored: the kernel reaps its children");
}

TEST(ReapingTest, SigchldCaughtIsOk) {
  Process init = Init("bash");
  init.sig_caught = Bit(SIGCHLD) | Bit(SIGINT);
  auto a = Assess({init, Member(501, kInitPid, 2, "worker")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_TRUE(a->sigchld_caught);
  EXPECT_FALSE(a->sigchld_ignored);
  EXPECT_EQ(a->reason, "SIGCHLD handled");
}

TEST(ReapingTest, InitWithoutChildrenIsOk) {
  auto a = Assess({Init("sleep")});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ReapingState::kOk);
  EXPECT_EQ(a->reason, "no zombie children");
}

TEST(ReapingTest, NamespaceWithoutInitIsNullopt) {
  // The init exited (or was never seen): members without a PID 1 cannot be assessed.
  EXPECT_FALSE(Assess({Member(501, 400, 2, "orphan")}).has_value());
  // A namespace the table does not know at all.
  EXPECT_FALSE(Assess({Init("tini")}, 4026539999).has_value());
}

TEST(ReapingTest, HostNamespaceIsAssessedWithPidOne) {
  auto a = Assess({Init("tini")}, kHostNs);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->init_pid, 1);
  EXPECT_EQ(a->known_reaper, "systemd");
  EXPECT_EQ(a->state, ReapingState::kOk);
}

TEST(ReapingTest, StateNames) {
  EXPECT_STREQ(ReapingStateName(ReapingState::kOk), "ok");
  EXPECT_STREQ(ReapingStateName(ReapingState::kSuspect), "suspect");
  EXPECT_STREQ(ReapingStateName(ReapingState::kFailing), "failing");
}

}  // namespace
}  // namespace pidscope
