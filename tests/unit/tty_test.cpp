// Decoding stat's tty_nr: the kernel stores new_encode_dev(MAJOR, MINOR) of the controlling
// terminal (fs/proc/array.c, include/linux/kdev_t.h); these tests encode the same way.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "procfs/parse.hpp"

namespace pidscope::procfs {
namespace {

// include/linux/kdev_t.h: new_encode_dev().
uint32_t EncodeDev(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

TEST(DecodeTtyNr, InvertsTheKernelEncoding) {
  struct Case {
    uint32_t major, minor;
  };
  for (Case c : {Case{136, 0}, Case{136, 3}, Case{136, 255}, Case{136, 256}, Case{136, 70000},
                 Case{4, 1}, Case{4, 64}, Case{5, 1}, Case{188, 0}, Case{0xfff, 0xfffff}}) {
    TtyDevice dev = DecodeTtyNr(EncodeDev(c.major, c.minor));
    EXPECT_EQ(dev.major, c.major) << c.major << ":" << c.minor;
    EXPECT_EQ(dev.minor, c.minor) << c.major << ":" << c.minor;
  }
}

TEST(DecodeTtyNr, MajorAbove255UsesAllTwelveBits) {
  // Dynamically allocated character majors reach 384-511 (CHRDEV_MAJOR_DYN_EXT_*).
  TtyDevice dev = DecodeTtyNr(EncodeDev(511, 2));
  EXPECT_EQ(dev.major, 511u);
  EXPECT_EQ(dev.minor, 2u);
}

TEST(TtyName, PseudoTerminals) {
  EXPECT_EQ(TtyName(EncodeDev(136, 0)), "pts/0");
  EXPECT_EQ(TtyName(EncodeDev(136, 3)), "pts/3");
  EXPECT_EQ(TtyName(34819), "pts/3");
  EXPECT_EQ(TtyName(EncodeDev(136, 300)), "pts/300");  // minor bits above 8
  EXPECT_EQ(TtyName(EncodeDev(137, 4)), "pts/260");    // the legacy majors 136-143
  EXPECT_TRUE(IsTerminal(EncodeDev(136, 300)));
}

TEST(TtyName, ConsolesAndSerialLines) {
  EXPECT_EQ(TtyName(EncodeDev(4, 1)), "tty1");
  EXPECT_EQ(TtyName(EncodeDev(4, 63)), "tty63");
  EXPECT_EQ(TtyName(EncodeDev(4, 64)), "ttyS0");
  EXPECT_EQ(TtyName(EncodeDev(4, 65)), "ttyS1");
  EXPECT_EQ(TtyName(EncodeDev(5, 1)), "console");
  EXPECT_TRUE(IsTerminal(EncodeDev(4, 1)));
  EXPECT_TRUE(IsTerminal(EncodeDev(4, 64)));
  EXPECT_TRUE(IsTerminal(EncodeDev(5, 1)));
}

TEST(TtyName, NoControllingTerminal) {
  EXPECT_EQ(TtyName(0), "");
  EXPECT_FALSE(IsTerminal(0));
}

TEST(TtyName, UnknownDevicesAreNamedByNumber) {
  EXPECT_EQ(TtyName(EncodeDev(188, 0)), "188:0");  // ttyUSB0: not a name we derive
  EXPECT_FALSE(IsTerminal(EncodeDev(188, 0)));
  EXPECT_EQ(TtyName(EncodeDev(1, 3)), "1:3");
  EXPECT_FALSE(IsTerminal(EncodeDev(1, 3)));
  EXPECT_EQ(TtyName(EncodeDev(5, 2)), "5:2");  // /dev/ptmx is never a controlling terminal
  EXPECT_FALSE(IsTerminal(EncodeDev(5, 2)));
}

TEST(TtyName, MajorAbove255IsNotMistakenForAPty) {
  // 392 = 0x188: its low byte is 136, the pts major.
  EXPECT_EQ(TtyName(EncodeDev(392, 7)), "392:7");
  EXPECT_FALSE(IsTerminal(EncodeDev(392, 7)));
  // 260 = 0x104: its low byte is 4, the tty major.
  EXPECT_EQ(TtyName(EncodeDev(260, 1)), "260:1");
  EXPECT_FALSE(IsTerminal(EncodeDev(260, 1)));
}

// A real pseudo-terminal: a child makes it its controlling terminal, and the tty_nr the kernel
// then shows in the child's stat must name that pty.
TEST(TtyName, NamesTheControllingPtyOfARealProcess) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  std::string slave = ptsname(master);
  struct stat st {};
  ASSERT_EQ(stat(slave.c_str(), &st), 0);
  uint32_t expected_nr = EncodeDev(major(st.st_rdev), minor(st.st_rdev));
  EXPECT_EQ(TtyName(expected_nr), slave.substr(5));  // "/dev/pts/N"

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A new session without a terminal; opening the pty (no O_NOCTTY) makes it the controlling one.
    setsid();
    int fd = open(slave.c_str(), O_RDWR);
    char ok = fd >= 0 ? '1' : '0';
    (void)!write(ready[1], &ok, 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  std::ifstream in("/proc/" + std::to_string(child) + "/stat");
  std::string text(std::istreambuf_iterator<char>(in), {});
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(master);

  ASSERT_EQ(ok, '1');
  auto stat = ParseStat(text);
  ASSERT_TRUE(stat.has_value()) << text;
  EXPECT_EQ(stat->tty_nr, expected_nr);
  EXPECT_EQ(TtyName(stat->tty_nr), slave.substr(5));
  EXPECT_TRUE(IsTerminal(stat->tty_nr));
  EXPECT_EQ(stat->session, child);
}

}  // namespace
}  // namespace pidscope::procfs
