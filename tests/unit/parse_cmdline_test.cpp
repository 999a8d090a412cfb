// ParseCmdline and SplitArgs over captured command lines (one with quotes, invalid UTF-8, control
// characters and a 100 KB argument) and the bound on what is kept, also through ProcReader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "procfs/parse.hpp"
#include "procfs/reader.hpp"

namespace pidscope::procfs {
namespace {

using namespace std::string_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string ReadProcfsData(const std::string& relative) {
  std::ifstream in(std::string(PIDSCOPE_TEST_DATA) + "/procfs/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "missing test data " << relative;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ParseCmdline, CapturedShellScript) {
  Args args = ParseCmdline(ReadProcfsData("linux-6.18/self/cmdline"), 32 * 1024);
  EXPECT_FALSE(args.truncated);
  EXPECT_EQ(args.count, 2u);
  auto split = SplitArgs(args.raw, args.count);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0], "/bin/bash");
  EXPECT_TRUE(split[1].ends_with("capture.sh")) << split[1];
  EXPECT_EQ(args.raw.back(), 'h');  // the final NUL is not kept
}

TEST(ParseCmdline, HostileArgumentsAreKeptByteForByte) {
  std::string text = ReadProcfsData("linux-6.18/hostile-args/cmdline");
  Args args = ParseCmdline(text, 1 << 20);
  EXPECT_FALSE(args.truncated);
  EXPECT_EQ(args.raw.size(), text.size() - 1);
  EXPECT_EQ(args.count, 15u);
  auto split = SplitArgs(args.raw, args.count);
  ASSERT_EQ(split.size(), 15u);
  EXPECT_EQ(split[0], "sh");
  EXPECT_EQ(split[1], "-c");
  EXPECT_EQ(split[2], "sleep 30; :");
  EXPECT_EQ(split[3], "sh");
  EXPECT_EQ(split[4], "say \"hi\"");
  EXPECT_EQ(split[5], "back\\slash");
  EXPECT_EQ(split[6], "\xff\xfe");
  EXPECT_EQ(split[7], "trunc\xe2\x82");
  EXPECT_EQ(split[8], "tab\there");
  EXPECT_EQ(split[9], "new\nline");
  EXPECT_EQ(split[10], "esc\x1b[31mred");
  EXPECT_EQ(split[11], "\x01\x7f");
  EXPECT_EQ(split[12], "");
  EXPECT_EQ(split[13], std::string(102400, 'a'));
  EXPECT_EQ(split[14], "last");
}

TEST(ParseCmdline, HugeArgumentBeyondTheBoundIsDroppedWhole) {
  // 32 KiB, the reader's default: everything before the 100 KB argument fits.
  std::string text = ReadProcfsData("linux-6.18/hostile-args/cmdline");
  Args args = ParseCmdline(text, 32 * 1024);
  EXPECT_TRUE(args.truncated);
  EXPECT_LE(args.raw.size(), 32u * 1024);
  auto split = SplitArgs(args.raw, args.count);
  ASSERT_EQ(split.size(), 13u);
  EXPECT_EQ(args.count, 13u);
  EXPECT_EQ(split[11], "\x01\x7f");
  EXPECT_EQ(split[12], "");
  EXPECT_TRUE(text.starts_with(args.raw));
}

TEST(ParseCmdline, KernelThreadAndZombieHaveNoArguments) {
  for (const char* file : {"linux-6.18/kthreadd/cmdline", "linux-6.18/zombie/cmdline"}) {
    Args args = ParseCmdline(ReadProcfsData(file), 4096);
    EXPECT_EQ(args.count, 0u) << file;
    EXPECT_THAT(args.raw, IsEmpty()) << file;
    EXPECT_FALSE(args.truncated) << file;
    EXPECT_THAT(SplitArgs(args.raw, args.count), IsEmpty()) << file;
  }
}

TEST(ParseCmdline, RewrittenArgvWithoutFinalNul) {
  // setproctitle(): one string with spaces, no NUL at all.
  Args args = ParseCmdline("nginx: worker process", 4096);
  EXPECT_EQ(args.count, 1u);
  EXPECT_EQ(args.raw, "nginx: worker process");
  EXPECT_FALSE(args.truncated);
}

TEST(ParseCmdline, EmptyArgumentsInTheMiddleAreCounted) {
  Args args = ParseCmdline("a\0\0b\0"s, 4096);
  EXPECT_EQ(args.count, 3u);
  EXPECT_THAT(SplitArgs(args.raw, args.count), ElementsAre("a", "", "b"));
}

TEST(ParseCmdline, ExactlyAtTheBoundIsNotTruncated) {
  Args args = ParseCmdline("abc\0defg\0"s, 8);  // 8 bytes without the final NUL
  EXPECT_FALSE(args.truncated);
  EXPECT_EQ(args.raw, "abc\0defg"s);
  EXPECT_EQ(args.count, 2u);
}

TEST(ParseCmdline, OneByteOverTheBoundCutsAtTheLastArgumentBoundary) {
  Args args = ParseCmdline("abc\0defgh\0"s, 8);
  EXPECT_TRUE(args.truncated);
  EXPECT_EQ(args.raw, "abc");
  EXPECT_EQ(args.count, 1u);
}

TEST(ParseCmdline, KeepsAnArgumentThatEndsExactlyAtTheBound) {
  // "ab\0cd" is 5 bytes and made of whole arguments: nothing of it needs to go.
  Args args = ParseCmdline("ab\0cd\0ef\0"s, 5);
  EXPECT_TRUE(args.truncated);
  EXPECT_EQ(args.raw, "ab\0cd"s);
  EXPECT_EQ(args.count, 2u);
}

TEST(ParseCmdline, SingleHugeArgumentIsCutInside) {
  Args args = ParseCmdline(std::string(100, 'x') + '\0', 10);
  EXPECT_TRUE(args.truncated);
  EXPECT_EQ(args.raw, std::string(10, 'x'));
  EXPECT_EQ(args.count, 1u);
}

TEST(ParseCmdline, OutputNeverExceedsTheBound) {
  std::string text = ReadProcfsData("linux-6.18/hostile-args/cmdline");
  for (size_t bound : {0, 1, 2, 3, 5, 17, 64, 100, 4096, 102400, 102491, 102492, 200000}) {
    Args args = ParseCmdline(text, bound);
    EXPECT_LE(args.raw.size(), bound) << "bound " << bound;
    EXPECT_TRUE(text.starts_with(args.raw)) << "bound " << bound;
    EXPECT_EQ(args.truncated, text.size() - 1 > bound) << "bound " << bound;
    EXPECT_EQ(args.count, SplitArgs(args.raw, args.count).size()) << "bound " << bound;
  }
}

TEST(ParseCmdline, ZeroBoundKeepsNothing) {
  Args args = ParseCmdline("ls\0-l\0"s, 0);
  EXPECT_TRUE(args.truncated);
  EXPECT_THAT(args.raw, IsEmpty());
  EXPECT_EQ(args.count, 0u);
}

TEST(SplitArgs, SplitsOnEveryNul) {
  EXPECT_THAT(SplitArgs(""), IsEmpty());
  EXPECT_THAT(SplitArgs("a"), ElementsAre("a"));
  EXPECT_THAT(SplitArgs("a\0b"s), ElementsAre("a", "b"));
  EXPECT_THAT(SplitArgs("\0"s), ElementsAre("", ""));
  EXPECT_THAT(SplitArgs("a\0"s), ElementsAre("a", ""));
}

// ProcReader reads one byte past the bound to tell a cut command line from one that fits. These
// run it over a fake /proc with only the files of one process.
class ReadCmdline : public ::testing::Test {
 protected:
  static constexpr int32_t kPid = 4242;

