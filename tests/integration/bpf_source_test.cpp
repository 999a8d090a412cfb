// BpfSource against the running kernel: every kind of event it delivers, checked against what
// the test itself did and what the kernel says elsewhere (waitpid statuses, /proc, getpgid).
// Only events about this test's own process tree are looked at: the machine has other activity.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "source/bpf_source.hpp"
#include "source/bpf_task_iter.hpp"
#include "support/privilege.hpp"

namespace pidscope {
namespace {

using std::chrono::milliseconds;
using namespace std::string_literals;

constexpr auto kEventTimeout = std::chrono::seconds(10);

pid_t GetTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Field 22 of /proc/<pid>/stat: start time in clock ticks after boot; 0 if unreadable.
uint64_t ProcStartTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(line.substr(close_paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return 0;
  }
  return std::stoull(field);
}

// A hexadecimal mask line ("CapEff:") of /proc/<pid>/status.
std::optional<uint64_t> ProcStatusHex(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1), nullptr, 16);
  }
  return std::nullopt;
}

bool ThreadExists(pid_t pid, pid_t tid) {
  return access(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid)).c_str(), F_OK) ==
         0;
}

// The inode of this process's cgroup v2 directory: its cgroup id. nullopt without cgroup2.
std::optional<uint64_t> SelfCgroupV2Id() {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line, mount_point;
  while (std::getline(mounts, line)) {
    const auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 5 && fields >> f; ++i) {
    }
    mount_point = f;  // field 5
    break;
  }
  if (mount_point.empty()) return std::nullopt;
  std::ifstream cgroups("/proc/self/cgroup");
  while (std::getline(cgroups, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    struct stat st {};
    if (stat((mount_point + line.substr(3)).c_str(), &st) != 0) return std::nullopt;
    return st.st_ino;
  }
  return std::nullopt;
}

std::string CommOf(const Event& e) { return std::string(e.comm.data()); }

