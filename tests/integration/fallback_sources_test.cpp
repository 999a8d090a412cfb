// The fallback sources (netlink proc connector, procfs polling) against ground truth. Each test
// makes its own children do one thing, in step with the test over pipes, and checks what the
// source reports about them (and only them: the rest of the machine keeps running).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
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
#include <vector>

#include <gtest/gtest.h>

#include "pidscope/unique_fd.hpp"
#include "procfs/parse.hpp"
#include "source/netlink_source.hpp"
#include "source/procfs_source.hpp"
#include "support/privilege.hpp"
#include "support/subprocess.hpp"

namespace pidscope {
namespace {

using std::chrono::milliseconds;
using testing::ScopedChild;
using Clock = std::chrono::steady_clock;
using namespace std::string_literals;

constexpr auto kEventTimeout = milliseconds(10'000);
constexpr int kProcfsIntervalMs = 50;
constexpr int kReapCheckMs = 50;
constexpr uint32_t kNobody = 65534;

std::string CommOf(const Event& event) {
  return std::string(event.comm.data(), strnlen(event.comm.data(), event.comm.size()));
}

// ---------------------------------------------------------------------------------------------
// Ground truth and plumbing.

struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

// Child side: blocks for one byte (or EOF). Async-signal-safe.
char ReadByte(int fd) {
  char byte = 0;
  while (true) {
    ssize_t n = ::read(fd, &byte, 1);
    if (n == 1) return byte;
    if (n == 0) return 0;
    if (errno != EINTR) return 0;
  }
}

void WriteByte(int fd, char byte) {
  while (::write(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

// Test side: one byte within the timeout, nullopt otherwise.
std::optional<char> ReadByteWithin(int fd, milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  char byte = 0;
  if (::read(fd, &byte, 1) != 1) return std::nullopt;
  return byte;
}

std::optional<procfs::StatFields> StatOf(pid_t pid) {
  auto text = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return procfs::ParseStat(*text);
}

ScopedChild::Options Plain() {
  ScopedChild::Options options;
  options.new_process_group = false;  // a group leader could not setsid()
  return options;
}

std::string Realpath(const char* path) {
  std::error_code ec;
  return std::filesystem::canonical(path, ec).string();
}

// ---------------------------------------------------------------------------------------------
// The recorder: polls a source and keeps the events about the PIDs a test watches.

class Recorder {
 public:
  explicit Recorder(Source* source) : source_(source) {}

  void Watch(pid_t pid) { watched_.insert(pid); }

  // Polls until `done` holds or the timeout passes; returns whether it held.
  bool PollUntil(const std::function<bool()>& done, milliseconds timeout = kEventTimeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      PollOnce(20);
    }
    return true;
  }
  void PollFor(milliseconds duration) {
    const auto deadline = Clock::now() + duration;
    while (Clock::now() < deadline) PollOnce(10);
  }
  bool PollUntilSeen(pid_t pid, EventAction action) {
    return PollUntil([&] { return Find(pid, action) != nullptr; });
  }

  const Event* Find(pid_t pid, EventAction action) const {
    for (const Event& event : events_) {
      if (event.pid == pid && event.action == action) return &event;
    }
    return nullptr;
  }
  // Position of the first such event in the recording, -1 when absent.
  int IndexOf(pid_t pid, EventAction action) const {
    for (size_t i = 0; i < events_.size(); ++i) {
      if (events_[i].pid == pid && events_[i].action == action) return static_cast<int>(i);
    }
    return -1;
  }
  int Count(pid_t pid, EventAction action) const {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(), [&](const Event& e) {
      return e.pid == pid && e.action == action;
    }));
  }
  // "fork exec exit" for assertion messages.
  std::string Describe(pid_t pid) const {
    std::string out;
    for (const Event& event : events_) {
      if (event.pid != pid) continue;
      if (!out.empty()) out += ' ';
      out += ActionName(event.action);
    }
    return out.empty() ? "(nothing)" : out;
  }
  const std::vector<Event>& events() const { return events_; }
  uint64_t seen() const { return seen_; }

 private:
  void PollOnce(int timeout_ms) {
    auto polled = source_->Poll(timeout_ms, [&](const Event& event) {
      ++seen_;
      if (watched_.count(event.pid)) events_.push_back(event);
    });
    ASSERT_TRUE(polled.ok()) << polled.error().Message();
  }

  Source* source_;
  std::set<pid_t> watched_;
  std::vector<Event> events_;
  uint64_t seen_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Both sources, the same expectations where they can know the same things.

enum class Kind { kNetlink, kProcfs };

std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kNetlink ? "Netlink" : "Procfs";
}

class FallbackSourceTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    PIDSCOPE_REQUIRE_ROOT();
    if (GetParam() == Kind::kNetlink) {
      NetlinkSourceOptions options;
      options.reap_check_interval_ms = kReapCheckMs;
      source_ = std::make_unique<NetlinkSource>(options);
    } else {
      source_ = std::make_unique<ProcfsPollSource>(kProcfsIntervalMs);
    }
    Status started = source_->Start();
    ASSERT_TRUE(started.ok()) << source_->name() << ": " << started.error().Message();
    recorder_ = std::make_unique<Recorder>(source_.get());
  }
  void TearDown() override {
    if (source_) source_->Stop();
  }

