// Child processes for tests: run a command and capture its output under a timeout, own a child
// (and everything it spawned) so that no test leaks processes, and build process structures
// whose truth is known because the processes themselves report what the kernel told them.
//
// The truth does not come from procfs (which is what pidscope reads): a process reports its own
// getpid()/getsid()/getresuid()/capget()/rt_sigaction() values, the PIDs other namespaces see
// come from SCM_CREDENTIALS, which the kernel translates into the receiver's PID namespace, and
// their process groups and sessions from getpgid()/getsid() called in those namespaces. /proc is
// read only to learn when a state has settled (exec'd, stopped, exited) and to find a tree.
#pragma once

#include <signal.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pidscope/unique_fd.hpp"

namespace pidscope::testing {

using std::chrono::milliseconds;

inline constexpr milliseconds kDefaultCommandTimeout{30'000};

// ---------------------------------------------------------------------------------------------
// Running a command.

struct RunOptions {
  milliseconds timeout = kDefaultCommandTimeout;
  // The whole environment of the command ("KEY=value"); empty keeps the test's own.
  std::vector<std::string> env;
};

struct RunResult {
  bool started = false;    // the program was executed
  bool timed_out = false;  // killed (with its process group) when the timeout passed
  int exit_code = -1;      // exit status, -1 when killed by a signal
  int term_signal = 0;     // the signal that killed it, 0 if it exited
  std::string out;
  std::string err;

  bool ok() const { return started && !timed_out && exit_code == 0; }
  // "exit 1, stderr: ..." for assertion messages.
  std::string Describe() const;
};

// Runs argv[0] (looked up in PATH) with its own process group, stdin from /dev/null, and
// returns its stdout and stderr. No shell is involved.
RunResult Run(const std::vector<std::string>& argv, const RunOptions& options = {});
// Runs `script` with /bin/sh -c, for the rare test that wants a shell.
RunResult RunShell(const std::string& script, const RunOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Owning children.

// Every process whose parent chain leads to `root` (read from /proc; ascending, without root).
std::vector<pid_t> Descendants(pid_t root);
// The processes whose parent is `parent` (read from /proc; ascending).
std::vector<pid_t> Children(pid_t parent);

// A child and everything it starts, killed and reaped when the owner goes away, even when the
// test fails. The test process becomes a child sub-reaper so that orphans of the tree come back
// to it and are reaped rather than left as zombies of PID 1.
class ScopedChild {
 public:
  struct Options {
    bool new_process_group = true;
    bool capture_stdout = false;  // ReadLine() reads it
    bool die_with_parent = true;  // PR_SET_PDEATHSIG(SIGKILL) in the child
  };

  // Forks; the child runs `body` and exits with its return value. `body` runs in a fresh copy
  // of a single-threaded test process: it may allocate, but must never return into gtest.
  static ScopedChild Fork(const std::function<int()>& body, const Options& options);
  static ScopedChild Fork(const std::function<int()>& body) { return Fork(body, Options{}); }
  // Forks and executes argv (PATH lookup); stdin is /dev/null.
  static ScopedChild Spawn(const std::vector<std::string>& argv, const Options& options);
  static ScopedChild Spawn(const std::vector<std::string>& argv) { return Spawn(argv, Options{}); }

  ScopedChild() = default;
  ScopedChild(ScopedChild&& other) noexcept;
  ScopedChild& operator=(ScopedChild&& other) noexcept;
  ScopedChild(const ScopedChild&) = delete;
  ScopedChild& operator=(const ScopedChild&) = delete;
  ~ScopedChild() { Kill(); }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }

  // Reads one line of the child's stdout (without the '\n'); nullopt on timeout or EOF.
  std::optional<std::string> ReadLine(milliseconds timeout);
  // Waits for the child to exit; returns its wait status, nullopt on timeout.
  std::optional<int> Wait(milliseconds timeout);
  // Stops the whole tree (so nothing forks behind our back), kills it with SIGKILL, reaps the
  // child and waits (bounded) until every descendant has left the process table.
  void Kill();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdout_;
  std::string pending_;  // stdout read past the last line
  bool reaped_ = false;
};

// ---------------------------------------------------------------------------------------------
// Process structures with known truth.

// What one process reports: keys and values without NUL bytes (comm and cwd are bytes, not text).
using Fields = std::map<std::string, std::string>;

// One process of the structure as the kernel showed it to the process itself and to the
// processes that received its reports.
struct RoleTruth {
  std::string name;    // "L1.zombie"
  std::string parent;  // the role that forked it ("" for the structure's root)
  int level = 0;       // depth of its PID namespace below the test's
  Fields self;         // its own report (values in its own namespaces)
  // PID, process group and session at every PID-namespace level, the test's first: from
  // SCM_CREDENTIALS, getpgid()/getsid() called in that namespace, or 0 where the leader is
  // not visible (as the kernel prints NSpgid/NSsid).
  std::vector<int32_t> ns_pid;
  std::vector<int32_t> ns_pgid;
  std::vector<int32_t> ns_sid;

  int32_t pid() const { return ns_pid.front(); }
  // A field of the self report; "" when absent.
  const std::string& Get(std::string_view key) const;
  uint64_t GetU64(std::string_view key, int base = 10) const;
};

// The comm the Lk.comm processes give themselves: a ')' and a newline, which break parsers
// that split /proc/<pid>/stat at the first ')' or read it line by line.
inline constexpr const char* kHostileComm = "a) b\nc";

struct StructureConfig {
  std::string work_dir;                  // absolute, existing: executables and odd directories
  std::vector<std::string> cgroup_dirs;  // the level-1 namespace moves into these (may be empty)
  milliseconds timeout{30'000};          // for the whole build, including states settling
  std::string comm = kHostileComm;       // of the Lk.comm processes
};

// The structure, by construction (each level Lk, k = 0, 1, 2, has the same family):
//
//   test ── L0.root (setsid) ─┬─ family
//                             └─ L0.unshare: unshare(PID|NS|UTS|IPC|NET|CGROUP|TIME) ──
//                                  L1.root (PID 1, no setsid: its session is not visible) ─┬─
//                                  family
//                                                                                          └─
//                                                                                          clone(CLONE_NEWPID)
//                                                                                          ──
//                                                                                               L2.root
//                                                                                               (PID
//                                                                                               1)
//                                                                                               ──
//                                                                                               family
// family:
//   pty (setsid + controlling pty) ─┬─ fg (own group, the tty's foreground) ── fgkid
//                                   └─ bg (the leader's group, background)
//   grp (setpgid) ── grpkid
//   zparent ── zombie (comm "zomb\xffie", exit 7, never reaped)
//   creds: setgroups, setresgid(2001,2002,2003), setresuid(1001,1002,1003), fs 1004/2004,
//          caps e={kill} p={chown,kill,net_bind_service} i={kill,net_bind_service}
//          a={net_bind_service}, bounding without sys_boot and net_raw
//   comm (setsid, comm StructureConfig::comm, by default "a) b\nc")
//   threads (4 threads)       zleader (main thread exited, one thread left: state Z)
//   signals (blocked, ignored, caught incl. 32 and 64)
//   stopped (SIGSTOP)         tracer ── tracee (PTRACE_SEIZE + INTERRUPT: state t)
//   argv: /bin/sh -c 'read -r _' with hostile arguments (newline, quotes, \xff, "", 100 KiB)
//   deleted: a copy of sleep, unlinked once running
//   fakedel: a copy of sleep named "... (deleted)", not deleted
//   cwd: sleeps in a directory named with a space and a newline
//   emptyargv: cat with argv = {""}
class ProcessStructure {
 public:
  // Builds the structure and waits until every process has reported and settled (stopped,
  // traced, zombie, exec'd). On failure returns nullptr and says why in `error`; whatever was
  // started is killed.
  static std::unique_ptr<ProcessStructure> Build(const StructureConfig& config, std::string* error);

  const std::map<std::string, RoleTruth>& roles() const { return roles_; }
  const RoleTruth& role(const std::string& name) const;
  // Host PIDs of every process of the structure.
  std::set<int32_t> pids() const;

  // Construction facts.
  static std::vector<std::string> FamilyRoles();  // "pty", "fg", ... without the level prefix
  static std::vector<std::string> HostileArgv();  // argv of the Lk.argv processes
  static constexpr const char* kZombieComm = "zomb\xffie";
  static constexpr int kZombieExitCode = 7;
  // Executable paths of the exec'd roles (work_dir based) and the odd working directory.
  static std::string DeletedExePath(const std::string& work_dir, int level);
  static std::string FakeDeletedExePath(const std::string& work_dir, int level);
  static std::string OddCwd(const std::string& work_dir);

  // Kills the structure (also done by the destructor).
  void Kill() { root_.Kill(); }

 private:
  ScopedChild root_;
  std::map<std::string, RoleTruth> roles_;
};

// Reads a whole file (e.g. under /proc); nullopt when it cannot be opened or read.
std::optional<std::string> ReadFile(const std::string& path);
// readlink(2) as a string; nullopt on error.
std::optional<std::string> ReadLink(const std::string& path);
// Field 22 of /proc/<pid>/stat; nullopt when the process is gone.
std::optional<uint64_t> StartTicks(pid_t pid);
// Polls `done` every few milliseconds until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, milliseconds timeout);
// Waits (without reaping) until `pid`, a child of the caller, has exited; its waitid() report.
std::optional<siginfo_t> WaitExitedNoReap(pid_t pid, milliseconds timeout);

// A temporary directory /tmp/<prefix>XXXXXX, removed with what it holds.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pidscope-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pidscope::testing