// A forked child running `body`, with a pipe each way: the child reports values up, the
// parent releases it with Go(). The destructor kills and reaps a child not yet waited for.
class Child {
 public:
  explicit Child(const std::function<int(Child&)>& body) {
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(up[0]);
      close(down[1]);
      up_ = up[1];
      down_ = down[0];
      _exit(body(*this));
    }
    close(up[1]);
    close(down[0]);
    up_ = up[0];
    down_ = down[1];
  }
  ~Child() {
    if (down_ >= 0) close(down_);
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (up_ >= 0) close(up_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool ok() const { return pid_ > 0; }

  // Child side.
  template <typename T>
  void Report(const T& value) {
    if (write(up_, &value, sizeof(value)) != static_cast<ssize_t>(sizeof(value))) _exit(120);
  }
  // Blocks until the parent calls Go() (or goes away).
  void AwaitGo() {
    char c;
    while (read(down_, &c, 1) < 0 && errno == EINTR) {
    }
  }

  // Parent side.
  template <typename T>
  T Read() {
    T value{};
    if (read(up_, &value, sizeof(value)) != static_cast<ssize_t>(sizeof(value))) {
      ADD_FAILURE() << "child " << pid_ << " reported nothing";
    }
    return value;
  }
  void Go() {
    if (write(down_, "g", 1) != 1) ADD_FAILURE() << "cannot release child " << pid_;
  }
  // Reaps the child; returns its wait status, or -1.
  int Wait() {
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return -1;
    waited_ = true;
    return status;
  }
  // Reaps the child if it has exited: its wait status, or nullopt while it runs (-1 on error).
  std::optional<int> TryWait() {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r != pid_) return -1;
    waited_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int up_ = -1;
  int down_ = -1;
  bool waited_ = false;
};

class BpfSourceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (source_ != nullptr) source_->Stop();
  }

  void StartSource(BpfSourceOptions options = {}) {
    options.log = [this](std::string_view message) { log_.emplace_back(message); };
    source_ = std::make_unique<BpfSource>(std::move(options));
    const Status started = source_->Start();
    ASSERT_TRUE(started.ok()) << started.error().Message();
    EXPECT_EQ(source_->name(), "bpf"s);
    tree_ = {getpid()};
  }

  // Keeps the events about this test's process tree (followed through fork events).
  void Collect(const Event& e) {
    if (e.action == EventAction::kFork && tree_.count(e.ppid) != 0) tree_.insert(e.pid);
    if (tree_.count(e.pid) != 0) events_.push_back(e);
  }

  void PollOnce(int timeout_ms) {
    const auto n = source_->Poll(timeout_ms, [this](const Event& e) { Collect(e); });
    ASSERT_TRUE(n.ok()) << n.error().Message();
  }

  // Polls until done() holds; false after kEventTimeout.
  bool PollUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kEventTimeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      PollOnce(10);
      if (::testing::Test::HasFatalFailure()) return false;
    }
    return true;
  }

  // Reaps `child`, polling meanwhile (a core dump can take a while, and the machine's other
  // activity must not fill the ring buffer in the meantime). Returns its wait status or -1.
  int Reap(Child& child) {
    const auto deadline = std::chrono::steady_clock::now() + kEventTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (const auto status = child.TryWait()) return *status;
      PollOnce(10);
    }
    ADD_FAILURE() << "child " << child.pid() << " did not exit";
    return -1;
  }

  std::vector<Event> Find(pid_t pid, EventAction action) const {
    std::vector<Event> found;
    for (const Event& e : events_) {
      if (e.pid == pid && e.action == action) found.push_back(e);
    }
    return found;
  }
  size_t Count(pid_t pid, EventAction action) const { return Find(pid, action).size(); }

  // Waits for `n` events of a kind about `pid` and returns the last of them.
  Event WaitFor(pid_t pid, EventAction action, size_t n = 1) {
    const bool seen = PollUntil([&] { return Count(pid, action) >= n; });
    EXPECT_TRUE(seen) << "got " << Count(pid, action) << " of " << n << " events of action "
                      << static_cast<int>(action) << " about " << pid;
    const auto found = Find(pid, action);
    return found.empty() ? Event{} : found.back();
  }

  // Records are read in the order they were reserved: once the fork of a new child is seen,
  // every event recorded before that fork has been seen too. Also waits a little longer, for
  // what the kernel does asynchronously (the free after an RCU grace period).
  void Sentinel() {
    Child sentinel([](Child&) { return 0; });
    ASSERT_TRUE(sentinel.ok());
    ASSERT_TRUE(PollUntil([&] { return Count(sentinel.pid(), EventAction::kFork) > 0; }));
    EXPECT_EQ(Reap(sentinel), 0);
    const auto until = std::chrono::steady_clock::now() + milliseconds(200);
    while (std::chrono::steady_clock::now() < until) PollOnce(20);
  }

  void ExpectNoLoss() {
    PollOnce(0);
    const SourceStats stats = source_->Stats();
    EXPECT_EQ(stats.events_lost, 0u);
    EXPECT_EQ(stats.loss_signals, 0u);
    EXPECT_GT(stats.events_received, 0u);
    EXPECT_EQ(source_->malformed_records(), 0u);
    EXPECT_TRUE(source_->disabled_hooks().empty());
  }

  std::unique_ptr<BpfSource> source_;
  std::vector<Event> events_;
  std::set<int32_t> tree_;
  std::vector<std::string> log_;
};