  bool netlink() const { return GetParam() == Kind::kNetlink; }
  // Long enough for several reap checks (netlink) or scans (procfs).
  milliseconds SettleTime() const {
    return milliseconds(netlink() ? 6 * kReapCheckMs : 6 * kProcfsIntervalMs);
  }

  // A child that waits until the source has reported its fork (so that a poller has seen it
  // as it was), runs `act` (its result byte goes back to the test), then waits for the test's
  // word to exit.
  struct Actor {
    ScopedChild child;
    Pipe go;
    Pipe done;
  };
  std::unique_ptr<Actor> SeenThenAct(const std::function<char()>& act) {
    auto actor = std::make_unique<Actor>();
    const int go = actor->go.read.get();
    const int done = actor->done.write.get();
    actor->child = ScopedChild::Fork(
        [go, done, act] {
          ReadByte(go);
          WriteByte(done, act());
          ReadByte(go);
          return 0;
        },
        Plain());
    recorder_->Watch(actor->child.pid());
    EXPECT_TRUE(recorder_->PollUntilSeen(actor->child.pid(), EventAction::kFork))
        << "no fork reported for " << actor->child.pid();
    WriteByte(actor->go.write.get(), 1);
    return actor;
  }
  // Lets the actor exit and reaps it.
  void Finish(Actor* actor) {
    WriteByte(actor->go.write.get(), 1);
    auto status = actor->child.Wait(kEventTimeout);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }

  std::unique_ptr<Source> source_;
  std::unique_ptr<Recorder> recorder_;
};

TEST_P(FallbackSourceTest, ForkThenExecReportsProgramAndArgs) {
  Pipe input;
  const int stdin_fd = input.read.get();
  // cat blocks on the pipe, so the program stays there to be read.
  ScopedChild child = ScopedChild::Fork(
      [stdin_fd] {
        dup2(stdin_fd, STDIN_FILENO);
        execl("/bin/cat", "cat", "-", static_cast<char*>(nullptr));
        return 127;
      },
      Plain());
  const pid_t pid = child.pid();
  recorder_->Watch(pid);
  ASSERT_TRUE(recorder_->PollUntil([&] {
    const Event* exec = recorder_->Find(pid, EventAction::kExec);
    return exec != nullptr && !exec->filename.empty();
  })) << "events: "
      << recorder_->Describe(pid);
  auto truth = StatOf(pid);
  ASSERT_TRUE(truth.has_value());

  const Event* fork = recorder_->Find(pid, EventAction::kFork);
  ASSERT_NE(fork, nullptr);
  EXPECT_LT(recorder_->IndexOf(pid, EventAction::kFork),
            recorder_->IndexOf(pid, EventAction::kExec));
  EXPECT_EQ(fork->ppid, getpid());
  EXPECT_EQ(fork->start_ticks, truth->start_ticks);
  const Event* exec = recorder_->Find(pid, EventAction::kExec);
  EXPECT_EQ(exec->filename, Realpath("/bin/cat"));
  EXPECT_EQ(exec->args, "cat\0-"s);
  EXPECT_EQ(exec->args_count, 2u);
  EXPECT_FALSE(exec->args_truncated);
  EXPECT_EQ(CommOf(*exec), "cat");
  EXPECT_EQ(exec->start_ticks, truth->start_ticks);
  EXPECT_EQ(exec->ppid, getpid());
  EXPECT_TRUE(exec->creds_known);
  EXPECT_EQ(exec->uid[1], geteuid());
  EXPECT_EQ(recorder_->Count(pid, EventAction::kExec), 1) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Find(pid, EventAction::kComm), nullptr)
      << "the exec's own comm change is not a rename: " << recorder_->Describe(pid);

  input.write.reset();  // EOF: cat exits 0
  ASSERT_TRUE(pidscope::testing::WaitExitedNoReap(pid, kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);
  const Event* exit = recorder_->Find(pid, EventAction::kExit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->exit_signal, 0);
  EXPECT_EQ(exit->start_ticks, truth->start_ticks);
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kReap)) << recorder_->Describe(pid);
}