  void SetUp() override {
    char tmpl[] = "/tmp/pidscope-fake-proc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directory(root_ / std::to_string(kPid));
    Write("stat",
          "4242 (fake) S 1 4242 4242 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0 "
          "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    Write("status", "Pid:\t4242\nThreads:\t1\n");
    Write("cgroup", "0::/\n");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const char* name, std::string_view content) {
    std::ofstream out(root_ / std::to_string(kPid) / name, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }

  std::optional<Process> Read(size_t max_args_bytes) {
    auto reader = ProcReader::Open(root_.string(), ReadOptions{max_args_bytes});
    EXPECT_TRUE(reader.ok());
    if (!reader.ok()) return std::nullopt;
    return reader->Read(kPid);
  }

  std::filesystem::path root_;
};

TEST_F(ReadCmdline, FitsExactly) {
  Write("cmdline", "0123456789abcdef\0"s);
  auto p = Read(16);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->args, "0123456789abcdef");
  EXPECT_EQ(p->args_count, 1u);
  EXPECT_FALSE(p->args_truncated);
}

TEST_F(ReadCmdline, LongerThanTheBoundIsMarkedTruncated) {
  Write("cmdline", "ls\0-l\0/very/long/path\0"s);
  auto p = Read(8);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->args, "ls\0-l"s);
  EXPECT_EQ(p->args_count, 2u);
  EXPECT_TRUE(p->args_truncated);
}

TEST_F(ReadCmdline, ArgumentBoundaryRightAfterTheBoundIsStillTruncated) {
  // The byte read past the bound is the NUL between two arguments, not the final one.
  Write("cmdline", "0123456789abcdef\0tail\0"s);
  auto p = Read(16);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->args, "0123456789abcdef");
  EXPECT_TRUE(p->args_truncated) << "the argument \"tail\" was dropped";
}

}  // namespace
}  // namespace pidscope::procfs

namespace pidscope::procfs {
namespace {

TEST(ParseCmdline, LoneNulIsOneEmptyArgument) {
  Args args = ParseCmdline(std::string_view("\0", 1), 100);
  EXPECT_EQ(args.count, 1u);
  EXPECT_EQ(args.raw, "");
  auto split = SplitArgs(args.raw, args.count);
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0], "");
  EXPECT_EQ(ParseCmdline("", 100).count, 0u);
}

}  // namespace
}  // namespace pidscope::procfs