TEST_F(BpfSourceTest, ForkEventsCarryTheProcessIdentityProcfsShows) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  EXPECT_TRUE(source_->disabled_hooks().empty()) << "every hook exists on this kernel";
  EXPECT_GE(source_->epoll_fd(), 0);

  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < 5; ++i) {
    children.push_back(std::make_unique<Child>([](Child& self) {
      self.AwaitGo();
      return 0;
    }));
    ASSERT_TRUE(children.back()->ok());
  }
  for (const auto& child : children) {
    SCOPED_TRACE("child " + std::to_string(child->pid()));
    const Event fork = WaitFor(child->pid(), EventAction::kFork);
    EXPECT_EQ(fork.source, EventSource::kBpf);
    EXPECT_EQ(fork.pid, child->pid());
    EXPECT_EQ(fork.tid, child->pid());
    EXPECT_EQ(fork.ppid, getpid());
    EXPECT_EQ(fork.parent_tid, GetTid());
    EXPECT_EQ(fork.start_ticks, ProcStartTicks(child->pid()));
    EXPECT_EQ(fork.start_ticks, fork.start_boot_ns / (1'000'000'000 / sysconf(_SC_CLK_TCK)));
    EXPECT_GE(fork.timestamp_ns, fork.start_boot_ns);
    EXPECT_TRUE(fork.pidns_known);
    EXPECT_EQ(fork.ns_pids[fork.pidns_level], child->pid()) << "on the host";
    struct stat st {};
    ASSERT_EQ(stat(("/proc/" + std::to_string(child->pid()) + "/ns/pid").c_str(), &st), 0);
    EXPECT_EQ(fork.pidns_inode, st.st_ino);
  }
  for (const auto& child : children) {
    child->Go();
    EXPECT_EQ(Reap(*child), 0);
  }
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, ThreeExecsAreThreeEventsOfOneProcess) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  // sh execs env (`exec`), which execs true: three programs, one process.
  Child child([](Child& self) {
    self.AwaitGo();
    const char* argv[] = {"sh", "-c", "exec /usr/bin/env /bin/true alpha 'beta gamma'", nullptr};
    const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};
    execve("/bin/sh", const_cast<char**>(argv), const_cast<char**>(envp));
    return 127;
  });
  ASSERT_TRUE(child.ok());
  const Event fork = WaitFor(child.pid(), EventAction::kFork);
  child.Go();
  WaitFor(child.pid(), EventAction::kExec, 3);
  const int status = Reap(child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const Event exit = WaitFor(child.pid(), EventAction::kExit);
  EXPECT_EQ(exit.exit_code, 0);

  const auto execs = Find(child.pid(), EventAction::kExec);
  ASSERT_EQ(execs.size(), 3u);
  const std::string expected_files[] = {"/bin/sh", "/usr/bin/env", "/bin/true"};
  const std::string expected_args[] = {
      "sh\0-c\0exec /usr/bin/env /bin/true alpha 'beta gamma'"s,
      "/usr/bin/env\0/bin/true\0alpha\0beta gamma"s,
      "/bin/true\0alpha\0beta gamma"s,
  };
  const uint32_t expected_counts[] = {3, 4, 3};
  const std::string expected_comms[] = {"sh", "env", "true"};
  const std::optional<uint64_t> cgroup_id = SelfCgroupV2Id();
  for (size_t i = 0; i < execs.size(); ++i) {
    SCOPED_TRACE("exec " + std::to_string(i));
    const Event& e = execs[i];
    EXPECT_EQ(e.pid, child.pid());
    EXPECT_EQ(e.tid, child.pid());
    EXPECT_EQ(e.old_tid, child.pid());
    EXPECT_EQ(e.ppid, getpid());
    EXPECT_EQ(e.start_ticks, fork.start_ticks) << "the same process throughout";
    EXPECT_EQ(e.start_boot_ns, fork.start_boot_ns);
    EXPECT_EQ(e.filename, expected_files[i]);
    EXPECT_EQ(e.args, expected_args[i]);
    EXPECT_EQ(e.args_count, expected_counts[i]);
    EXPECT_FALSE(e.args_truncated);
    EXPECT_EQ(CommOf(e), expected_comms[i]);
    EXPECT_TRUE(e.creds_known);
    EXPECT_EQ(e.uid, (std::array<uint32_t, 4>{0, 0, 0, 0}));
    if (cgroup_id) {
      EXPECT_EQ(e.cgroup_id, *cgroup_id);
    }
    if (i > 0) {
      EXPECT_GT(e.timestamp_ns, execs[i - 1].timestamp_ns);
    }
  }
  EXPECT_EQ(Count(child.pid(), EventAction::kComm), 0u) << "exec's own rename is not a kComm";
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, LongArgvIsCutAtAnArgumentBoundary) {
  PIDSCOPE_REQUIRE_ROOT();
  BpfSourceOptions options;
  options.max_args_bytes = 64;
  ASSERT_NO_FATAL_FAILURE(StartSource(options));
  Child child([](Child& self) {
    self.AwaitGo();
    const std::string arg(40, 'a');
    const char* argv[] = {"true", arg.c_str(), arg.c_str(), arg.c_str(), nullptr};
    execv("/bin/true", const_cast<char**>(argv));
    return 127;
  });
  ASSERT_TRUE(child.ok());
  child.Go();
  const Event exec = WaitFor(child.pid(), EventAction::kExec);
  EXPECT_EQ(exec.filename, "/bin/true");
  EXPECT_TRUE(exec.args_truncated);
  EXPECT_EQ(exec.args, "true\0"s + std::string(40, 'a'));
  EXPECT_EQ(exec.args_count, 2u);
  EXPECT_EQ(Reap(child), 0);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, NonLeaderThreadExecTakesOverTheProcessId) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    std::thread thread([&self] {
      self.Report(GetTid());
      self.AwaitGo();
      const char* argv[] = {"true", "from-a-thread", nullptr};
      execv("/bin/true", const_cast<char**>(argv));
      _exit(127);
    });
    thread.join();  // de_thread() kills this thread when the other one execs
    return 126;
  });
  ASSERT_TRUE(child.ok());
  const pid_t tid = child.Read<pid_t>();
  ASSERT_NE(tid, child.pid());
  child.Go();
  const Event exec = WaitFor(child.pid(), EventAction::kExec);
  EXPECT_EQ(exec.pid, child.pid());
  EXPECT_EQ(exec.tid, child.pid()) << "the thread now has the leader's PID";
  EXPECT_EQ(exec.old_tid, tid);
  EXPECT_EQ(exec.filename, "/bin/true");
  EXPECT_EQ(exec.args, "true\0from-a-thread"s);
  EXPECT_EQ(exec.start_ticks, Find(child.pid(), EventAction::kFork).at(0).start_ticks)
      << "the leader's start time, which de_thread() gave the thread";
  const int status = Reap(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  WaitFor(child.pid(), EventAction::kReap);
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 1u);
  EXPECT_EQ(Count(child.pid(), EventAction::kReap), 1u) << "the old leader's free is no reap";
  EXPECT_EQ(Count(child.pid(), EventAction::kThreadExit), 0u);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, ExitCodeAndSignalMatchTheWaitStatus) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  auto run = [this](const std::function<int(Child&)>& body, int kill_signal) {
    Child child(body);
    EXPECT_TRUE(child.ok());
    child.Read<char>();  // running
    if (kill_signal != 0) kill(child.pid(), kill_signal);
    const int status = Reap(child);
    const Event exit = WaitFor(child.pid(), EventAction::kExit);
    EXPECT_EQ(exit.start_ticks, Find(child.pid(), EventAction::kFork).at(0).start_ticks);
    EXPECT_EQ(exit.ppid, getpid());
    return std::make_pair(status, exit);
  };

  {
    SCOPED_TRACE("exit(7)");
    auto [status, exit] = run(
        [](Child& self) {
          self.Report('r');
          return 7;
        },
        0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(exit.exit_code, 7);
    EXPECT_EQ(exit.exit_signal, 0);
    EXPECT_FALSE(exit.core_dumped);
  }
  {
    SCOPED_TRACE("SIGKILL");
    auto [status, exit] = run(
        [](Child& self) {
          self.Report('r');
          self.AwaitGo();
          return 0;
        },
        SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(exit.exit_code, -1);
    EXPECT_EQ(exit.exit_signal, SIGKILL);
    EXPECT_FALSE(exit.core_dumped);
  }
  {
    SCOPED_TRACE("SIGABRT without core");
    auto [status, exit] = run(
        [](Child& self) {
          const rlimit none{0, 0};
          setrlimit(RLIMIT_CORE, &none);
          self.Report('r');
          signal(SIGABRT, SIG_DFL);
          raise(SIGABRT);
          return 0;
        },
        0);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(exit.exit_signal, SIGABRT);
    EXPECT_FALSE(WCOREDUMP(status));
    EXPECT_FALSE(exit.core_dumped);
  }
  {
    // Whether the kernel dumps depends on core_pattern (left as it is); the event must say
    // what the wait status says. A core file lands in a scratch directory removed after.
    SCOPED_TRACE("SIGABRT with core allowed");
    char dir_template[] = "/tmp/pidscope-core-XXXXXX";
    const char* dir = mkdtemp(dir_template);
    ASSERT_NE(dir, nullptr);
    auto [status, exit] = run(
        [dir](Child& self) {
          const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
          setrlimit(RLIMIT_CORE, &unlimited);
          if (chdir(dir) != 0) return 1;
          self.Report('r');
          signal(SIGABRT, SIG_DFL);
          raise(SIGABRT);
          return 0;
        },
        0);
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(exit.exit_signal, SIGABRT);
    EXPECT_EQ(exit.core_dumped, static_cast<bool>(WCOREDUMP(status)));
  }
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, NoExitUntilTheLastThreadIsGone) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    std::thread thread([&self] { self.Report(GetTid()); });
    thread.join();  // the thread has exited
    self.Report('j');
    self.AwaitGo();
    return 3;
  });
  ASSERT_TRUE(child.ok());
  const pid_t tid = child.Read<pid_t>();
  ASSERT_EQ(child.Read<char>(), 'j');
  // glibc's join returns when the kernel cleared the TID; wait until the task is released.
  for (int i = 0; i < 1000 && ThreadExists(child.pid(), tid); ++i) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_FALSE(ThreadExists(child.pid(), tid));
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 0u) << "a thread exited, not the process";
  EXPECT_EQ(Count(child.pid(), EventAction::kThreadExit), 0u) << "the thread had no children";

  child.Go();
  const int status = Reap(child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
  const Event exit = WaitFor(child.pid(), EventAction::kExit);
  EXPECT_EQ(exit.exit_code, 3);
  EXPECT_EQ(exit.tid, child.pid());
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 1u);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, LeaderExitingFirstIsNotTheProcessExit) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    std::thread thread([&self] {
      self.Report(GetTid());
      self.AwaitGo();
      _exit(5);  // exit_group from the last thread
    });
    thread.detach();
    syscall(SYS_exit, 0);  // the leader alone
    return 126;
  });
  ASSERT_TRUE(child.ok());
  const pid_t tid = child.Read<pid_t>();
  // The leader is a zombie while the other thread lives.
  std::string state;
  for (int i = 0; i < 1000 && state != "Z"; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child.pid()) + "/task/" +
                       std::to_string(child.pid()) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    state = paren == std::string::npos ? "" : line.substr(paren + 2, 1);
    if (state != "Z") std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_EQ(state, "Z");
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 0u);

  child.Go();
  const int status = Reap(child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 5) << status;
  const Event exit = WaitFor(child.pid(), EventAction::kExit);
  EXPECT_EQ(exit.exit_code, 5);
  EXPECT_EQ(exit.tid, tid) << "the last thread to exit";
  EXPECT_EQ(exit.pid, child.pid());
  EXPECT_EQ(exit.start_ticks, Find(child.pid(), EventAction::kFork).at(0).start_ticks);
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 1u);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, ExitCodeMatchesWaitWhenEveryThreadLeftAlone) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  // Each thread leaves with the exit system call alone, the leader first (4), the other thread
  // last (9). No exit_group: what wait() reports depends on the kernel (the last thread's code
  // since synchronize_group_exit() records it as the group's; the leader's before), and the
  // event must say the same.
  Child child([](Child& self) {
    std::thread thread([&self] {
      self.AwaitGo();
      syscall(SYS_exit, 9);
    });
    thread.detach();
    self.Report('r');
    syscall(SYS_exit, 4);
    return 126;
  });
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(child.Read<char>(), 'r');
  child.Go();
  const int status = Reap(child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  const Event exit = WaitFor(child.pid(), EventAction::kExit);
  EXPECT_EQ(exit.exit_code, WEXITSTATUS(status));
  EXPECT_EQ(exit.exit_signal, 0);
  EXPECT_NE(exit.tid, child.pid()) << "the other thread exited last";
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, ThreadWithChildrenReportsThreadExit) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    int hold[2];
    if (pipe(hold) != 0) return 1;
    pid_t grandchild = -1;
    std::thread thread([&] {
      grandchild = fork();
      if (grandchild == 0) {
        close(hold[1]);
        char c;
        while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
      }
      self.Report(GetTid());
      self.Report(grandchild);
    });
    thread.join();  // the thread that forked the grandchild exits; the grandchild lives
    close(hold[0]);
    self.AwaitGo();
    close(hold[1]);  // release the grandchild, now a child of this (main) thread
    int status = 0;
    return waitpid(grandchild, &status, 0) == grandchild && WIFEXITED(status) ? 0 : 2;
  });
  ASSERT_TRUE(child.ok());
  const pid_t tid = child.Read<pid_t>();
  const pid_t grandchild = child.Read<pid_t>();
  ASSERT_GT(grandchild, 0);

  const Event thread_exit = WaitFor(child.pid(), EventAction::kThreadExit);
  EXPECT_EQ(thread_exit.pid, child.pid());
  EXPECT_EQ(thread_exit.tid, tid);
  EXPECT_EQ(thread_exit.exit_code, 0);
  EXPECT_EQ(Count(child.pid(), EventAction::kExit), 0u);

  child.Go();
  EXPECT_EQ(Reap(child), 0);
  // The grandchild moved to a sibling thread: same process, so its parent (tgid) is unchanged.
  const Event grandchild_exit = WaitFor(grandchild, EventAction::kExit);
  EXPECT_EQ(grandchild_exit.ppid, child.pid());
  EXPECT_EQ(Find(grandchild, EventAction::kFork).at(0).ppid, child.pid());
  WaitFor(child.pid(), EventAction::kExit);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, ReapComesAfterWaitpidNotBefore) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child&) { return 0; });
  ASSERT_TRUE(child.ok());
  const Event exit = WaitFor(child.pid(), EventAction::kExit);
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kReap), 0u) << "a zombie until waited for";

  EXPECT_EQ(Reap(child), 0);
  const Event reap = WaitFor(child.pid(), EventAction::kReap);
  EXPECT_EQ(reap.start_ticks, exit.start_ticks);
  EXPECT_EQ(reap.start_boot_ns, exit.start_boot_ns);
  EXPECT_GT(reap.timestamp_ns, exit.timestamp_ns);
  Sentinel();
  EXPECT_EQ(Count(child.pid(), EventAction::kReap), 1u);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, SetsidAndSetpgidReportTheGroupsTheKernelHolds) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child session_leader([](Child& self) {
    self.AwaitGo();
    const pid_t sid = setsid();
    const int again = setpgid(0, 0);  // a session leader cannot: EPERM, no event
    self.Report(sid);
    self.Report(again);
    self.AwaitGo();
    return 0;
  });
  Child group_leader([](Child& self) {
    self.AwaitGo();
    self.Report(setpgid(0, 0));
    self.AwaitGo();
    return 0;
  });
  Child moved([](Child& self) {
    self.AwaitGo();
    return 0;
  });
  ASSERT_TRUE(session_leader.ok() && group_leader.ok() && moved.ok());

  session_leader.Go();
  ASSERT_EQ(session_leader.Read<pid_t>(), session_leader.pid());
  ASSERT_EQ(session_leader.Read<int>(), -1);
  const Event setsid_event = WaitFor(session_leader.pid(), EventAction::kSetsid);
  EXPECT_EQ(setsid_event.sid, session_leader.pid());
  EXPECT_EQ(setsid_event.pgid, session_leader.pid());
  EXPECT_EQ(setsid_event.sid, getsid(session_leader.pid()));

  group_leader.Go();
  ASSERT_EQ(group_leader.Read<int>(), 0);
  const Event own = WaitFor(group_leader.pid(), EventAction::kSetpgid);
  EXPECT_EQ(own.pgid, group_leader.pid());
  EXPECT_EQ(own.sid, getsid(0));

  // setpgid on a child: the event is about the child, with the group the kernel now holds.
  ASSERT_EQ(setpgid(moved.pid(), moved.pid()), 0) << std::strerror(errno);
  const Event on_child = WaitFor(moved.pid(), EventAction::kSetpgid);
  EXPECT_EQ(on_child.pid, moved.pid());
  EXPECT_EQ(on_child.pgid, moved.pid());
  EXPECT_EQ(on_child.ppid, getpid());
  ASSERT_EQ(setpgid(moved.pid(), group_leader.pid()), 0) << std::strerror(errno);
  const Event joined = WaitFor(moved.pid(), EventAction::kSetpgid, 2);
  EXPECT_EQ(joined.pgid, group_leader.pid());
  EXPECT_EQ(joined.pgid, getpgid(moved.pid()));
  EXPECT_EQ(joined.sid, getsid(0));
  // Failures are not events: a process group in another session.
  ASSERT_EQ(setpgid(moved.pid(), session_leader.pid()), -1);

  Sentinel();
  EXPECT_EQ(Count(session_leader.pid(), EventAction::kSetpgid), 0u);
  EXPECT_EQ(Count(session_leader.pid(), EventAction::kSetsid), 1u);
  EXPECT_EQ(Count(moved.pid(), EventAction::kSetpgid), 2u);
  for (Child* c : {&session_leader, &group_leader, &moved}) {
    c->Go();
    EXPECT_EQ(Reap(*c), 0);
  }
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, SetpgidOnAnotherThreadsChildAsksForAResync) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  // A child forked by a second thread hangs off that thread's children (while the thread
  // lives), which the BPF side does not search when the main thread calls setpgid() (see
  // bpf/session.bpf.c): the event cannot be attributed, so the source asks for a resync.
  int hold[2];
  ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
  std::atomic<pid_t> forked{-1};
  std::thread forker([&] {
    const pid_t pid = fork();
    if (pid == 0) {
      close(hold[1]);
      char c;
      while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    forked = pid;
    char c;
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {  // keep the thread alive
    }
  });
  // Releases the thread and the child, and reaps the child, however the test ends.
  struct Release {
    int* hold;
    std::thread* forker;
    std::atomic<pid_t>* forked;
    ~Release() {
      close(hold[1]);
      forker->join();
      close(hold[0]);
      if (*forked > 0) waitpid(*forked, nullptr, 0);
    }
  } release{hold, &forker, &forked};
  while (forked == -1) std::this_thread::sleep_for(milliseconds(1));
  const pid_t pid = forked;
  ASSERT_GT(pid, 0) << "fork failed";
  ASSERT_EQ(setpgid(pid, pid), 0) << std::strerror(errno);
  Sentinel();

  EXPECT_EQ(Count(pid, EventAction::kSetpgid), 0u);
  EXPECT_EQ(source_->Stats().loss_signals, 1u);
  EXPECT_EQ(source_->Stats().events_lost, 0u);
}