TEST_P(FallbackSourceTest, ExecOfShortLivedProgramWithArgs) {
  ScopedChild child = ScopedChild::Fork(
      [] {
        execl("/bin/true", "/bin/true", "first arg", "second", static_cast<char*>(nullptr));
        return 127;
      },
      Plain());
  const pid_t pid = child.pid();
  recorder_->Watch(pid);
  auto exited = pidscope::testing::WaitExitedNoReap(
      pid, kEventTimeout);  // held as a zombie until the source reports the exit
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->si_code, CLD_EXITED);
  EXPECT_EQ(exited->si_status, 0);
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);

  const Event* exec = recorder_->Find(pid, EventAction::kExec);
  ASSERT_NE(exec, nullptr) << recorder_->Describe(pid);
  EXPECT_LT(recorder_->IndexOf(pid, EventAction::kFork),
            recorder_->IndexOf(pid, EventAction::kExec));
  EXPECT_LT(recorder_->IndexOf(pid, EventAction::kExec),
            recorder_->IndexOf(pid, EventAction::kExit));
  EXPECT_EQ(CommOf(*exec), "true");
  // /bin/true may be gone before anyone reads its exe and cmdline: what is there must be right.
  if (!exec->filename.empty()) {
    EXPECT_EQ(exec->filename, Realpath("/bin/true"));
  }
  if (!exec->args.empty()) {
    EXPECT_EQ(exec->args, "/bin/true\0first arg\0second"s);
    EXPECT_EQ(exec->args_count, 3u);
  }
  const Event* exit = recorder_->Find(pid, EventAction::kExit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->exit_signal, 0);
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kReap)) << recorder_->Describe(pid);
}

TEST_P(FallbackSourceTest, ExitCodeAndKillingSignal) {
  ScopedChild exits = ScopedChild::Fork([] { return 7; }, Plain());
  Pipe block;
  const int block_fd = block.read.get();
  ScopedChild killed =
      ScopedChild::Fork([block_fd] { return ReadByte(block_fd) == 0 ? 0 : 1; }, Plain());
  recorder_->Watch(exits.pid());
  recorder_->Watch(killed.pid());
  ASSERT_EQ(kill(killed.pid(), SIGKILL), 0);

  auto exits_truth = pidscope::testing::WaitExitedNoReap(exits.pid(), kEventTimeout);
  auto killed_truth = pidscope::testing::WaitExitedNoReap(killed.pid(), kEventTimeout);
  ASSERT_TRUE(exits_truth && killed_truth);
  ASSERT_EQ(exits_truth->si_code, CLD_EXITED);
  ASSERT_EQ(exits_truth->si_status, 7);
  ASSERT_EQ(killed_truth->si_code, CLD_KILLED);
  ASSERT_EQ(killed_truth->si_status, SIGKILL);

  ASSERT_TRUE(recorder_->PollUntil([&] {
    return recorder_->Find(exits.pid(), EventAction::kExit) &&
           recorder_->Find(killed.pid(), EventAction::kExit);
  })) << "exits: "
      << recorder_->Describe(exits.pid()) << "; killed: " << recorder_->Describe(killed.pid());
  const Event* exit7 = recorder_->Find(exits.pid(), EventAction::kExit);
  EXPECT_EQ(exit7->exit_code, 7);
  EXPECT_EQ(exit7->exit_signal, 0);
  EXPECT_FALSE(exit7->core_dumped);
  const Event* exit9 = recorder_->Find(killed.pid(), EventAction::kExit);
  EXPECT_EQ(exit9->exit_code, -1);
  EXPECT_EQ(exit9->exit_signal, SIGKILL);
  EXPECT_FALSE(exit9->core_dumped);
  // A pure fork that exits runs no new program.
  EXPECT_EQ(recorder_->Find(exits.pid(), EventAction::kExec), nullptr);

  ASSERT_TRUE(exits.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(killed.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntil([&] {
    return recorder_->Find(exits.pid(), EventAction::kReap) &&
           recorder_->Find(killed.pid(), EventAction::kReap);
  }));
  EXPECT_EQ(recorder_->Count(exits.pid(), EventAction::kExit), 1);
  EXPECT_EQ(recorder_->Count(killed.pid(), EventAction::kExit), 1);
}

TEST_P(FallbackSourceTest, ZombieIsReapedOnlyAfterWait) {
  ScopedChild child = ScopedChild::Fork([] { return 0; }, Plain());
  const pid_t pid = child.pid();
  recorder_->Watch(pid);
  ASSERT_TRUE(pidscope::testing::WaitExitedNoReap(pid, kEventTimeout).has_value());
  auto truth = StatOf(pid);  // the zombie is still listed
  ASSERT_TRUE(truth.has_value());
  ASSERT_EQ(truth->state, 'Z');

  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);
  recorder_->PollFor(SettleTime());
  EXPECT_EQ(recorder_->Find(pid, EventAction::kReap), nullptr)
      << "reap reported while the zombie is still there";

  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kReap)) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Describe(pid), "fork exit reap");
  for (const Event& event : recorder_->events()) {
    EXPECT_EQ(event.start_ticks, truth->start_ticks) << ActionName(event.action);
  }
}

