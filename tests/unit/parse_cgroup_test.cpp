// ParseCgroup over the hybrid (v1 + v2) layout of this machine, a v2-only host and a v1 host with
// a named hierarchy and ':' in a path; ParseNsLink over the namespace links of this machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>

#include "procfs/parse.hpp"

namespace pidscope::procfs {
namespace {

using ::testing::IsEmpty;

std::string ReadProcfsData(const std::string& relative) {
  std::ifstream in(std::string(PIDSCOPE_TEST_DATA) + "/procfs/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "missing test data " << relative;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ParseCgroup, HybridLayoutOfThisMachine) {
  auto entries = ParseCgroup(ReadProcfsData("linux-6.18/self/cgroup"));
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[0].hierarchy_id, 9u);
  EXPECT_EQ(entries[0].controllers, "name=systemd");
  EXPECT_EQ(entries[0].path, "/");
  EXPECT_EQ(entries[4].hierarchy_id, 5u);
  EXPECT_EQ(entries[4].controllers, "devices");
  EXPECT_EQ(entries[5].controllers, "memory");
  EXPECT_TRUE(entries[5].path.starts_with("/")) << entries[5].path;
  // The unified hierarchy comes last: id 0, no controllers.
  EXPECT_EQ(entries[9].hierarchy_id, 0u);
  EXPECT_THAT(entries[9].controllers, IsEmpty());
  EXPECT_EQ(entries[9].path, "/");
}

TEST(ParseCgroup, UnifiedOnlyHost) {
  auto entries = ParseCgroup(ReadProcfsData("synthetic/cgroup-v2-only"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].hierarchy_id, 0u);
  EXPECT_THAT(entries[0].controllers, IsEmpty());
  EXPECT_EQ(entries[0].path, "/system.slice/foo.service");
}

TEST(ParseCgroup, NamedHierarchyAndColonsInPath) {
  auto entries = ParseCgroup(ReadProcfsData("synthetic/cgroup-v1-named-colon"));
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[1].hierarchy_id, 11u);
  EXPECT_EQ(entries[1].controllers, "cpu,cpuacct");
  EXPECT_EQ(entries[1].path, "/docker/3f2a9c0e1b7d");
  EXPECT_EQ(entries[3].controllers, "net_cls,net_prio");
  EXPECT_EQ(entries[4].hierarchy_id, 1u);
  EXPECT_EQ(entries[4].controllers, "name=systemd");
  EXPECT_EQ(entries[4].path, "/system.slice/docker-3f2a9c0e1b7d.scope/sub:dir:with:colons");
}

TEST(ParseCgroup, ZombieAndKernelThreadFilesParse) {
  for (const char* file : {"linux-6.18/zombie/cgroup", "linux-6.18/kthreadd/cgroup"}) {
    auto entries = ParseCgroup(ReadProcfsData(file));
    ASSERT_FALSE(entries.empty()) << file;
    EXPECT_EQ(entries.back().hierarchy_id, 0u) << file;
  }
}

TEST(ParseCgroup, MalformedLinesAreSkippedAndTheRestKept) {
  auto entries = ParseCgroup(
      "garbage\n"
      "x:cpu:/a\n"   // hierarchy id not a number
      "5:cpu\n"      // one colon only
      ":cpu:/b\n"    // empty id
      "-1:cpu:/c\n"  // negative id
      "\n"
      "3:cpuset:/ok\n"
      "0::/last");  // no final newline
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].hierarchy_id, 3u);
  EXPECT_EQ(entries[0].path, "/ok");
  EXPECT_EQ(entries[1].hierarchy_id, 0u);
  EXPECT_EQ(entries[1].path, "/last");
}

TEST(ParseCgroup, EmptyPathAndEmptyFile) {
  EXPECT_THAT(ParseCgroup(""), IsEmpty());
  EXPECT_THAT(ParseCgroup("\n\n"), IsEmpty());
  auto entries = ParseCgroup("0::\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_THAT(entries[0].path, IsEmpty());
}

TEST(ParseCgroup, PathWithSpacesAndBytesIsKeptVerbatim) {
  auto entries = ParseCgroup("0::/user.slice/a b\t\xff\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/user.slice/a b\t\xff");
}

TEST(ParseNsLink, EveryNamespaceLinkOfThisMachine) {
  std::istringstream links(ReadProcfsData("linux-6.18/ns_links"));
  int count = 0;
  for (std::string link; std::getline(links, link); ++count) {
    auto inode = ParseNsLink(link);
    ASSERT_TRUE(inode.has_value()) << link;
    EXPECT_EQ(link.substr(link.find('[') + 1, link.size() - link.find('[') - 2),
              std::to_string(*inode));
  }
  EXPECT_EQ(count, 8);
}

TEST(ParseNsLink, MatchesTheInodeOfTheLiveLink) {
  struct stat st {};
  ASSERT_EQ(stat("/proc/self/ns/pid", &st), 0);
  char target[64] = {};
  ASSERT_GT(readlink("/proc/self/ns/pid", target, sizeof target - 1), 0);
  EXPECT_EQ(ParseNsLink(target), uint64_t{st.st_ino});
}

TEST(ParseNsLink, KnownValuesAndLimits) {
  EXPECT_EQ(ParseNsLink("pid:[4026531836]"), 4026531836u);
  EXPECT_EQ(ParseNsLink("cgroup:[1]"), 1u);
  EXPECT_EQ(ParseNsLink("x:[18446744073709551615]"), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(ParseNsLink("x:[18446744073709551616]").has_value());
}

TEST(ParseNsLink, MalformedLinksAreRejected) {
  for (const char* link :
       {"", "]", ":[]", "pid:[]", "pid:[abc]", "pid:[123", "pid:123]", "pid[123]", "[123]",
        "pid:[ 123]", "pid:[-1]", "pid:[12]x", "pid:[1]2]", "/proc/self/ns/pid"}) {
    EXPECT_FALSE(ParseNsLink(link).has_value()) << link;
  }
}

}  // namespace
}  // namespace pidscope::procfs