TEST_F(BpfSourceTest, SetresuidReportsTheResultingCredentials) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    self.AwaitGo();
    if (setresgid(2001, 2002, 2003) != 0) return 1;
    if (setresuid(1001, 1002, 1003) != 0) return 2;
    const int back = setuid(0);  // no longer allowed: EPERM, no event
    self.Report(back);
    self.AwaitGo();
    return 0;
  });
  ASSERT_TRUE(child.ok());
  child.Go();
  ASSERT_EQ(child.Read<int>(), -1);
  const Event creds = WaitFor(child.pid(), EventAction::kCredChange, 2);
  EXPECT_TRUE(creds.creds_known);
  EXPECT_EQ(creds.uid, (std::array<uint32_t, 4>{1001, 1002, 1003, 1002}));
  EXPECT_EQ(creds.gid, (std::array<uint32_t, 4>{2001, 2002, 2003, 2002}));
  EXPECT_EQ(creds.cap_effective, ProcStatusHex(child.pid(), "CapEff"));
  EXPECT_EQ(creds.cap_permitted, ProcStatusHex(child.pid(), "CapPrm"));
  EXPECT_EQ(creds.cap_effective, 0u) << "root's capabilities go with uid 0";
  const Event gid_change = Find(child.pid(), EventAction::kCredChange).at(0);
  EXPECT_EQ(gid_change.uid, (std::array<uint32_t, 4>{0, 0, 0, 0}));
  EXPECT_EQ(gid_change.gid, (std::array<uint32_t, 4>{2001, 2002, 2003, 2002}));
  EXPECT_NE(gid_change.cap_effective, 0u);

  child.Go();
  EXPECT_EQ(Reap(child), 0);
  WaitFor(child.pid(), EventAction::kExit);
  EXPECT_EQ(Count(child.pid(), EventAction::kCredChange), 2u) << "the failed setuid(0)";
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, SubreaperFlagFollowsPrctl) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    self.AwaitGo();
    int get = -1;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_GET_CHILD_SUBREAPER, &get);  // another option: no event
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    self.Report(get);
    self.AwaitGo();
    return 0;
  });
  ASSERT_TRUE(child.ok());
  child.Go();
  ASSERT_EQ(child.Read<int>(), 1);
  WaitFor(child.pid(), EventAction::kSubreaper, 2);
  const auto events = Find(child.pid(), EventAction::kSubreaper);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].subreaper);
  EXPECT_FALSE(events[1].subreaper);
  EXPECT_EQ(events[0].start_ticks, ProcStartTicks(child.pid()));
  child.Go();
  EXPECT_EQ(Reap(child), 0);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, CommChangesArriveAsCommEvents) {
  PIDSCOPE_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(StartSource());
  Child child([](Child& self) {
    self.AwaitGo();
    prctl(PR_SET_NAME, "x");
    std::ofstream("/proc/self/comm") << "by-procfs";  // only the process itself may
    std::thread thread([&self] {
      prctl(PR_SET_NAME, "worker");
      self.Report(GetTid());
    });
    thread.join();
    self.AwaitGo();
    return 0;
  });
  ASSERT_TRUE(child.ok());
  const Event before = WaitFor(child.pid(), EventAction::kFork);
  child.Go();
  const pid_t tid = child.Read<pid_t>();
  WaitFor(child.pid(), EventAction::kComm, 3);
  const auto renames = Find(child.pid(), EventAction::kComm);
  ASSERT_EQ(renames.size(), 3u);
  EXPECT_EQ(CommOf(renames[0]), "x");
  EXPECT_EQ(renames[0].tid, child.pid());
  EXPECT_EQ(CommOf(renames[1]), "by-procfs");
  EXPECT_EQ(renames[1].tid, child.pid());
  EXPECT_EQ(CommOf(renames[2]), "worker");
  EXPECT_EQ(renames[2].tid, tid) << "a thread's own name";
  for (const Event& e : renames) {
    EXPECT_EQ(e.start_ticks, before.start_ticks);
    EXPECT_EQ(e.start_ticks, ProcStartTicks(child.pid()));
    EXPECT_EQ(e.ppid, getpid());
  }
  child.Go();
  EXPECT_EQ(Reap(child), 0);
  ExpectNoLoss();
}