TEST_P(FallbackSourceTest, SetsidInChild) {
  auto actor = SeenThenAct([] { return setsid() == getpid() ? char{1} : char{2}; });
  const pid_t pid = actor->child.pid();
  ASSERT_EQ(ReadByteWithin(actor->done.read.get(), kEventTimeout), char{1});
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kSetsid)) << recorder_->Describe(pid);
  const Event* event = recorder_->Find(pid, EventAction::kSetsid);
  EXPECT_EQ(event->sid, pid);
  EXPECT_EQ(event->pgid, pid);
  EXPECT_EQ(event->ppid, getpid());
  EXPECT_EQ(event->start_ticks, StatOf(pid)->start_ticks);
  EXPECT_EQ(recorder_->Find(pid, EventAction::kSetpgid), nullptr) << "setsid is not a setpgid";
  Finish(actor.get());
}

TEST_P(FallbackSourceTest, CommChangeViaPrctl) {
  auto actor = SeenThenAct(
      [] { return prctl(PR_SET_NAME, "pidscope-named", 0, 0, 0) == 0 ? char{1} : char{2}; });
  const pid_t pid = actor->child.pid();
  ASSERT_EQ(ReadByteWithin(actor->done.read.get(), kEventTimeout), char{1});
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kComm)) << recorder_->Describe(pid);
  EXPECT_EQ(CommOf(*recorder_->Find(pid, EventAction::kComm)), "pidscope-named");
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExec), nullptr) << "a rename is not an exec";
  Finish(actor.get());
}

TEST_P(FallbackSourceTest, SetresuidInChild) {
  auto actor =
      SeenThenAct([] { return setresuid(kNobody, kNobody, kNobody) == 0 ? char{1} : char{2}; });
  const pid_t pid = actor->child.pid();
  ASSERT_EQ(ReadByteWithin(actor->done.read.get(), kEventTimeout), char{1});
  ASSERT_TRUE(recorder_->PollUntil([&] {
    const Event* event = recorder_->Find(pid, EventAction::kCredChange);
    return event != nullptr && event->uid[1] == kNobody;
  })) << recorder_->Describe(pid);
  const Event* event = recorder_->Find(pid, EventAction::kCredChange);
  EXPECT_EQ(event->uid[0], kNobody);
  EXPECT_EQ(event->uid[1], kNobody);
  if (netlink()) {
    EXPECT_FALSE(event->creds_known) << "the connector carries ruid and euid only";
  } else {
    EXPECT_TRUE(event->creds_known);
    EXPECT_EQ(event->uid, (std::array<uint32_t, 4>{kNobody, kNobody, kNobody, kNobody}));
    EXPECT_EQ(event->gid[1], getegid());
  }
  Finish(actor.get());
}

// The leader thread exits (as with pthread_exit()) while another thread runs: the process is alive
// (its leader shows Z with Threads > 1) until the last thread exits, with that thread's status.
TEST_P(FallbackSourceTest, ExitOfLeaderBeforeItsThreadsIsNotTheProcessExit) {
  Pipe go;
  Pipe ready;
  const int go_fd = go.read.get();
  const int ready_fd = ready.write.get();
  ScopedChild child = ScopedChild::Fork(
      [go_fd, ready_fd] {
        static int fds[2];
        fds[0] = go_fd;
        fds[1] = ready_fd;
        pthread_t thread;
        pthread_create(
            &thread, nullptr,
            [](void*) -> void* {
              ReadByte(fds[0]);
              _exit(5);  // exit_group(): the whole process, status 5
            },
            nullptr);
        WriteByte(fds[1], 1);
        // The leader thread alone exits (pthread_exit would unwind into the fork helper).
        syscall(SYS_exit, 0);
        return 0;
      },
      Plain());
  const pid_t pid = child.pid();
  recorder_->Watch(pid);
  ASSERT_EQ(ReadByteWithin(ready.read.get(), kEventTimeout), char{1});
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto stat = StatOf(pid);
        return stat && stat->state == 'Z' && stat->num_threads == 2;
      },
      kEventTimeout))
      << "the leader did not exit ahead of its thread";

  recorder_->PollFor(SettleTime());
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExit), nullptr)
      << "exit reported while a thread still runs: " << recorder_->Describe(pid);

  WriteByte(go.write.get(), 1);
  auto truth = pidscope::testing::WaitExitedNoReap(pid, kEventTimeout);
  ASSERT_TRUE(truth.has_value());
  ASSERT_EQ(truth->si_status, 5);
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Count(pid, EventAction::kExit), 1);
  if (netlink()) {
    // procfs shows the leader's own exit code (0, from pthread_exit), not the group's.
    EXPECT_EQ(recorder_->Find(pid, EventAction::kExit)->exit_code, 5);
  }
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExec), nullptr);
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kReap)) << recorder_->Describe(pid);
}

