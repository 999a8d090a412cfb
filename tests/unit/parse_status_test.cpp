// ParseStatus over status files of this kernel (captured), of older kernels (written after their
// fs/proc/array.c) and over damaged text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "procfs/parse.hpp"

namespace pidscope::procfs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string ReadProcfsData(const std::string& relative) {
  std::ifstream in(std::string(PIDSCOPE_TEST_DATA) + "/procfs/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "missing test data " << relative;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ParseStatus, CapturedRootShellOfThisKernel) {
  StatusFields s = ParseStatus(ReadProcfsData("linux-6.18/self/status"));
  EXPECT_GT(s.pid, 0);
  EXPECT_EQ(s.tgid, s.pid);
  EXPECT_GT(s.ppid, 0);
  EXPECT_EQ(s.tracer_pid, 0);
  ASSERT_TRUE(s.has_ids);
  EXPECT_THAT(s.uid, ElementsAre(0u, 0u, 0u, 0u));
  EXPECT_THAT(s.gid, ElementsAre(0u, 0u, 0u, 0u));
  EXPECT_THAT(s.groups, IsEmpty());  // "Groups:\t " with nothing but a space
  ASSERT_TRUE(s.has_ns_pids);
  EXPECT_THAT(s.ns_pid, ElementsAre(s.pid));
  EXPECT_THAT(s.ns_tgid, ElementsAre(s.tgid));
  EXPECT_EQ(s.ns_pgid.size(), 1u);
  EXPECT_EQ(s.ns_sid.size(), 1u);
  EXPECT_EQ(s.threads, 1);
  ASSERT_TRUE(s.has_caps);
  EXPECT_EQ(s.cap_effective, 0x000001fffeffffffu);
  EXPECT_EQ(s.cap_permitted, 0x000001fffeffffffu);
  EXPECT_EQ(s.cap_bounding, 0x000001fffeffffffu);
  EXPECT_EQ(s.cap_inheritable, 0u);
  EXPECT_EQ(s.cap_ambient, 0u);
  EXPECT_EQ(s.sig_blocked, 0x10000u);  // bash blocks SIGCHLD while it waits
  EXPECT_EQ(s.no_new_privs, 0);
  EXPECT_EQ(s.seccomp, 0);
  ASSERT_TRUE(s.kthread.has_value());
  EXPECT_FALSE(*s.kthread);
}

TEST(ParseStatus, KernelThreadSaysSoOnNewKernels) {
  StatusFields s = ParseStatus(ReadProcfsData("linux-6.18/kthreadd/status"));
  EXPECT_EQ(s.pid, 2);
  EXPECT_EQ(s.ppid, 0);
  ASSERT_TRUE(s.kthread.has_value());
  EXPECT_TRUE(*s.kthread);
  StatusFields worker = ParseStatus(ReadProcfsData("linux-6.18/kworker/status"));
  EXPECT_EQ(worker.ppid, 2);
  ASSERT_TRUE(worker.kthread.has_value());
  EXPECT_TRUE(*worker.kthread);
  EXPECT_THAT(worker.ns_pgid, ElementsAre(0));
}

TEST(ParseStatus, ZombieWithoutMemoryLines) {
  std::string text = ReadProcfsData("linux-6.18/zombie/status");
  ASSERT_EQ(text.find("VmRSS"), std::string::npos) << "not a zombie's status";
  StatusFields s = ParseStatus(text);
  EXPECT_GT(s.pid, 0);
  EXPECT_TRUE(s.has_ids);
  EXPECT_TRUE(s.has_caps);
  EXPECT_EQ(s.threads, 1);
  EXPECT_THAT(s.ns_pid, ElementsAre(s.pid));
}

TEST(ParseStatus, HostileNameLineIsIgnored) {
  // The kernel escapes the newline of "a) Z 1 (b\n)c" in Name:, so it stays one line.
  StatusFields s = ParseStatus(ReadProcfsData("linux-6.18/hostile-comm/status"));
  EXPECT_GT(s.pid, 0);
  EXPECT_TRUE(s.has_ids);
  EXPECT_THAT(s.ns_pid, ElementsAre(s.pid));
}

TEST(ParseStatus, NameThatLooksLikeAnotherFieldIsIgnored) {
  StatusFields s = ParseStatus(
      "Name:\tPid:\t1\n"
      "Pid:\t4242\n"
      "Name:\tUid:\t7\t7\t7\t7\n"
      "Uid:\t1000\t1001\t1002\t1003\n"
      "Gid:\t100\t101\t102\t103\n");
  EXPECT_EQ(s.pid, 4242);
  EXPECT_THAT(s.uid, ElementsAre(1000u, 1001u, 1002u, 1003u));
  EXPECT_THAT(s.gid, ElementsAre(100u, 101u, 102u, 103u));
}

TEST(ParseStatus, NestedPidNamespaceHasThreeLevels) {
  // Captured: `unshare --pid --fork --mount-proc` twice nested, then `sh -c 'sleep & sleep'`.
  StatusFields init = ParseStatus(ReadProcfsData("linux-6.18/nested-pidns-init/status"));
  ASSERT_TRUE(init.has_ns_pids);
  ASSERT_EQ(init.ns_pid.size(), 3u);
  EXPECT_EQ(init.ns_pid[0], init.pid);  // outermost first
  EXPECT_EQ(init.ns_pid[1], 2);
  EXPECT_EQ(init.ns_pid[2], 1);  // PID 1 of the innermost namespace
  EXPECT_EQ(init.ns_tgid, init.ns_pid);
  // Its process group and session were made outside: invisible (0) in the inner namespaces.
  ASSERT_EQ(init.ns_pgid.size(), 3u);
  EXPECT_GT(init.ns_pgid[0], 0);
  EXPECT_EQ(init.ns_pgid[1], 0);
  EXPECT_EQ(init.ns_pgid[2], 0);
  ASSERT_EQ(init.ns_sid.size(), 3u);
  EXPECT_EQ(init.ns_sid[2], 0);

  StatusFields child = ParseStatus(ReadProcfsData("linux-6.18/nested-pidns-child/status"));
  ASSERT_EQ(child.ns_pid.size(), 3u);
  EXPECT_EQ(child.ns_pid[0], child.pid);
  EXPECT_EQ(child.ns_pid[1], 3);
  EXPECT_EQ(child.ns_pid[2], 2);
  EXPECT_EQ(child.ppid, init.pid);
}

TEST(ParseStatus, Linux3_10HasNoNamespacePidsAmbientCapsOrKthread) {
  StatusFields s = ParseStatus(ReadProcfsData("synthetic/status-3.10"));
  EXPECT_EQ(s.pid, 2817);
  EXPECT_EQ(s.tgid, 2817);
  EXPECT_EQ(s.ppid, 2816);
  ASSERT_TRUE(s.has_ids);
  EXPECT_THAT(s.uid, ElementsAre(1000u, 1000u, 1000u, 1000u));
  EXPECT_THAT(s.groups, ElementsAre(10u, 1000u));  // "10 1000 " with its trailing space
  EXPECT_FALSE(s.has_ns_pids);
  EXPECT_THAT(s.ns_pid, IsEmpty());
  EXPECT_THAT(s.ns_tgid, IsEmpty());
  EXPECT_THAT(s.ns_pgid, IsEmpty());
  EXPECT_THAT(s.ns_sid, IsEmpty());
  EXPECT_FALSE(s.kthread.has_value());
  ASSERT_TRUE(s.has_caps);
  EXPECT_EQ(s.cap_bounding, 0x0000001fffffffffu);
  EXPECT_EQ(s.cap_ambient, 0u);
  EXPECT_EQ(s.no_new_privs, 0);
  EXPECT_EQ(s.sig_blocked, 0x10000u);
  EXPECT_EQ(s.sig_ignored, 0x380004u);
  EXPECT_EQ(s.sig_caught, 0x4b817efbu);
  EXPECT_EQ(s.threads, 1);
}

TEST(ParseStatus, Linux4_19ContainerProcessWithAmbientCaps) {
  StatusFields s = ParseStatus(ReadProcfsData("synthetic/status-4.19"));
  EXPECT_EQ(s.pid, 4242);
  ASSERT_TRUE(s.has_ns_pids);
  EXPECT_THAT(s.ns_pid, ElementsAre(4242, 7));
  EXPECT_THAT(s.ns_tgid, ElementsAre(4242, 7));
  EXPECT_THAT(s.ns_pgid, ElementsAre(4217, 1));
  EXPECT_THAT(s.ns_sid, ElementsAre(4217, 1));
  EXPECT_THAT(s.uid, ElementsAre(101u, 101u, 101u, 101u));
  EXPECT_THAT(s.groups, ElementsAre(101u));
  EXPECT_EQ(s.cap_ambient, uint64_t{1} << 10);  // CAP_NET_BIND_SERVICE
  EXPECT_EQ(s.cap_effective, uint64_t{1} << 10);
  EXPECT_EQ(s.cap_inheritable, 0xa80425fbu);
  EXPECT_EQ(s.seccomp, 2);
  EXPECT_FALSE(s.kthread.has_value());
}

TEST(ParseStatus, Linux5_10HostDaemon) {
  StatusFields s = ParseStatus(ReadProcfsData("synthetic/status-5.10"));
  EXPECT_EQ(s.pid, 1873);
  EXPECT_EQ(s.ppid, 1);
  EXPECT_EQ(s.threads, 10);
  EXPECT_THAT(s.groups, IsEmpty());
  EXPECT_THAT(s.ns_pid, ElementsAre(1873));
  EXPECT_EQ(s.no_new_privs, 1);
  EXPECT_EQ(s.seccomp, 2);  // not confused with "Seccomp_filters:\t1"
  EXPECT_EQ(s.sig_caught, 0xfffffffd7fc1feffu);
  EXPECT_EQ(s.cap_effective, 0x000001ffffffffffu);
  EXPECT_FALSE(s.kthread.has_value());
}

TEST(ParseStatus, EmptyTextLeavesDefaults) {
  StatusFields s = ParseStatus("");
  EXPECT_EQ(s.pid, 0);
  EXPECT_FALSE(s.has_ids);
  EXPECT_FALSE(s.has_ns_pids);
  EXPECT_FALSE(s.has_caps);
  EXPECT_FALSE(s.kthread.has_value());
}

TEST(ParseStatus, TruncatedIdLineDoesNotClaimIds) {
  EXPECT_FALSE(ParseStatus("Uid:\t1000\t1000").has_ids);
  EXPECT_FALSE(ParseStatus("Uid:\t1000\t1000\t1000\t1000\nGid:\t5\t5").has_ids);
  EXPECT_FALSE(ParseStatus("Gid:\t5\t5\t5\t5\nUid:\tx\t5\t5\t5\n").has_ids);
  EXPECT_TRUE(ParseStatus("Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8").has_ids);
}

TEST(ParseStatus, GarbledValuesKeepDefaults) {
  StatusFields s = ParseStatus(
      "Pid:\tabc\n"
      "PPid:\t-\n"
      "Threads:\t99999999999\n"
      "CapEff:\tzzzzzzzzzzzzzzzz\n"
      "CapPrm:\t0x1f\n"
      "SigBlk:\t10000000000000000\n"  // 17 hex digits: more than 64 bits
      "NSpid:\n");
  EXPECT_EQ(s.pid, 0);
  EXPECT_EQ(s.ppid, 0);
  EXPECT_EQ(s.threads, 0);
  EXPECT_EQ(s.cap_effective, 0u);
  EXPECT_EQ(s.cap_permitted, 0u);
  EXPECT_FALSE(s.has_caps);
  EXPECT_EQ(s.sig_blocked, 0u);
  EXPECT_FALSE(s.has_ns_pids);
}

TEST(ParseStatus, NamespacePidListStopsAtGarbage) {
  StatusFields s = ParseStatus("NSpid:\t100\t5\tx\t1\n");
  EXPECT_THAT(s.ns_pid, ElementsAre(100, 5));
}

TEST(ParseStatus, LinesWithoutColonOrValueAreSkipped) {
  StatusFields s = ParseStatus("garbage\n\n:\nPid\t9\nPid:\nPid:\t12\n");
  EXPECT_EQ(s.pid, 12);
}

TEST(ParseStatus, KeysAreExact) {
  StatusFields s = ParseStatus("Pidx:\t7\nTgids:\t8\nNSpids:\t9\nKthreads:\t1\n");
  EXPECT_EQ(s.pid, 0);
  EXPECT_EQ(s.tgid, 0);
  EXPECT_FALSE(s.has_ns_pids);
  EXPECT_FALSE(s.kthread.has_value());
}

TEST(ParseHexMask, SixteenDigitsAndNothingElse) {
  EXPECT_EQ(ParseHexMask("000001fffeffffff"), 0x000001fffeffffffu);
  EXPECT_EQ(ParseHexMask("ffffffffffffffff"), 0xffffffffffffffffu);
  EXPECT_EQ(ParseHexMask("0"), 0u);
  EXPECT_FALSE(ParseHexMask("").has_value());
  EXPECT_FALSE(ParseHexMask("10000000000000000").has_value());
  EXPECT_FALSE(ParseHexMask("0x1f").has_value());
  EXPECT_FALSE(ParseHexMask("1f ").has_value());
  EXPECT_FALSE(ParseHexMask("-1").has_value());
}

}  // namespace
}  // namespace pidscope::procfs