TEST_F(BpfSourceTest, LossIsCountedAndSignalled) {
  PIDSCOPE_REQUIRE_ROOT();
  // The smallest ring buffer (one page) and only this process's forks: more than fit.
  constexpr int kForks = 100;
  BpfSourceOptions options;
  options.ring_buffer_bytes = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  options.only_tgid = getpid();
  ASSERT_NO_FATAL_FAILURE(StartSource(options));
  std::vector<pid_t> pids;
  for (int i = 0; i < kForks; ++i) {
    const pid_t pid = fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) _exit(0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  PollOnce(0);
  PollOnce(0);
  const SourceStats stats = source_->Stats();
  EXPECT_GT(stats.events_lost, 0u);
  EXPECT_EQ(stats.loss_signals, 1u) << "one burst of loss, one signal";
  EXPECT_EQ(stats.events_received + stats.events_lost, static_cast<uint64_t>(kForks));
  EXPECT_EQ(events_.size(), stats.events_received);
}

TEST(BpfTaskIterator, SeesSubreaperSetBeforeItRan) {
  PIDSCOPE_REQUIRE_ROOT();
  Child zombie([](Child&) { return 0; });  // exits at once; reaped at the end
  Child subreaper([](Child& self) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 1;
    Child grandchild([](Child& inner) {
      inner.AwaitGo();
      return 0;
    });
    self.Report(grandchild.pid());
    self.AwaitGo();
    grandchild.Go();
    return grandchild.Wait() == 0 ? 0 : 2;
  });
  ASSERT_TRUE(zombie.ok() && subreaper.ok());
  const pid_t grandchild = subreaper.Read<pid_t>();
  for (int i = 0; i < 1000; ++i) {  // until the first child is a zombie
    std::ifstream stat("/proc/" + std::to_string(zombie.pid()) + "/stat");
    std::string line;
    std::getline(stat, line);
    if (line.find(") Z ") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(1));
  }

  const auto tasks = ReadTasksFromKernel();
  ASSERT_TRUE(tasks.ok()) << tasks.error().Message();
  auto find = [&](pid_t pid) -> const TaskRecord* {
    for (const TaskRecord& t : *tasks) {
      if (t.pid == pid) return &t;
    }
    return nullptr;
  };
  EXPECT_GT(tasks->size(), 3u);

  const TaskRecord* self = find(getpid());
  ASSERT_NE(self, nullptr);
  EXPECT_FALSE(self->subreaper);
  EXPECT_EQ(self->ppid, getppid());
  EXPECT_EQ(self->start_ticks, ProcStartTicks(getpid()));
  EXPECT_EQ(self->pgid, getpgid(0));
  EXPECT_EQ(self->sid, getsid(0));
  EXPECT_EQ(self->ns_pids[self->pidns_level], getpid()) << "on the host";
  EXPECT_EQ(self->threads, 1u);
  EXPECT_FALSE(self->zombie || self->kernel_thread || self->leader_exited);

  const TaskRecord* reaper = find(subreaper.pid());
  ASSERT_NE(reaper, nullptr);
  EXPECT_TRUE(reaper->subreaper) << "set by prctl before the iterator ran";
  EXPECT_EQ(reaper->ppid, getpid());
  EXPECT_EQ(reaper->start_ticks, ProcStartTicks(subreaper.pid()));
  EXPECT_EQ(reaper->start_boot_ns / (1'000'000'000 / sysconf(_SC_CLK_TCK)), reaper->start_ticks);

  const TaskRecord* below = find(grandchild);
  ASSERT_NE(below, nullptr);
  EXPECT_FALSE(below->subreaper);
  EXPECT_TRUE(below->has_subreaper) << "its parent is a sub-reaper";
  EXPECT_EQ(below->ppid, subreaper.pid());

  const TaskRecord* dead = find(zombie.pid());
  ASSERT_NE(dead, nullptr);
  EXPECT_TRUE(dead->zombie);
  EXPECT_TRUE(dead->leader_exited);

  const TaskRecord* kthreadd = find(2);
  ASSERT_NE(kthreadd, nullptr);
  EXPECT_TRUE(kthreadd->kernel_thread);
  EXPECT_EQ(std::string(kthreadd->comm.data()), "kthreadd");

  subreaper.Go();
  EXPECT_EQ(subreaper.Wait(), 0);
  EXPECT_EQ(zombie.Wait(), 0);
}

TEST(BpfTaskIterator, AgreesWithProcOnEveryProcess) {
  PIDSCOPE_REQUIRE_ROOT();
  const auto tasks = ReadTasksFromKernel();
  ASSERT_TRUE(tasks.ok()) << tasks.error().Message();
  int compared = 0;
  for (const TaskRecord& t : *tasks) {
    const uint64_t ticks = ProcStartTicks(t.pid);
    if (ticks == 0) continue;  // gone since
    EXPECT_EQ(t.start_ticks, ticks) << "pid " << t.pid;
    ++compared;
  }
  EXPECT_GT(compared, 3);
  int in_proc = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    ++in_proc;
  }
  // The two walks are not atomic together; on a quiet machine they nearly agree.
  EXPECT_NEAR(static_cast<double>(tasks->size()), in_proc, 10.0);
}

}  // namespace
}  // namespace pidscope