// A non-leader thread calls execve(): the kernel kills the leader (the connector reports its
// exit) and the thread takes over the PID. The process lives on with a new program.
TEST_P(FallbackSourceTest, ExecFromANonLeaderThreadKeepsTheProcess) {
  Pipe input;
  const int stdin_fd = input.read.get();
  ScopedChild child = ScopedChild::Fork(
      [stdin_fd] {
        static int fd;
        fd = stdin_fd;
        pthread_t thread;
        pthread_create(
            &thread, nullptr,
            [](void*) -> void* {
              dup2(fd, STDIN_FILENO);
              execl("/bin/cat", "cat", "-", static_cast<char*>(nullptr));
              _exit(127);
            },
            nullptr);
        while (true) pause();  // killed by the exec
        return 0;
      },
      Plain());
  const pid_t pid = child.pid();
  recorder_->Watch(pid);
  ASSERT_TRUE(recorder_->PollUntil([&] {
    const Event* exec = recorder_->Find(pid, EventAction::kExec);
    return exec != nullptr && !exec->filename.empty();
  })) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExec)->filename, Realpath("/bin/cat"));
  recorder_->PollFor(SettleTime());
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExit), nullptr)
      << "the old leader's death is not the process's exit: " << recorder_->Describe(pid);

  input.write.reset();  // cat exits 0
  ASSERT_TRUE(pidscope::testing::WaitExitedNoReap(pid, kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);
  recorder_->PollFor(SettleTime());
  EXPECT_EQ(recorder_->Count(pid, EventAction::kExit), 1) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Find(pid, EventAction::kExit)->exit_code, 0);
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kReap)) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Count(pid, EventAction::kReap), 1);
}

// The PID of a reaped zombie goes to a new process (forced through ns_last_pid): the old
// record ends (kReap, with the old start time) before the new one begins.
TEST_P(FallbackSourceTest, ReusedPidEndsTheOldRecordFirst) {
  ScopedChild old_child = ScopedChild::Fork([] { return 0; }, Plain());
  const pid_t pid = old_child.pid();
  recorder_->Watch(pid);
  ASSERT_TRUE(pidscope::testing::WaitExitedNoReap(pid, kEventTimeout).has_value());
  const uint64_t old_start = StatOf(pid)->start_ticks;
  ASSERT_TRUE(recorder_->PollUntilSeen(pid, EventAction::kExit)) << recorder_->Describe(pid);
  // Start times count in ticks: the new process must start in a later one.
  std::this_thread::sleep_for(milliseconds(30));
  ASSERT_TRUE(old_child.Wait(kEventTimeout).has_value());

  Pipe hold;
  const int hold_fd = hold.read.get();
  ScopedChild new_child;
  for (int attempt = 0; attempt < 50 && new_child.pid() != pid; ++attempt) {
    new_child = ScopedChild();  // kills and reaps a child that got another PID
    std::ofstream("/proc/sys/kernel/ns_last_pid") << pid - 1 << std::flush;
    new_child = ScopedChild::Fork([hold_fd] { return ReadByte(hold_fd) == 0 ? 0 : 1; }, Plain());
  }
  if (new_child.pid() != pid) GTEST_SKIP() << "could not get PID " << pid << " again";
  const uint64_t new_start = StatOf(pid)->start_ticks;
  ASSERT_NE(new_start, old_start);

  ASSERT_TRUE(recorder_->PollUntil([&] {
    for (const Event& e : recorder_->events()) {
      if (e.action == EventAction::kFork && e.start_ticks == new_start) return true;
    }
    return false;
  })) << recorder_->Describe(pid);
  EXPECT_EQ(recorder_->Describe(pid), "fork exit reap fork");
  const auto& events = recorder_->events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].start_ticks, old_start);
  EXPECT_EQ(events[1].start_ticks, old_start);
  EXPECT_EQ(events[2].start_ticks, old_start);
  EXPECT_EQ(events[3].start_ticks, new_start);
}

INSTANTIATE_TEST_SUITE_P(Sources, FallbackSourceTest,
                         ::testing::Values(Kind::kNetlink, Kind::kProcfs), KindName);

// ---------------------------------------------------------------------------------------------
// Netlink only.

