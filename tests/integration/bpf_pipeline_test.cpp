// The BPF pipeline end to end against the running kernel: the generated skeleton loads and
// attaches, tp_btf/sched_process_fork reports the tasks this test creates, and what it reports
// agrees with fork(), gettid() and procfs.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bpf/skeleton.hpp"
#include "pidscope.h"
#include "pidscope_bpf.skel.h"
#include "support/privilege.hpp"

namespace pidscope::bpf {
namespace {

using std::chrono::milliseconds;

static_assert(sizeof(pidscope_event_header) == 48);
static_assert(sizeof(pidscope_fork_event) == 120);

constexpr int kChildren = 20;
constexpr auto kEventTimeout = std::chrono::seconds(10);

// Every fork record the ring buffer delivers, copied out of the ring.
struct ForkCollector {
  std::vector<pidscope_fork_event> forks;
  int malformed = 0;

  int operator()(std::span<const std::byte> record) {
    pidscope_event_header hdr;
    if (record.size() < sizeof(hdr)) {
      ++malformed;
      return 0;
    }
    std::memcpy(&hdr, record.data(), sizeof(hdr));
    if (hdr.size != record.size()) {
      ++malformed;
      return 0;
    }
    if (hdr.type == PIDSCOPE_EVENT_FORK) {
      if (record.size() != sizeof(pidscope_fork_event)) {
        ++malformed;
        return 0;
      }
      pidscope_fork_event ev;
      std::memcpy(&ev, record.data(), sizeof(ev));
      forks.push_back(ev);
    }
    return 0;
  }
};

// Polls until done() holds or the timeout passes; returns whether done() held.
bool PollUntil(RingBuffer& rb, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kEventTimeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    const int n = rb.Poll(milliseconds(10));
    if (n < 0 && n != -EINTR) {
      ADD_FAILURE() << "ring buffer poll: " << std::strerror(-n);
      return false;
    }
  }
  return true;
}

// Field 22 of /proc/<pid>/stat: start time in clock ticks after boot; 0 if unreadable.
std::uint64_t ProcStartTimeTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close_paren = line.rfind(')');  // comm may hold spaces and parentheses
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(line.substr(close_paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {  // fields after comm start at 3 (state)
    if (!(fields >> field)) return 0;
  }
  return std::stoull(field);
}

// The NSpid: line of /proc/<pid>/status: the PID in each namespace, outermost first.
std::vector<std::uint32_t> ProcNsPids(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  std::vector<std::uint32_t> pids;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream values(line.substr(6));
    std::uint32_t v;
    while (values >> v) pids.push_back(v);
  }
  return pids;
}

std::uint64_t PidNsInode(const std::string& pid) {
  struct stat st {};
  if (stat(("/proc/" + pid + "/ns/pid").c_str(), &st) != 0) return 0;
  return st.st_ino;
}

std::uint64_t BoottimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

std::vector<std::uint32_t> RecordedNsPids(const pidscope_fork_event& ev) {
  std::vector<std::uint32_t> pids;
  for (std::uint32_t i = 0; i <= ev.pidns_level && i < PIDSCOPE_MAX_PIDNS_LEVELS; ++i) {
    pids.push_back(ev.ns_pids[i]);
  }
  return pids;
}

// Blocks until the write end of fd's pipe is closed everywhere; for use in a child.
void WaitForEof(int fd) {
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

// Children that stay alive until Release(); the destructor releases and reaps them, so a failed
// assertion never leaves processes behind.
class HeldChildren {
 public:
  HeldChildren() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~HeldChildren() {
    Release();
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
    if (fds_[0] >= 0) close(fds_[0]);
  }
  HeldChildren(const HeldChildren&) = delete;
  HeldChildren& operator=(const HeldChildren&) = delete;

  bool ok() const { return fds_[0] >= 0; }
  // In a child: wait until released.
  [[noreturn]] void HoldThenExit() {
    close(fds_[1]);
    WaitForEof(fds_[0]);
    _exit(0);
  }
  void Adopt(pid_t pid) { pids_.push_back(pid); }
  void Release() {
    if (fds_[1] >= 0) close(std::exchange(fds_[1], -1));
  }
  // Reaps every child; true if all exited with status 0.
  bool ReapAll() {
    Release();
    bool clean = true;
    for (pid_t pid : pids_) {
      int status = 0;
      const bool reaped =
          waitpid(pid, &status, 0) == pid;  // reap every child, even after a failure
      clean = clean && reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    pids_.clear();
    return clean;
  }
  const std::vector<pid_t>& pids() const { return pids_; }
  int read_fd() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
  std::vector<pid_t> pids_;
};

class BpfPipelineTest : public ::testing::Test {
 protected:
  // Opens, configures (forks by members of target_tgid only), loads and attaches the
  // skeleton, and starts consuming its ring buffer into collector_.
  // ring_bytes, if not 0, replaces the ring buffer's default size.
  void LoadAndAttach(pid_t target_tgid, std::uint32_t ring_bytes = 0) {
    int err = skel_.Open();
    ASSERT_EQ(err, 0) << "open: " << std::strerror(-err);
    skel_->rodata->target_tgid = static_cast<std::uint32_t>(target_tgid);
    if (ring_bytes != 0) {
      err = bpf_map__set_max_entries(skel_->maps.events, ring_bytes);
      ASSERT_EQ(err, 0) << "ring buffer size: " << std::strerror(-err);
    }
    err = skel_.Load();
    ASSERT_EQ(err, 0) << "load: " << std::strerror(-err);
    err = skel_.Attach();
    ASSERT_EQ(err, 0) << "attach: " << std::strerror(-err);
    err = rb_.Open(bpf_map__fd(skel_->maps.events), &collector_);
    ASSERT_EQ(err, 0) << "ring buffer: " << std::strerror(-err);
  }

  const pidscope_fork_event* FindChild(pid_t pid) const {
    for (const auto& ev : collector_.forks) {
      if (ev.child_pid == static_cast<std::uint32_t>(pid)) return &ev;
    }
    return nullptr;
  }

  void ExpectNothingLost() {
    for (std::uint32_t key : {static_cast<std::uint32_t>(PIDSCOPE_EVENT_FORK),
                              static_cast<std::uint32_t>(PIDSCOPE_LOST_ALL)}) {
      std::uint64_t lost = 1;
      const int err = SumPerCpuCounter(skel_->maps.lost_events, key, &lost);
      ASSERT_EQ(err, 0) << std::strerror(-err);
      EXPECT_EQ(lost, 0u) << "lost_events[" << key << "]";
    }
    EXPECT_EQ(collector_.malformed, 0);
  }

  // Checks what does not depend on the namespace: header, start time, NSpid.
  static void ExpectConsistentWithProc(const pidscope_fork_event& ev) {
    EXPECT_EQ(ev.hdr.type, PIDSCOPE_EVENT_FORK);
    EXPECT_EQ(ev.hdr.size, sizeof(pidscope_fork_event));
    EXPECT_GE(ev.hdr.timestamp_ns, ev.child_start_boottime_ns);
    EXPECT_LE(ev.hdr.timestamp_ns, BoottimeNs());
    EXPECT_LT(ev.hdr.cpu, static_cast<std::uint32_t>(libbpf_num_possible_cpus()));
    EXPECT_EQ(ev.hdr.reserved, 0u);
    EXPECT_EQ(ev.hdr.reserved2, 0u);
    // The header describes the child: its process, thread and (leader's) start time.
    EXPECT_EQ(ev.hdr.tgid, ev.child_tgid);
    EXPECT_EQ(ev.hdr.tid, ev.child_pid);
    if (!ev.is_thread) {
      EXPECT_EQ(ev.hdr.start_boottime_ns, ev.child_start_boottime_ns);
    }

    const auto ns_per_tick = 1'000'000'000u / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
    EXPECT_EQ(ev.child_start_boottime_ns / ns_per_tick, ProcStartTimeTicks(ev.child_pid))
        << "pid " << ev.child_pid;

    const std::string pid = std::to_string(ev.child_pid);
    EXPECT_EQ(RecordedNsPids(ev), ProcNsPids(pid)) << "pid " << pid;
    EXPECT_EQ(ev.pidns_inum, PidNsInode(pid)) << "pid " << pid;
    for (std::uint32_t i = ev.pidns_level + 1; i < PIDSCOPE_MAX_PIDNS_LEVELS; ++i) {
      EXPECT_EQ(ev.ns_pids[i], 0u) << "level " << i;
    }
  }

  Skeleton<pidscope_bpf> skel_;
  ForkCollector collector_;
  RingBuffer rb_;
};

// The depth of this test's own PID namespace (0 when run on the host).
std::uint32_t SelfPidNsLevel() { return static_cast<std::uint32_t>(ProcNsPids("self").size()) - 1; }

TEST_F(BpfPipelineTest, ForkEventsMatchWhatForkReturned) {
  PIDSCOPE_REQUIRE_ROOT();
  const pid_t self = getpid();
  ASSERT_NO_FATAL_FAILURE(LoadAndAttach(self));

  HeldChildren children;
  ASSERT_TRUE(children.ok());
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = fork();
    ASSERT_NE(pid, -1) << std::strerror(errno);
    if (pid == 0) children.HoldThenExit();
    children.Adopt(pid);
  }

  ASSERT_TRUE(PollUntil(rb_, [&] { return collector_.forks.size() >= kChildren; }))
      << "got " << collector_.forks.size() << " of " << kChildren << " fork events";
  EXPECT_GE(rb_.Consume(), 0);  // anything else that arrived
  EXPECT_EQ(collector_.forks.size(), static_cast<size_t>(kChildren))
      << "only forks by this process pass the target_tgid filter";

  const std::uint32_t level = SelfPidNsLevel();
  for (pid_t pid : children.pids()) {
    SCOPED_TRACE("child " + std::to_string(pid));
    const pidscope_fork_event* ev = FindChild(pid);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->parent_tgid, static_cast<std::uint32_t>(self));
    EXPECT_EQ(ev->parent_pid, static_cast<std::uint32_t>(syscall(SYS_gettid)));
    EXPECT_EQ(ev->child_tgid, static_cast<std::uint32_t>(pid));
    EXPECT_EQ(ev->child_pid, static_cast<std::uint32_t>(pid));
    EXPECT_EQ(ev->is_thread, 0);
    EXPECT_EQ(ev->pidns_level, level);
    EXPECT_EQ(ev->ns_pids[level], static_cast<std::uint32_t>(pid));
    if (level == 0) {  // on the host, as in CI: the initial namespace
      EXPECT_EQ(ev->ns_pids[0], static_cast<std::uint32_t>(pid));
    }
    EXPECT_EQ(ev->pidns_inum, PidNsInode("self"));
    EXPECT_EQ(ev->hdr.ppid, static_cast<std::uint32_t>(self));
    ExpectConsistentWithProc(*ev);  // children are still alive: /proc is theirs
  }

  EXPECT_TRUE(children.ReapAll());
  ExpectNothingLost();
}

TEST_F(BpfPipelineTest, TargetTgidFilterDropsForksByOtherProcesses) {
  PIDSCOPE_REQUIRE_ROOT();
  const pid_t self = getpid();
  ASSERT_NO_FATAL_FAILURE(LoadAndAttach(self));

  // A child that forks a grandchild of its own: the child's fork passes the filter, the
  // grandchild's (parent tgid = the child) must not.
  const pid_t child = fork();
  ASSERT_NE(child, -1) << std::strerror(errno);
  if (child == 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) _exit(0);
    _exit(grandchild > 0 && waitpid(grandchild, nullptr, 0) == grandchild ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // Records are reserved in order: once a later fork's record is in, the grandchild's would be.
  const pid_t sentinel = fork();
  ASSERT_NE(sentinel, -1) << std::strerror(errno);
  if (sentinel == 0) _exit(0);
  ASSERT_EQ(waitpid(sentinel, nullptr, 0), sentinel);
  ASSERT_TRUE(PollUntil(rb_, [&] { return FindChild(sentinel) != nullptr; }));

  EXPECT_NE(FindChild(child), nullptr);
  for (const auto& ev : collector_.forks) {
    EXPECT_EQ(ev.parent_tgid, static_cast<std::uint32_t>(self)) << "child " << ev.child_pid;
  }
  EXPECT_EQ(collector_.forks.size(), 2u);
  ExpectNothingLost();
}

TEST_F(BpfPipelineTest, EventsThatDoNotFitAreCountedAsLost) {
  PIDSCOPE_REQUIRE_ROOT();
  // The smallest ring buffer (one page) holds fewer fork records than we create.
  constexpr int kForks = 60;
  const auto page = static_cast<std::uint32_t>(sysconf(_SC_PAGESIZE));
  ASSERT_LT(page / sizeof(pidscope_fork_event), static_cast<size_t>(kForks));
  ASSERT_NO_FATAL_FAILURE(LoadAndAttach(getpid(), page));

  HeldChildren children;
  ASSERT_TRUE(children.ok());
  for (int i = 0; i < kForks; ++i) {
    const pid_t pid = fork();
    ASSERT_NE(pid, -1) << std::strerror(errno);
    if (pid == 0) children.HoldThenExit();
    children.Adopt(pid);
  }
  const int consumed = rb_.Consume();
  ASSERT_GE(consumed, 0) << std::strerror(-consumed);

  std::uint64_t lost = 0;
  const int err = SumPerCpuCounter(skel_->maps.lost_events, PIDSCOPE_EVENT_FORK, &lost);
  ASSERT_EQ(err, 0) << std::strerror(-err);
  EXPECT_GT(collector_.forks.size(), 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(collector_.forks.size() + lost, static_cast<std::uint64_t>(kForks));
  std::uint64_t lost_all = 0;
  ASSERT_EQ(SumPerCpuCounter(skel_->maps.lost_events, PIDSCOPE_LOST_ALL, &lost_all), 0);
  EXPECT_GE(lost_all, lost) << "the PIDSCOPE_LOST_ALL slot counts every type";
  EXPECT_TRUE(children.ReapAll());
}

TEST_F(BpfPipelineTest, ThreadIsReportedInItsCreatorsThreadGroup) {
  PIDSCOPE_REQUIRE_ROOT();
  const pid_t self = getpid();
  ASSERT_NO_FATAL_FAILURE(LoadAndAttach(self));

  std::atomic<pid_t> tid{0};
  std::atomic<bool> checked{false};
  std::thread thread([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    while (!checked) std::this_thread::sleep_for(milliseconds(1));
  });
  const bool seen = PollUntil(rb_, [&] { return tid != 0 && FindChild(tid) != nullptr; });
  const pidscope_fork_event* ev = seen ? FindChild(tid) : nullptr;
  if (ev != nullptr) {
    EXPECT_EQ(ev->is_thread, 1);
    EXPECT_EQ(ev->parent_tgid, static_cast<std::uint32_t>(self));
    EXPECT_EQ(ev->parent_pid, static_cast<std::uint32_t>(syscall(SYS_gettid)));
    EXPECT_EQ(ev->child_tgid, static_cast<std::uint32_t>(self));
    // A thread's real parent is its process's; the header's start time is the leader's.
    EXPECT_EQ(ev->hdr.ppid, static_cast<std::uint32_t>(getppid()));
    const auto ns_per_tick = 1'000'000'000u / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
    EXPECT_EQ(ev->hdr.start_boottime_ns / ns_per_tick, ProcStartTimeTicks(self));
    ExpectConsistentWithProc(*ev);  // the thread is alive: /proc/<tid> resolves
  }
  checked = true;
  thread.join();
  ASSERT_NE(ev, nullptr) << "no fork event for thread " << tid;
  ExpectNothingLost();
}

TEST_F(BpfPipelineTest, FirstChildInNewPidNamespaceIsPidOne) {
  PIDSCOPE_REQUIRE_ROOT();
  // The grandchild's parent is an intermediate child, so that is the tgid to filter on. It
  // waits for "go" so the programs are attached before it calls unshare() and fork().
  int go[2];
  int report[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  // Declared in this order so that, on any early return, the grandchild is released before the
  // intermediate child (which waits for it) is reaped.
  HeldChildren middle_reaper;
  HeldChildren grandchild;
  ASSERT_TRUE(grandchild.ok());

  const pid_t middle = fork();
  ASSERT_NE(middle, -1) << std::strerror(errno);
  if (middle == 0) {
    close(go[1]);
    close(report[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(10);
    if (unshare(CLONE_NEWPID) != 0) _exit(11);
    const pid_t pid = fork();  // PID 1 of the new namespace
    if (pid < 0) _exit(12);
    if (pid == 0) grandchild.HoldThenExit();
    grandchild.Release();  // only the test process holds the grandchild now
    if (write(report[1], &pid, sizeof(pid)) != sizeof(pid)) _exit(13);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) _exit(14);
    _exit(WEXITSTATUS(status));
  }
  close(go[0]);
  close(report[1]);
  middle_reaper.Adopt(middle);
  struct CloseOnExit {
    int fd0, fd1;
    ~CloseOnExit() {
      close(fd0);
      close(fd1);
    }
  } close_pipes{go[1], report[0]};

  ASSERT_NO_FATAL_FAILURE(LoadAndAttach(middle));
  ASSERT_EQ(write(go[1], "g", 1), 1);
  pid_t pid = 0;
  ASSERT_EQ(read(report[0], &pid, sizeof(pid)), static_cast<ssize_t>(sizeof(pid)))
      << "the intermediate child could not unshare(CLONE_NEWPID) and fork";

  ASSERT_TRUE(PollUntil(rb_, [&] { return FindChild(pid) != nullptr; }))
      << "no fork event for grandchild " << pid;
  const pidscope_fork_event& ev = *FindChild(pid);
  const std::uint32_t level = SelfPidNsLevel() + 1;
  EXPECT_EQ(ev.parent_tgid, static_cast<std::uint32_t>(middle));
  EXPECT_EQ(ev.child_tgid, static_cast<std::uint32_t>(pid));
  EXPECT_EQ(ev.is_thread, 0);
  EXPECT_EQ(ev.pidns_level, level);
  EXPECT_EQ(ev.ns_pids[level], 1u);
  EXPECT_EQ(ev.ns_pids[level - 1], static_cast<std::uint32_t>(pid));
  EXPECT_NE(ev.pidns_inum, PidNsInode("self"));
  ExpectConsistentWithProc(ev);  // the grandchild is held alive by `grandchild`

  grandchild.Release();
  EXPECT_TRUE(middle_reaper.ReapAll()) << "intermediate child failed";
  ExpectNothingLost();
}

}  // namespace
}  // namespace pidscope::bpf
