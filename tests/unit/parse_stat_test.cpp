// ParseStat over captured /proc/<pid>/stat files (tests/data/procfs, see capture.sh there) and
// over hostile or damaged text: a comm with ')' and newlines, truncated and garbled files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "procfs/parse.hpp"

namespace pidscope::procfs {
namespace {

constexpr uint32_t kPfKthread = 0x00200000;

std::string ReadProcfsData(const std::string& relative) {
  std::ifstream in(std::string(PIDSCOPE_TEST_DATA) + "/procfs/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "missing test data " << relative;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A complete stat line of Linux 6.x (52 fields) whose comm is `comm`.
std::string StatLine(const std::string& comm) {
  return "4242 (" + comm +
         ") S 4200 4100 4000 34819 4100 4194560 120 0 0 0 7 3 0 0 20 0 2 0 123456 "
         "8785920 812 18446744073709551615 1 1 0 0 0 0 0 4 65538 0 0 0 17 1 0 0 0 0 0 "
         "1 1 1 1 1 1 1 256\n";
}

TEST(ParseStat, CapturedShellOfThisKernel) {
  std::string text = ReadProcfsData("linux-6.18/self/stat");
  auto stat = ParseStat(text);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "capture.sh");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->num_threads, 1);
  EXPECT_EQ(stat->flags & kPfKthread, 0u);
  EXPECT_GT(stat->start_ticks, 0u);
  EXPECT_GT(stat->vsize_bytes, 0u);
  EXPECT_GT(stat->rss_pages, 0);
  EXPECT_EQ(stat->exit_signal, 17);  // SIGCHLD
  EXPECT_EQ(stat->exit_code, 0);
  // The same process's status file must agree on the identities.
  StatusFields status = ParseStatus(ReadProcfsData("linux-6.18/self/status"));
  EXPECT_EQ(stat->pid, status.pid);
  EXPECT_EQ(stat->ppid, status.ppid);
  ASSERT_EQ(status.ns_pgid.size(), 1u);
  EXPECT_EQ(stat->pgrp, status.ns_pgid[0]);
  EXPECT_EQ(stat->session, status.ns_sid[0]);
}

TEST(ParseStat, LiveSelfMatchesSystemCalls) {
  std::ifstream in("/proc/self/stat", std::ios::binary);
  std::string text(std::istreambuf_iterator<char>(in), {});
  auto stat = ParseStat(text);
  ASSERT_TRUE(stat.has_value()) << text;
  EXPECT_EQ(stat->pid, getpid());
  EXPECT_EQ(stat->ppid, getppid());
  EXPECT_EQ(stat->pgrp, getpgrp());
  EXPECT_EQ(stat->session, getsid(0));
  EXPECT_EQ(stat->state, 'R');  // it is reading its own stat
  EXPECT_GE(stat->num_threads, 1);
}

TEST(ParseStat, CommWithParenthesisAndNewline) {
  // Captured: a process that wrote "a) Z 1 (b\n)c" to its own /proc/self/comm.
  auto stat = ParseStat(ReadProcfsData("linux-6.18/hostile-comm/stat"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "a) Z 1 (b\n)c");
  EXPECT_EQ(stat->state, 'S');  // not the 'Z' forged inside the comm
  StatusFields status = ParseStatus(ReadProcfsData("linux-6.18/hostile-comm/status"));
  EXPECT_EQ(stat->pid, status.pid);
  EXPECT_EQ(stat->ppid, status.ppid);  // not the "1" forged inside the comm
  EXPECT_GT(stat->start_ticks, 0u);
}

TEST(ParseStat, CommThatForgesAWholeStatLine) {
  // Only the last ')' ends the comm, whatever the comm pretends to be.
  auto stat = ParseStat(StatLine("x) R 1 1 1 0 1 0 0 0 0 0 0 0 0 0 0 0 1 0 99 1 1 (y"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "x) R 1 1 1 0 1 0 0 0 0 0 0 0 0 0 0 0 1 0 99 1 1 (y");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 4200);
  EXPECT_EQ(stat->start_ticks, 123456u);
}

TEST(ParseStat, CommWithSpacesTabsAndParentheses) {
  for (std::string comm : {"", ")", "(", "()", " ", "a b", "\t(x)\t", ") (", "\n\n", "))))"}) {
    auto stat = ParseStat(StatLine(comm));
    ASSERT_TRUE(stat.has_value()) << "comm [" << comm << "]";
    EXPECT_EQ(stat->comm, comm);
    EXPECT_EQ(stat->pid, 4242);
    EXPECT_EQ(stat->state, 'S');
    EXPECT_EQ(stat->num_threads, 2);
  }
}

TEST(ParseStat, CommWithInvalidUtf8IsKeptAsBytes) {
  auto stat = ParseStat(StatLine("\xff\xfe\xe2\x82"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "\xff\xfe\xe2\x82");
}

TEST(ParseStat, EveryFieldWeUseLandsInItsMember) {
  auto stat = ParseStat(StatLine("worker"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->pid, 4242);
  EXPECT_EQ(stat->comm, "worker");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 4200);
  EXPECT_EQ(stat->pgrp, 4100);
  EXPECT_EQ(stat->session, 4000);
  EXPECT_EQ(stat->tty_nr, 34819u);  // pts/3
  EXPECT_EQ(stat->tpgid, 4100);
  EXPECT_EQ(stat->flags, 4194560u);
  EXPECT_EQ(stat->utime_ticks, 7u);
  EXPECT_EQ(stat->stime_ticks, 3u);
  EXPECT_EQ(stat->num_threads, 2);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->vsize_bytes, 8785920u);
  EXPECT_EQ(stat->rss_pages, 812);
  EXPECT_EQ(stat->exit_signal, 17);
  EXPECT_EQ(stat->exit_code, 256);
}

TEST(ParseStat, KernelThreadHasKthreadFlagAndNoParent) {
  auto stat = ParseStat(ReadProcfsData("linux-6.18/kthreadd/stat"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->pid, 2);
  EXPECT_EQ(stat->comm, "kthreadd");
  EXPECT_EQ(stat->ppid, 0);
  EXPECT_EQ(stat->tty_nr, 0u);
  EXPECT_EQ(stat->tpgid, -1);
  EXPECT_NE(stat->flags & kPfKthread, 0u);
  EXPECT_EQ(stat->vsize_bytes, 0u);
}

TEST(ParseStat, KworkerCommLongerThanTaskCommLen) {
  // Workqueue workers show "kworker/<cpu>:<id><flags>-<workqueue>", beyond 15 bytes.
  auto stat = ParseStat(ReadProcfsData("linux-6.18/kworker/stat"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_TRUE(stat->comm.starts_with("kworker/")) << stat->comm;
  EXPECT_EQ(stat->ppid, 2);
  EXPECT_NE(stat->flags & kPfKthread, 0u);
}

TEST(ParseStat, ZombieKeepsItsExitCode) {
  // Captured: a child that ran `exit 3` and was never reaped.
  auto stat = ParseStat(ReadProcfsData("linux-6.18/zombie/stat"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->state, 'Z');
  EXPECT_EQ(stat->exit_code, 3 << 8);  // waitpid-style: WEXITSTATUS == 3
  EXPECT_EQ(stat->vsize_bytes, 0u);
  EXPECT_EQ(stat->rss_pages, 0);
  EXPECT_EQ(stat->num_threads, 1);
  EXPECT_GT(stat->start_ticks, 0u);
}

TEST(ParseStat, NestedNamespaceProcessShowsHostPids) {
  auto init = ParseStat(ReadProcfsData("linux-6.18/nested-pidns-init/stat"));
  auto child = ParseStat(ReadProcfsData("linux-6.18/nested-pidns-child/stat"));
  ASSERT_TRUE(init.has_value());
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->ppid, init->pid);  // stat speaks in the reader's namespace: host PIDs
  StatusFields status = ParseStatus(ReadProcfsData("linux-6.18/nested-pidns-child/status"));
  ASSERT_FALSE(status.ns_pid.empty());
  EXPECT_EQ(child->pid, status.ns_pid.front());
}

TEST(ParseStat, OldKernelWithoutTrailingFields) {
  // Linux 2.6.32 prints 44 fields: no exit_code (field 52).
  auto stat = ParseStat(ReadProcfsData("synthetic/stat-2.6.32"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->pid, 1432);
  EXPECT_EQ(stat->comm, "sshd");
  EXPECT_EQ(stat->start_ticks, 1187u);
  EXPECT_EQ(stat->vsize_bytes, 66613248u);
  EXPECT_EQ(stat->rss_pages, 298);
  EXPECT_EQ(stat->exit_signal, 17);
  EXPECT_EQ(stat->exit_code, 0);
}

TEST(ParseStat, WithoutTrailingNewline) {
  std::string text = StatLine("x");
  text.pop_back();
  auto stat = ParseStat(text);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->exit_code, 256);
}

TEST(ParseStat, EndingRightAfterStartTimeIsEnough) {
  auto stat = ParseStat("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555");
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->start_ticks, 555u);
  EXPECT_EQ(stat->vsize_bytes, 0u);
}

TEST(ParseStat, TruncatedBeforeStartTimeIsRejected) {
  std::string full = StatLine("x");
  // Cut after field 21 (itrealvalue): no start time, no identity.
  EXPECT_FALSE(ParseStat("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0").has_value());
  EXPECT_FALSE(ParseStat("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n").has_value());
  // Every shorter prefix that still holds the ')' is rejected as well.
  size_t close = full.rfind(')');
  size_t start_field_end = full.find(" 8785920");
  for (size_t len = close + 1; len < start_field_end - 6; ++len) {
    EXPECT_FALSE(ParseStat(full.substr(0, len)).has_value()) << full.substr(0, len);
  }
}

TEST(ParseStat, CutInsideStartTimeKeepsTheDigitsRead) {
  // A read cut mid-number cannot be told from a shorter number: this documents what we get.
  auto stat = ParseStat("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12");
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->start_ticks, 12u);
}

TEST(ParseStat, MalformedTextIsRejected) {
  EXPECT_FALSE(ParseStat("").has_value());
  EXPECT_FALSE(ParseStat("\n").has_value());
  EXPECT_FALSE(ParseStat("4242 worker S 1").has_value());             // no parentheses
  EXPECT_FALSE(ParseStat("4242 (worker S 1 2 3").has_value());        // no ')'
  EXPECT_FALSE(ParseStat("4242 )x( S 1 2 3").has_value());            // ')' before '('
  EXPECT_FALSE(ParseStat("(worker) S 1 1 1 0 -1 0").has_value());     // no pid
  EXPECT_FALSE(ParseStat("-- (worker) S 1 1 1 0 -1 0").has_value());  // pid not a number
  EXPECT_FALSE(ParseStat("99999999999 " + StatLine("x").substr(5)).has_value());  // pid overflows
  EXPECT_FALSE(ParseStat(StatLine("x").replace(9, 1, "SS")).has_value());  // state of 2 chars
  EXPECT_FALSE(ParseStat("4242 (x) ").has_value());                        // nothing after comm
}

TEST(ParseStat, GarbledCoreFieldIsRejected) {
  std::string text = StatLine("x");
  // ppid, pgrp, session, start time: fields a record cannot do without.
  for (const char* core : {" 4200 ", " 4100 ", " 4000 ", " 123456 "}) {
    std::string bad = text;
    size_t at = bad.find(core);
    ASSERT_NE(at, std::string::npos);
    bad.replace(at + 1, 1, "z");
    EXPECT_FALSE(ParseStat(bad).has_value()) << bad;
  }
}

TEST(ParseStat, NegativeTtyKeepsTheBitPattern) {
  // tty_nr is printed with %d: a device number with bit 31 set shows negative.
  std::string text = StatLine("x");
  text.replace(text.find(" 34819 "), 7, " -2147448829 ");
  auto stat = ParseStat(text);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tty_nr, 0x80008803u);
}

}  // namespace
}  // namespace pidscope::procfs