TEST(NetlinkSource, ThreadsAreNotProcesses) {
  PIDSCOPE_REQUIRE_ROOT();
  NetlinkSource source;
  ASSERT_TRUE(source.Start().ok());
  Recorder recorder(&source);
  ScopedChild child = ScopedChild::Fork(
      [] {
        for (int i = 0; i < 4; ++i) {
          pthread_t thread;
          pthread_create(
              &thread, nullptr,
              [](void*) -> void* {
                prctl(PR_SET_NAME, "a-thread", 0, 0, 0);  // names the thread, not the process
                return nullptr;
              },
              nullptr);
          pthread_join(thread, nullptr);
        }
        return 3;
      },
      Plain());
  recorder.Watch(child.pid());
  ASSERT_TRUE(pidscope::testing::WaitExitedNoReap(child.pid(), kEventTimeout).has_value());
  ASSERT_TRUE(recorder.PollUntilSeen(child.pid(), EventAction::kExit));
  EXPECT_EQ(recorder.Describe(child.pid()), "fork exit");
  EXPECT_EQ(recorder.Find(child.pid(), EventAction::kExit)->exit_code, 3);
  for (const Event& event : recorder.events()) EXPECT_EQ(event.tid, child.pid());
}

TEST(NetlinkSource, RefusedSubscriptionIsAClearError) {
  PIDSCOPE_REQUIRE_ROOT();
  // In a user namespace of its own the kernel ignores the subscription (or refuses the bind on
  // older kernels): Start() must say so instead of waiting for events forever.
  ScopedChild child = ScopedChild::Fork(
      [] {
        if (unshare(CLONE_NEWUSER) != 0) return 10;
        NetlinkSourceOptions options;
        options.subscribe_timeout_ms = 300;
        NetlinkSource source(options);
        Status started = source.Start();
        if (started.ok()) return 11;
        const std::string message = started.error().Message();
        const bool clear = message.find("namespace") != std::string::npos ||
                           message.find("CAP_NET_ADMIN") != std::string::npos;
        return clear ? 0 : 12;
      },
      Plain());
  auto status = child.Wait(kEventTimeout);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0) << "10: unshare failed, 11: Start succeeded, 12: unclear";
}

TEST(NetlinkSource, OverflowIsCountedAsLoss) {
  PIDSCOPE_REQUIRE_ROOT();
  NetlinkSourceOptions options;
  options.receive_buffer_bytes = 1;  // the kernel's minimum: a handful of messages
  NetlinkSource source(options);
  ASSERT_TRUE(source.Start().ok());
  // A burst nobody reads: each child makes fork, exec-less exit and more.
  for (int i = 0; i < 64; ++i) {
    ScopedChild child = ScopedChild::Fork([] { return 0; }, Plain());
    ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  }
  Recorder recorder(&source);
  recorder.PollFor(milliseconds(200));
  const SourceStats stats = source.Stats();
  EXPECT_GE(stats.loss_signals, 1u);
  EXPECT_GE(stats.events_lost, 1u);
  EXPECT_GT(stats.events_received, 0u);
}

// ---------------------------------------------------------------------------------------------
// Procfs only.

TEST(ProcfsPollSource, QuietProcessesProduceNoEvents) {
  PIDSCOPE_REQUIRE_ROOT();
  Pipe hold;
  const int hold_fd = hold.read.get();
  std::vector<ScopedChild> quiet;
  for (int i = 0; i < 3; ++i) {
    quiet.push_back(ScopedChild::Fork([hold_fd] { return ReadByte(hold_fd); }, Plain()));
  }
  // Let the children settle (die_with_parent's prctl and friends) before the baseline.
  for (const ScopedChild& child : quiet) {
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          auto stat = StatOf(child.pid());
          return stat && stat->state == 'S';
        },
        kEventTimeout));
  }
  ProcfsPollSource source(kProcfsIntervalMs);
  ASSERT_TRUE(source.Start().ok());
  Recorder recorder(&source);
  for (const ScopedChild& child : quiet) recorder.Watch(child.pid());
  recorder.Watch(getpid());
  recorder.Watch(1);
  recorder.PollUntil([&] { return source.scans() >= 3; });
  EXPECT_GE(source.scans(), 3u);
  for (const Event& event : recorder.events()) {
    ADD_FAILURE() << "spurious " << ActionName(event.action) << " for pid " << event.pid;
  }
  EXPECT_EQ(source.Stats().events_lost, 0u);
}

// A /proc of our own making: every rule of the diff, deterministically, without privilege.
class FakeProc {
 public:
  struct Proc {
    int32_t pid = 0;
    std::string comm{};
    char state = 'S';
    int32_t ppid = 1;
    int32_t pgid = 0;  // 0: the pid
    int32_t sid = 0;   // 0: the pid
    uint32_t flags = 0;
    int32_t threads = 1;
    uint64_t start = 0;
    int32_t exit_status = 0;
    uint32_t uid = 0;
    std::string exe{};   // "" for none (kernel threads)
    std::string args{};  // NUL-separated
  };

  FakeProc() {
    char tmpl[] = "/tmp/fakeproc.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~FakeProc() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  void Put(const Proc& p) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(root_) / std::to_string(p.pid);
    fs::remove_all(dir);
    fs::create_directories(dir / "ns");
    std::vector<std::string> fields(53, "0");
    fields[1] = std::to_string(p.pid);
    fields[2] = "(" + p.comm + ")";
    fields[3] = std::string(1, p.state);
    fields[4] = std::to_string(p.ppid);
    fields[5] = std::to_string(p.pgid ? p.pgid : p.pid);
    fields[6] = std::to_string(p.sid ? p.sid : p.pid);
    fields[8] = "-1";
    fields[9] = std::to_string(p.flags);
    fields[20] = std::to_string(p.threads);
    fields[22] = std::to_string(p.start);
    fields[38] = "17";
    fields[52] = std::to_string(p.exit_status);
    std::string stat;
    for (size_t i = 1; i < fields.size(); ++i)
      stat += fields[i] + (i + 1 < fields.size() ? " " : "\n");
    Write(dir / "stat", stat);
    std::ostringstream status;
    status << "Name:\t" << p.comm << "\nTgid:\t" << p.pid << "\nPid:\t" << p.pid << "\nPPid:\t"
           << p.ppid << "\nTracerPid:\t0\nUid:\t" << p.uid << '\t' << p.uid << '\t' << p.uid << '\t'
           << p.uid << "\nGid:\t0\t0\t0\t0\nNStgid:\t" << p.pid << "\nNSpid:\t" << p.pid
           << "\nThreads:\t" << p.threads
           << "\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
    Write(dir / "status", status.str());
    Write(dir / "cmdline", p.args.empty() ? std::string() : p.args + '\0');
    if (!p.exe.empty()) fs::create_symlink(p.exe, dir / "exe");
    fs::create_symlink("pid:[4026531836]", dir / "ns" / "pid");
  }
  void Remove(int32_t pid) { std::filesystem::remove_all(root_ + "/" + std::to_string(pid)); }

 private:
  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::string root_;
};

std::string Summary(const std::vector<Event>& events) {
  std::string out;
  for (const Event& event : events) {
    if (!out.empty()) out += ' ';
    out += std::string(ActionName(event.action)) + ":" + std::to_string(event.pid);
  }
  return out;
}

TEST(ProcfsPollSource, DiffRulesOnAFakeProc) {
  FakeProc proc;
  using P = FakeProc::Proc;
  const P init{
      .pid = 1, .comm = "init", .ppid = 0, .start = 1, .exe = "/sbin/init", .args = "/sbin/init"};
  const P kthreadd{.pid = 2, .comm = "kthreadd", .ppid = 0, .flags = 0x00200000, .start = 1};
  const P bash{.pid = 100,
               .comm = "bash",
               .start = 50,
               .uid = 1000,
               .exe = "/usr/bin/bash",
               .args = "-bash"};
  P sleeper{.pid = 150,
            .comm = "sleep",
            .ppid = 100,
            .sid = 100,
            .start = 60,
            .exe = "/usr/bin/sleep",
            .args =
                "sleep\0"
                "100"s};
  P worker{.pid = 160,
           .comm = "bash",
           .ppid = 100,
           .sid = 100,
           .start = 70,
           .exe = "/usr/bin/bash",
           .args = "-bash"};
  P old{.pid = 170, .comm = "old", .start = 80, .exe = "/usr/bin/old", .args = "old"};
  P renamer{.pid = 180,
            .comm = "bash",
            .ppid = 100,
            .sid = 100,
            .start = 90,
            .exe = "/usr/bin/bash",
            .args = "-bash"};
  P execer{.pid = 190,
           .comm = "bash",
           .ppid = 100,
           .sid = 100,
           .start = 95,
           .exe = "/usr/bin/bash",
           .args = "-bash"};
  for (const P& p : {init, kthreadd, bash, sleeper, worker, old, renamer, execer}) proc.Put(p);

  ProcfsPollSource source(ProcfsPollOptions{.interval_ms = 5, .proc_root = proc.root()});
  ASSERT_TRUE(source.Start().ok());
  std::vector<Event> events;
  auto poll = [&](int timeout_ms) {
    auto polled = source.Poll(timeout_ms, [&](const Event& e) { events.push_back(e); });
    ASSERT_TRUE(polled.ok()) << polled.error().Message();
  };
  poll(60);
  EXPECT_GE(source.scans(), 3u);
  EXPECT_EQ(Summary(events), "") << "nothing changed";

  // One interval's worth of changes.
  P bash_root = bash;
  bash_root.uid = 0;
  proc.Put(bash_root);       // credentials
  proc.Remove(sleeper.pid);  // exited and reaped unseen
  worker.state = 'Z';
  worker.exit_status = 7 << 8;
  worker.exe.clear();
  worker.args.clear();
  proc.Put(worker);  // became a zombie
  proc.Put(P{.pid = 170, .comm = "new", .start = 900, .exe = "/usr/bin/new", .args = "new"});
  renamer.comm = "renamed";
  proc.Put(renamer);  // prctl(PR_SET_NAME)
  execer.comm = "python3";
  execer.exe = "/usr/bin/python3.11";
  execer.args = "python3\0x.py"s;
  proc.Put(execer);  // exec
  proc.Put(P{.pid = 300,
             .comm = "bash",
             .ppid = 100,
             .sid = 100,
             .start = 500,
             .exe = "/usr/bin/bash",
             .args = "-bash"});  // a pure fork
  proc.Put(P{.pid = 290,
             .comm = "ls",
             .ppid = 300,
             .sid = 100,
             .start = 500,
             .exe = "/usr/bin/ls",
             .args = "ls\0-l"s});  // its child, lower PID, same tick
  proc.Put(P{.pid = 310,
             .comm = "bash",
             .ppid = 100,
             .start = 501,
             .exe = "/usr/bin/bash",
             .args = "-bash"});  // forked and setsid() before seen
  proc.Put(P{.pid = 320,
             .comm = "true",
             .state = 'Z',
             .ppid = 100,
             .sid = 100,
             .start = 502});  // exec'd and exited before seen
  proc.Put(P{.pid = 400,
             .comm = "kworker/0:1",
             .ppid = 2,
             .sid = 0,
             .flags = 0x00200000,
             .start = 503});  // a kernel thread

  events.clear();
  poll(100);
  EXPECT_EQ(Summary(events),
            "exit:150 exit:170 reap:150 reap:170 "  // vanished (170's PID was reused)
            "cred_change:100 comm:180 exec:190 "    // changes of known processes
            "fork:300 fork:290 exec:290 fork:310 fork:320 exec:320 exit:320 fork:400 "
            "fork:170 exec:170 "  // new processes, parents first
            "exit:160");          // new zombies

  auto find = [&](EventAction action, int32_t pid) -> const Event& {
    for (const Event& e : events) {
      if (e.action == action && e.pid == pid) return e;
    }
    static const Event none;
    ADD_FAILURE() << "no " << ActionName(action) << " for " << pid;
    return none;
  };
  EXPECT_EQ(find(EventAction::kExit, 150).exit_code, -1);  // unknown: never seen as a zombie
  EXPECT_EQ(find(EventAction::kExit, 150).exit_signal, 0);
  EXPECT_EQ(find(EventAction::kExit, 170).start_ticks, 80u);
  EXPECT_EQ(find(EventAction::kReap, 170).start_ticks, 80u);
  EXPECT_EQ(find(EventAction::kFork, 170).start_ticks, 900u);
  EXPECT_EQ(find(EventAction::kExit, 160).exit_code, 7);
  EXPECT_EQ(find(EventAction::kExit, 320).exit_code, 0);
  EXPECT_EQ(CommOf(find(EventAction::kExec, 320)), "true");
  EXPECT_EQ(find(EventAction::kExec, 320).filename, "");
  const Event& cred = find(EventAction::kCredChange, 100);
  EXPECT_TRUE(cred.creds_known);
  EXPECT_EQ(cred.uid[0], 0u);
  EXPECT_EQ(CommOf(find(EventAction::kComm, 180)), "renamed");
  const Event& exec190 = find(EventAction::kExec, 190);
  EXPECT_EQ(exec190.filename, "/usr/bin/python3.11");
  EXPECT_EQ(exec190.args, "python3\0x.py"s);
  EXPECT_EQ(exec190.args_count, 2u);
  EXPECT_EQ(CommOf(exec190), "python3");
  const Event& fork290 = find(EventAction::kFork, 290);
  EXPECT_EQ(fork290.ppid, 300);
  EXPECT_EQ(fork290.start_ticks, 500u);
  EXPECT_TRUE(fork290.pidns_known);
  EXPECT_EQ(fork290.pidns_inode, 4026531836u);
  EXPECT_EQ(fork290.ns_pids[0], 290);
  EXPECT_EQ(find(EventAction::kExec, 290).filename, "/usr/bin/ls");
  EXPECT_EQ(find(EventAction::kFork, 310).sid, 310);  // a fork carries what it is now

  // The zombie goes: only its reap is new. Then nothing.
  proc.Remove(worker.pid);
  events.clear();
  poll(100);
  EXPECT_EQ(Summary(events), "reap:160");
  events.clear();
  poll(60);
  EXPECT_EQ(Summary(events), "");
  EXPECT_EQ(source.Stats().events_lost, 0u);
  EXPECT_EQ(source.Stats().loss_signals, 0u);
}

}  // namespace
}  // namespace pidscope
