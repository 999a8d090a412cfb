#include "support/subprocess.hpp"

#include <filesystem>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace pidscope::testing {

namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000));
}

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

// argv/envp for exec, built before fork so the child only calls async-signal-safe functions.
struct CStrings {
  explicit CStrings(const std::vector<std::string>& strings) {
    for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
  }
  std::vector<char*> pointers;
  char** get() { return pointers.data(); }
};

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// The test process adopts orphans of the trees it starts, so it can reap them.
void BecomeSubreaper() {
  static bool done = false;
  if (!done) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    done = true;
  }
}

struct StatLine {
  pid_t ppid = 0;
  char state = '?';
  uint64_t start_ticks = 0;
};

std::optional<StatLine> ReadStatLine(pid_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // Fields after the comm: state(3) ppid(4) ... starttime(22).
  std::vector<std::string_view> fields;
  std::string_view rest = std::string_view(*text).substr(close + 2);
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    fields.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (fields.size() < 20) return std::nullopt;
  StatLine line;
  line.state = fields[0].empty() ? '?' : fields[0][0];
  std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), line.ppid);
  std::from_chars(fields[19].data(), fields[19].data() + fields[19].size(), line.start_ticks);
  return line;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Small file helpers.

std::optional<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::optional<std::string> ReadLink(const std::string& path) {
  std::string buf(4096, '\0');
  while (true) {
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

std::optional<uint64_t> StartTicks(pid_t pid) {
  auto line = ReadStatLine(pid);
  if (!line) return std::nullopt;
  return line->start_ticks;
}

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

std::optional<siginfo_t> WaitExitedNoReap(pid_t pid, milliseconds timeout) {
  std::optional<siginfo_t> result;
  WaitUntil(
      [&] {
        siginfo_t info{};
        if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
          result = info;
          return true;
        }
        return false;
      },
      timeout);
  return result;
}

TempDir::TempDir(const std::string& prefix) {
  std::string name = "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(name.data()) == nullptr) std::abort();
  path_ = name;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// ---------------------------------------------------------------------------------------------
// Run.

std::string RunResult::Describe() const {
  std::string text;
  if (!started) {
    text = "could not execute";
  } else if (timed_out) {
    text = "timed out";
  } else if (term_signal != 0) {
    text = std::string("killed by ") + strsignal(term_signal);
  } else {
    text = "exit " + std::to_string(exit_code);
  }
  if (!err.empty()) text += ", stderr: " + err.substr(0, 2000);
  return text;
}

RunResult Run(const std::vector<std::string>& argv, const RunOptions& options) {
  RunResult result;
  if (argv.empty()) return result;
  int out[2], err[2], exec_status[2];
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return result;
  }
  if (pipe2(exec_status, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    return result;
  }
  UniqueFd out_read(out[0]), err_read(err[0]), status_read(exec_status[0]);
  CStrings args(argv);
  CStrings envp(options.env);

  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    if (options.env.empty()) {
      execvp(args.get()[0], args.get());
    } else {
      execvpe(args.get()[0], args.get(), envp.get());
    }
    int error = errno;
    ssize_t ignored = write(exec_status[1], &error, sizeof error);
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(exec_status[1]);
  if (pid < 0) return result;
  setpgid(pid, pid);

  const auto deadline = Clock::now() + options.timeout;
  bool out_open = true, err_open = true, status_open = true;
  int exec_errno = 0;
  char buf[65536];
  while ((out_open || err_open || status_open) && !result.timed_out) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_open) fds[n++] = {out_read.get(), POLLIN, 0};
    if (err_open) fds[n++] = {err_read.get(), POLLIN, 0};
    if (status_open) fds[n++] = {status_read.get(), POLLIN, 0};
    int ready = poll(fds, n, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      result.timed_out = true;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (fds[i].fd == status_read.get()) {
        if (got == sizeof exec_errno) std::memcpy(&exec_errno, buf, sizeof exec_errno);
        if (got <= 0 || got == sizeof exec_errno) status_open = false;
        continue;
      }
      std::string& sink = fds[i].fd == out_read.get() ? result.out : result.err;
      bool& open_flag = fds[i].fd == out_read.get() ? out_open : err_open;
      if (got <= 0) {
        open_flag = false;
      } else {
        sink.append(buf, static_cast<size_t>(got));
      }
    }
  }
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  // Reap it; a child that ignores the end of its output is killed after a grace period, and
  // one that cannot even die (stuck in the kernel) is abandoned after another.
  int status = 0;
  const auto kill_at = Clock::now() + milliseconds(10'000);
  const auto give_up_at = kill_at + milliseconds(10'000);
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if ((r < 0 && errno != EINTR) || Clock::now() >= give_up_at) {
      result.timed_out = true;
      return result;
    }
    if (Clock::now() >= kill_at) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  result.started = exec_errno == 0;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  if (!result.started) result.err = std::string("exec: ") + std::strerror(exec_errno);
  return result;
}

RunResult RunShell(const std::string& script, const RunOptions& options) {
  return Run({"/bin/sh", "-c", script}, options);
}

// ---------------------------------------------------------------------------------------------
// ScopedChild.

std::vector<pid_t> Descendants(pid_t root) {
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* entry = readdir(dir)) {
      pid_t pid = 0;
      const char* name = entry->d_name;
      auto [end, ec] = std::from_chars(name, name + std::strlen(name), pid);
      if (ec != std::errc{} || *end != '\0' || pid <= 0) continue;
      if (auto line = ReadStatLine(pid)) children[line->ppid].push_back(pid);
    }
    closedir(dir);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> stack = {root};
  while (!stack.empty()) {
    pid_t pid = stack.back();
    stack.pop_back();
    for (pid_t child : children[pid]) {
      if (child == root) continue;
      out.push_back(child);
      stack.push_back(child);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : Descendants(parent)) {
    auto line = ReadStatLine(pid);
    if (line && line->ppid == parent) out.push_back(pid);
  }
  return out;
}

ScopedChild ScopedChild::Fork(const std::function<int()>& body, const Options& options) {
  BecomeSubreaper();
  int out[2] = {-1, -1};
  if (options.capture_stdout && pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error(ErrnoText("pipe"));
  }
  const pid_t parent = getpid();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::string error = ErrnoText("fork");
    if (options.capture_stdout) {
      close(out[0]);
      close(out[1]);
    }
    throw std::runtime_error(error);
  }
  if (pid == 0) {
    if (options.new_process_group) setpgid(0, 0);
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (getppid() != parent) _exit(126);
    }
    if (options.capture_stdout) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
    }
    int rc = 125;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ScopedChild: %s\n", e.what());
    }
    std::fflush(nullptr);
    _exit(rc);
  }
  ScopedChild child;
  child.pid_ = pid;
  if (options.new_process_group) setpgid(pid, pid);
  child.pidfd_.reset(PidfdOpen(pid));
  if (options.capture_stdout) {
    close(out[1]);
    child.stdout_.reset(out[0]);
  }
  return child;
}

ScopedChild ScopedChild::Spawn(const std::vector<std::string>& argv, const Options& options) {
  auto args = std::make_shared<CStrings>(argv);
  return Fork(
      [args]() {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execvp(args->get()[0], args->get());
        std::fprintf(stderr, "exec %s: %s\n", args->get()[0], std::strerror(errno));
        return 127;
      },
      options);
}

ScopedChild::ScopedChild(ScopedChild&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      stdout_(std::move(other.stdout_)),
      pending_(std::move(other.pending_)),
      reaped_(std::exchange(other.reaped_, false)) {}

ScopedChild& ScopedChild::operator=(ScopedChild&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    stdout_ = std::move(other.stdout_);
    pending_ = std::move(other.pending_);
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

std::optional<std::string> ScopedChild::ReadLine(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    size_t eol = pending_.find('\n');
    if (eol != std::string::npos) {
      std::string line = pending_.substr(0, eol);
      pending_.erase(0, eol + 1);
      return line;
    }
    if (!stdout_) return std::nullopt;
    pollfd fd = {stdout_.get(), POLLIN, 0};
    int ready = poll(&fd, 1, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = read(stdout_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      stdout_.reset();
      continue;
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<int> ScopedChild::Wait(milliseconds timeout) {
  if (pid_ <= 0 || reaped_) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return status;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    if (pidfd_) {
      pollfd fd = {pidfd_.get(), POLLIN, 0};
      poll(&fd, 1, std::min(RemainingMs(deadline), 50));
    } else {
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
}

void ScopedChild::Kill() {
  if (pid_ <= 0 || reaped_) return;
  // Freeze the tree first: a stopped process cannot fork, so the set stops growing. A process
  // forked just before it was stopped shows up in the next round.
  std::unordered_map<pid_t, uint64_t> members;  // pid -> start ticks when first seen
  if (pidfd_) {
    PidfdSendSignal(pidfd_.get(), SIGSTOP);
  } else {
    kill(pid_, SIGSTOP);
  }
  for (int round = 0; round < 100; ++round) {
    bool grew = false;
    for (pid_t pid : Descendants(pid_)) {
      if (members.contains(pid)) continue;
      auto ticks = StartTicks(pid);
      if (!ticks) continue;
      members.emplace(pid, *ticks);
      kill(pid, SIGSTOP);
      grew = true;
    }
    if (!grew) break;
  }
  for (const auto& [pid, ticks] : members) {
    if (StartTicks(pid) == ticks) kill(pid, SIGKILL);
  }
  if (pidfd_) {
    PidfdSendSignal(pidfd_.get(), SIGKILL);
  } else {
    kill(pid_, SIGKILL);
  }
  if (!Wait(milliseconds(10'000))) {
    std::fprintf(stderr, "ScopedChild: pid %d did not die within 10 s\n", pid_);
  }
  // Orphans of the tree were re-parented to this (sub-reaper) process: reap them, and wait
  // until every member has left the process table.
  const auto deadline = Clock::now() + milliseconds(10'000);
  while (!members.empty() && Clock::now() < deadline) {
    for (auto it = members.begin(); it != members.end();) {
      waitpid(it->first, nullptr, WNOHANG);
      if (StartTicks(it->first) != it->second) {
        it = members.erase(it);
      } else {
        ++it;
      }
    }
    if (!members.empty()) std::this_thread::sleep_for(milliseconds(2));
  }
  for (const auto& [pid, ticks] : members) {
    std::fprintf(stderr, "ScopedChild: descendant %d of %d is still present\n", pid, pid_);
  }
  pidfd_.reset();
  stdout_.reset();
}

// ---------------------------------------------------------------------------------------------
// Process structures: the code below runs in the structure's processes (forked from the
// single-threaded test process), except where marked "test side".

const std::string& RoleTruth::Get(std::string_view key) const {
  static const std::string kEmpty;
  auto it = self.find(std::string(key));
  return it == self.end() ? kEmpty : it->second;
}

uint64_t RoleTruth::GetU64(std::string_view key, int base) const {
  const std::string& text = Get(key);
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value, base);
  return value;
}

namespace {

constexpr const char* kNsTypes[] = {"pid", "mnt", "net", "user", "uts", "ipc", "cgroup", "time"};
constexpr int kLevels = 3;

std::string EncodeFields(const Fields& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    out.append(key);
    out.push_back('\0');
    out.append(value);
    out.push_back('\0');
  }
  return out;
}

Fields DecodeFields(std::string_view data) {
  Fields fields;
  while (!data.empty()) {
    size_t key_end = data.find('\0');
    if (key_end == std::string_view::npos) break;
    size_t value_end = data.find('\0', key_end + 1);
    if (value_end == std::string_view::npos) break;
    fields.emplace(std::string(data.substr(0, key_end)),
                   std::string(data.substr(key_end + 1, value_end - key_end - 1)));
    data.remove_prefix(value_end + 1);
  }
  return fields;
}

std::string Hex64(uint64_t value) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

// What a structure process knows about where it is.
struct Context {
  std::string role;
  std::string parent;
  int level = 0;
  int host_fd = -1;   // reports to the test (SO_PASSCRED there)
  int relay_fd = -1;  // reports to the level-1 relay (level-2 processes only)
  int tty_fd = -1;    // the controlling terminal, when the family gave us one
  std::string tty;    // "pts/N"
  StructureConfig config;
};
Context g_context;

[[noreturn]] void Idle() {
  while (true) pause();
}

// The process's own view, from system calls only.
Fields SelfView() {
  Fields f;
  f["role"] = g_context.role;
  f["parent"] = g_context.parent;
  f["level"] = std::to_string(g_context.level);
  f["pid"] = std::to_string(getpid());
  f["ppid"] = std::to_string(getppid());
  f["pgid"] = std::to_string(getpgid(0));
  f["sid"] = std::to_string(getsid(0));

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  // setfsuid() with an invalid id changes nothing and returns the current fs id.
  uid_t fsuid = static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1)));
  gid_t fsgid = static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1)));
  f["uid"] = std::to_string(ruid) + "," + std::to_string(euid) + "," + std::to_string(suid) + "," +
             std::to_string(fsuid);
  f["gid"] = std::to_string(rgid) + "," + std::to_string(egid) + "," + std::to_string(sgid) + "," +
             std::to_string(fsgid);
  gid_t groups[256];
  int ngroups = getgroups(256, groups);
  std::vector<gid_t> sorted(groups, groups + std::max(ngroups, 0));
  std::sort(sorted.begin(), sorted.end());
  std::string group_list;
  for (gid_t g : sorted) {
    if (!group_list.empty()) group_list.push_back(',');
    group_list += std::to_string(g);
  }
  f["groups"] = group_list;

  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  syscall(SYS_capget, &header, data);
  auto join = [](uint32_t lo, uint32_t hi) { return uint64_t{lo} | (uint64_t{hi} << 32); };
  f["cap_eff"] = Hex64(join(data[0].effective, data[1].effective));
  f["cap_prm"] = Hex64(join(data[0].permitted, data[1].permitted));
  f["cap_inh"] = Hex64(join(data[0].inheritable, data[1].inheritable));
  uint64_t bounding = 0, ambient = 0;
  for (int cap = 0; cap < 64; ++cap) {
    int in_bounding = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_bounding < 0) break;  // past the last capability this kernel knows
    if (in_bounding == 1) bounding |= uint64_t{1} << cap;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) ambient |= uint64_t{1} << cap;
  }
  f["cap_bnd"] = Hex64(bounding);
  f["cap_amb"] = Hex64(ambient);

  // Raw system calls: glibc hides signals 32 and 33 (its own) from sigaction/sigprocmask.
  uint64_t blocked = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &blocked, sizeof blocked);
  uint64_t ignored = 0, caught = 0;
  for (int sig = 1; sig <= 64; ++sig) {
    struct {
      void* handler;
      unsigned long flags;
      void* restorer;
      uint64_t mask;
    } action = {};
    if (syscall(SYS_rt_sigaction, sig, nullptr, &action, sizeof(uint64_t)) != 0) continue;
    if (action.handler == reinterpret_cast<void*>(SIG_IGN)) {
      ignored |= uint64_t{1} << (sig - 1);
    } else if (action.handler != reinterpret_cast<void*>(SIG_DFL)) {
      caught |= uint64_t{1} << (sig - 1);
    }
  }
  f["sig_blk"] = Hex64(blocked);
  f["sig_ign"] = Hex64(ignored);
  f["sig_cgt"] = Hex64(caught);

  char comm[17] = {};
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  f["comm"] = comm;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) != nullptr) f["cwd"] = cwd;
  for (const char* type : kNsTypes) {
    struct stat st {};
    if (stat((std::string("/proc/self/ns/") + type).c_str(), &st) == 0) {
      f[std::string("ns.") + type] = std::to_string(st.st_ino);
    }
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  f["realtime_ns"] = std::to_string(static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec);
  if (g_context.tty_fd >= 0) {
    f["tty"] = g_context.tty;
    f["tpgid"] = std::to_string(tcgetpgrp(g_context.tty_fd));
    pid_t tty_sid = 0;
    if (ioctl(g_context.tty_fd, TIOCGSID, &tty_sid) == 0) f["tty_sid"] = std::to_string(tty_sid);
  }
  return f;
}

void SendTo(int fd, const std::string& payload) {
  if (fd < 0) return;
  while (send(fd, payload.data(), payload.size(), 0) < 0 && errno == EINTR) {
  }
}

// Sends the self view (plus `extra`) to the test and, from level 2, to the level-1 relay.
void Report(const Fields& extra = {}) {
  Fields fields = SelfView();
  for (const auto& [key, value] : extra) fields[key] = value;
  std::string payload = EncodeFields(fields);
  if (g_context.level >= 2) SendTo(g_context.relay_fd, payload);
  SendTo(g_context.host_fd, payload);
}

// Tells the test that this role could not be built, then exits.
[[noreturn]] void Fail(const std::string& what) {
  Fields fields = {{"role", g_context.role}, {"error", g_context.role + ": " + what}};
  SendTo(g_context.host_fd, EncodeFields(fields));
  _exit(1);
}

void Check(bool ok, const std::string& what) {
  if (!ok) Fail(ErrnoText(what));
}

using RoleBody = std::function<void()>;

// Forks a structure process that runs `body` as `name` and then idles forever.
pid_t SpawnRole(const std::string& name, const RoleBody& body) {
  pid_t pid = fork();
  Check(pid >= 0, "fork " + name);
  if (pid == 0) {
    g_context.parent = g_context.role;
    g_context.role = name;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    body();
    Idle();
  }
  return pid;
}

// Like SpawnRole, with clone(CLONE_NEWPID): the child is PID 1 of a new PID namespace.
pid_t SpawnNamespaceInit(const std::string& name, const RoleBody& body) {
  constexpr size_t kStackSize = 1 << 20;
  static char* stack = static_cast<char*>(std::malloc(kStackSize));
  struct Start {
    std::string name;
    const RoleBody* body;
  };
  static Start start;
  start = Start{name, &body};
  auto entry = [](void*) -> int {
    g_context.parent = g_context.role;
    g_context.role = start.name;
    g_context.level += 1;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    (*start.body)();
    Idle();
  };
  pid_t pid = clone(entry, stack + kStackSize, CLONE_NEWPID | SIGCHLD, nullptr);
  Check(pid >= 0, "clone(CLONE_NEWPID) " + name);
  return pid;
}

std::string Prefix() { return "L" + std::to_string(g_context.level) + "."; }

void ReadByte(int fd) {
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

void WriteByte(int fd) {
  char c = 'x';
  while (write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

// setsid, a new pty as the controlling terminal, a foreground group and a background member.
void RolePty() {
  Check(setsid() == getpid(), "setsid");
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  Check(master >= 0, "posix_openpt");
  Check(grantpt(master) == 0 && unlockpt(master) == 0, "grantpt/unlockpt");
  const char* slave_name = ptsname(master);
  Check(slave_name != nullptr, "ptsname");
  std::string slave_path = slave_name;
  int slave = open(slave_path.c_str(), O_RDWR);
  Check(slave >= 0, "open " + slave_path);
  Check(ioctl(slave, TIOCSCTTY, 0) == 0, "TIOCSCTTY");
  g_context.tty_fd = slave;
  g_context.tty = slave_path.substr(std::strlen("/dev/"));

  int grouped[2], proceed[2];
  Check(pipe(grouped) == 0 && pipe(proceed) == 0, "pipe");
  const std::string prefix = Prefix();
  pid_t fg = SpawnRole(prefix + "fg", [&] {
    Check(setpgid(0, 0) == 0, "setpgid");
    WriteByte(grouped[1]);
    ReadByte(proceed[0]);  // the leader made us the foreground group
    SpawnRole(prefix + "fgkid", [] { Report(); });
    Report();
  });
  ReadByte(grouped[0]);
  Check(tcsetpgrp(slave, fg) == 0, "tcsetpgrp");
  WriteByte(proceed[1]);
  SpawnRole(prefix + "bg", [] { Report(); });
  Report();
}

void RoleGroup() {
  Check(setpgid(0, 0) == 0, "setpgid");
  SpawnRole(Prefix() + "grpkid", [] { Report(); });
  Report();
}

void RoleZombieParent() {
  pid_t zombie = SpawnRole(Prefix() + "zombie", [] {
    prctl(PR_SET_NAME, ProcessStructure::kZombieComm, 0, 0, 0);
    Report();
    _exit(ProcessStructure::kZombieExitCode);
  });
  siginfo_t info{};
  // WNOWAIT: learn that it exited without reaping it.
  Check(waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT) == 0, "waitid");
  Report({{"zombie_exit_code", std::to_string(info.si_status)}});
}

void SetCaps(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  Check(syscall(SYS_capset, &header, data) == 0, "capset");
}

constexpr uint64_t Cap(int cap) { return uint64_t{1} << cap; }

void RoleCredentials() {
  const gid_t groups[] = {3003, 1001, 2002};  // the kernel keeps them sorted
  Check(setgroups(3, groups) == 0, "setgroups");
  Check(prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) == 0, "drop CAP_SYS_BOOT");
  Check(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0) == 0, "drop CAP_NET_RAW");
  Check(setresgid(2001, 2002, 2003) == 0, "setresgid");
  Check(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0, "PR_SET_KEEPCAPS");
  Check(setresuid(1001, 1002, 1003) == 0, "setresuid");
  // The effective set was cleared; the permitted set was kept. Use it to set the fs ids.
  uint64_t all = Cap(CAP_SETUID) | Cap(CAP_SETGID) | Cap(CAP_CHOWN) | Cap(CAP_KILL) |
                 Cap(CAP_NET_BIND_SERVICE);
  SetCaps(Cap(CAP_SETUID) | Cap(CAP_SETGID), all, 0);
  setfsuid(1004);
  setfsgid(2004);
  SetCaps(Cap(CAP_KILL), Cap(CAP_CHOWN) | Cap(CAP_KILL) | Cap(CAP_NET_BIND_SERVICE),
          Cap(CAP_KILL) | Cap(CAP_NET_BIND_SERVICE));
  Check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) == 0,
        "raise ambient CAP_NET_BIND_SERVICE");
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // credential changes cleared it
  Report();
}

void RoleComm() {
  Check(setsid() == getpid(), "setsid");
  Check(prctl(PR_SET_NAME, g_context.config.comm.c_str(), 0, 0, 0) == 0, "PR_SET_NAME");
  Report();
}

void* BlockForever(void*) {
  while (true) pause();
  return nullptr;
}

void RoleThreads() {
  for (int i = 0; i < 3; ++i) {
    pthread_t thread;
    Check(pthread_create(&thread, nullptr, BlockForever, nullptr) == 0, "pthread_create");
  }
  Report({{"threads", "4"}});
}

void RoleExitedLeader() {
  pthread_t thread;
  Check(pthread_create(&thread, nullptr, BlockForever, nullptr) == 0, "pthread_create");
  Report({{"threads", "2"}});
  // The leader thread exits, the other keeps the process alive. The raw exit(2) ends only this
  // thread and, unlike pthread_exit(), does not unwind into the caller's frames.
  syscall(SYS_exit, 0);
}

void CatchSignal(int) {}

void RoleSignals() {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGRTMIN + 2);
  Check(sigprocmask(SIG_BLOCK, &block, nullptr) == 0, "sigprocmask");
  signal(SIGUSR2, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction catcher = {};
  catcher.sa_handler = CatchSignal;
  for (int sig : {SIGTERM, SIGHUP, SIGRTMAX}) {
    Check(sigaction(sig, &catcher, nullptr) == 0, "sigaction");
  }
  // Signal 32 is the kernel's first real-time signal; glibc reserves it and its sigaction()
  // refuses it, so install a handler with the raw system call.
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } raw = {reinterpret_cast<void*>(CatchSignal), 0, nullptr, 0};
  Check(syscall(SYS_rt_sigaction, 32, &raw, nullptr, sizeof(uint64_t)) == 0, "rt_sigaction 32");
  Report();
}

void RoleStopped() {
  Report();
  raise(SIGSTOP);
}

void RoleTracer() {
  int reported[2];
  Check(pipe(reported) == 0, "pipe");
  pid_t tracee = SpawnRole(Prefix() + "tracee", [&] {
    Report();
    WriteByte(reported[1]);
  });
  ReadByte(reported[0]);  // seize only after the tracee's report left, or it could stop mid-send
  Check(ptrace(PTRACE_SEIZE, tracee, nullptr, nullptr) == 0, "PTRACE_SEIZE");
  Check(ptrace(PTRACE_INTERRUPT, tracee, nullptr, nullptr) == 0, "PTRACE_INTERRUPT");
  int status = 0;
  Check(waitpid(tracee, &status, __WALL) == tracee, "waitpid tracee");
  Check(WIFSTOPPED(status), "tracee not stopped");
  Report({{"tracee_stopped", "1"}});
}

// stdin is a pipe whose write end the program itself keeps open: a read never ends.
void StdinNeverEnds() {
  int fds[2];
  Check(pipe(fds) == 0, "pipe");
  Check(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO, "dup2");
}

void ExecOrFail(const std::string& path, const std::vector<std::string>& argv) {
  CStrings args(argv);
  execv(path.c_str(), args.get());
  Fail(ErrnoText("exec " + path));
}

void RoleArgv() {
  StdinNeverEnds();
  Report({{"exec", "/bin/sh"}});
  ExecOrFail("/bin/sh", ProcessStructure::HostileArgv());
}

void RoleExecSleep(const std::string& path) {
  Report({{"exec", path}});
  ExecOrFail(path, {"sleep-copy", "infinity"});
}

void RoleCwd() {
  Check(chdir(ProcessStructure::OddCwd(g_context.config.work_dir).c_str()) == 0, "chdir");
  Report();
}

void RoleEmptyArgv() {
  StdinNeverEnds();
  Report({{"exec", "/bin/cat"}});
  ExecOrFail("/bin/cat", {""});
}

// The family every level has (see subprocess.hpp).
void BuildFamily() {
  const std::string prefix = Prefix();
  const std::string& work = g_context.config.work_dir;
  const int level = g_context.level;
  SpawnRole(prefix + "pty", RolePty);
  SpawnRole(prefix + "grp", RoleGroup);
  SpawnRole(prefix + "zparent", RoleZombieParent);
  SpawnRole(prefix + "creds", RoleCredentials);
  SpawnRole(prefix + "comm", RoleComm);
  SpawnRole(prefix + "threads", RoleThreads);
  SpawnRole(prefix + "zleader", RoleExitedLeader);
  SpawnRole(prefix + "signals", RoleSignals);
  SpawnRole(prefix + "stopped", RoleStopped);
  SpawnRole(prefix + "tracer", RoleTracer);
  SpawnRole(prefix + "argv", RoleArgv);
  SpawnRole(prefix + "deleted",
            [&] { RoleExecSleep(ProcessStructure::DeletedExePath(work, level)); });
  SpawnRole(prefix + "fakedel",
            [&] { RoleExecSleep(ProcessStructure::FakeDeletedExePath(work, level)); });
  SpawnRole(prefix + "cwd", RoleCwd);
  SpawnRole(prefix + "emptyargv", RoleEmptyArgv);
}

// The level-1 relay: receives the reports of level-2 processes, learns their level-1 PID from
// SCM_CREDENTIALS (translated into this namespace by the kernel) and their level-1 process group
// and session from getpgid()/getsid() here, and forwards that to the test.
[[noreturn]] void RelayLoop(int fd) {
  std::vector<char> buffer(1 << 16);
  while (true) {
    iovec iov = {buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(ErrnoText("relay recvmsg"));
    }
    pid_t pid = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        pid = cred.pid;
      }
    }
    Fields in = DecodeFields(std::string_view(buffer.data(), static_cast<size_t>(n)));
    Fields out = {{"relay_role", in["role"]},
                  {"l1_pid", std::to_string(pid)},
                  {"l1_pgid", std::to_string(getpgid(pid))},
                  {"l1_sid", std::to_string(getsid(pid))}};
    SendTo(g_context.host_fd, EncodeFields(out));
  }
}

void RoleLevel2Init() {
  BuildFamily();
  Report();
}

void RoleLevel1Init() {
  int relay[2];
  Check(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, relay) == 0, "socketpair");
  int on = 1;
  Check(setsockopt(relay[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED");
  g_context.relay_fd = relay[1];
  BuildFamily();
  SpawnNamespaceInit("L2.root", RoleLevel2Init);
  Report();
  RelayLoop(relay[0]);
}

void RoleUnshare() {
  for (const std::string& dir : g_context.config.cgroup_dirs) {
    int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    Check(fd >= 0, "open " + dir + "/cgroup.procs");
    Check(write(fd, "0", 1) == 1, "join cgroup " + dir);
    close(fd);
  }
  Check(unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                CLONE_NEWCGROUP | CLONE_NEWTIME) == 0,
        "unshare");
  Check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "make / private");
  Check(sethostname("pidscope-L1", 11) == 0, "sethostname");
  pid_t init = fork();  // the first child in the new namespace is its PID 1
  Check(init >= 0, "fork");
  if (init == 0) {
    g_context.parent = g_context.role;
    g_context.role = "L1.root";
    g_context.level = 1;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    RoleLevel1Init();
    Idle();
  }
  Report();
  while (waitpid(init, nullptr, 0) < 0 && errno == EINTR) {
  }
  _exit(0);
}

int StructureRoot(const StructureConfig& config, int host_fd) {
  g_context = Context{};
  g_context.role = "L0.root";
  g_context.host_fd = host_fd;
  g_context.config = config;
  Check(setsid() == getpid(), "setsid");
  BuildFamily();
  SpawnRole("L0.unshare", RoleUnshare);
  Report();
  Idle();
}

bool CopyFile(const std::string& from, const std::string& to, std::string* error) {
  auto data = ReadFile(from);
  if (!data) {
    *error = ErrnoText("read " + from);
    return false;
  }
  UniqueFd fd(open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
  if (!fd || write(fd.get(), data->data(), data->size()) != static_cast<ssize_t>(data->size())) {
    *error = ErrnoText("write " + to);
    return false;
  }
  return true;
}

std::optional<std::string> RealPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return std::nullopt;
  std::string out = resolved;
  std::free(resolved);
  return out;
}

int32_t ToInt(const std::string& text) {
  int32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ProcessStructure, test side.

std::vector<std::string> ProcessStructure::FamilyRoles() {
  return {"pty",    "fg",     "fgkid", "bg",      "grp",     "grpkid",  "zparent",
          "zombie", "creds",  "comm",  "threads", "zleader", "signals", "stopped",
          "tracer", "tracee", "argv",  "deleted", "fakedel", "cwd",     "emptyargv"};
}

std::vector<std::string> ProcessStructure::HostileArgv() {
  return {"/bin/sh",
          "-c",
          "read -r line",
          "$0 line one\nline two",
          "quote\" single' back\\slash",
          "\xff\xfe not UTF-8",
          "",
          "caf\xc3\xa9 \xe2\x9c\x93",
          std::string(100 * 1024, 'x'),
          "after the 100 KiB argument"};
}

std::string ProcessStructure::DeletedExePath(const std::string& work_dir, int level) {
  return work_dir + "/L" + std::to_string(level) + " sleep copy";
}

std::string ProcessStructure::FakeDeletedExePath(const std::string& work_dir, int level) {
  return work_dir + "/L" + std::to_string(level) + " sleep (deleted)";
}

std::string ProcessStructure::OddCwd(const std::string& work_dir) {
  return work_dir + "/odd dir\nwith a newline";
}

const RoleTruth& ProcessStructure::role(const std::string& name) const {
  auto it = roles_.find(name);
  if (it == roles_.end()) throw std::out_of_range("no role " + name);
  return it->second;
}

std::set<int32_t> ProcessStructure::pids() const {
  std::set<int32_t> out;
  for (const auto& [name, truth] : roles_) out.insert(truth.pid());
  return out;
}

std::unique_ptr<ProcessStructure> ProcessStructure::Build(const StructureConfig& config,
                                                          std::string* error) {
  const auto deadline = Clock::now() + config.timeout;
  // Executables and directories the roles use.
  std::string sleep_path = RealPath("/bin/sleep").value_or("/bin/sleep");
  for (int level = 0; level < kLevels; ++level) {
    if (!CopyFile(sleep_path, DeletedExePath(config.work_dir, level), error) ||
        !CopyFile(sleep_path, FakeDeletedExePath(config.work_dir, level), error)) {
      return nullptr;
    }
  }
  if (mkdir(OddCwd(config.work_dir).c_str(), 0755) != 0 && errno != EEXIST) {
    *error = ErrnoText("mkdir " + OddCwd(config.work_dir));
    return nullptr;
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) {
    *error = ErrnoText("socketpair");
    return nullptr;
  }
  UniqueFd receiver(sv[0]), sender(sv[1]);
  int on = 1;
  if (setsockopt(receiver.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    *error = ErrnoText("SO_PASSCRED");
    return nullptr;
  }

  auto structure = std::make_unique<ProcessStructure>();
  ScopedChild::Options options;
  options.new_process_group = false;  // the root calls setsid(), which a group leader cannot
  const int sender_fd = sender.get();
  structure->root_ =
      ScopedChild::Fork([&config, sender_fd] { return StructureRoot(config, sender_fd); }, options);
  sender.reset();

  // Every role reports once; level-2 roles are also reported by the level-1 relay.
  std::set<std::string> expected;
  for (int level = 0; level < kLevels; ++level) {
    const std::string prefix = "L" + std::to_string(level) + ".";
    expected.insert(prefix + "root");
    for (const auto& name : FamilyRoles()) expected.insert(prefix + name);
  }
  expected.insert("L0.unshare");
  std::map<std::string, Fields> relayed;
  auto& roles = structure->roles_;
  auto complete = [&] {
    if (roles.size() != expected.size()) return false;
    for (const auto& [name, truth] : roles) {
      if (truth.level == 2 && !relayed.contains(name)) return false;
    }
    return true;
  };
  std::vector<char> buffer(1 << 16);
  while (!complete()) {
    pollfd fd = {receiver.get(), POLLIN, 0};
    int ready = poll(&fd, 1, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      std::string missing;
      for (const auto& name : expected) {
        if (!roles.contains(name)) missing += " " + name;
      }
      *error = "timed out waiting for reports; missing:" + missing;
      return nullptr;
    }
    iovec iov = {buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(receiver.get(), &msg, 0);
    if (n < 0) continue;
    pid_t host_pid = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        host_pid = cred.pid;
      }
    }
    Fields fields = DecodeFields(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (fields.contains("error")) {
      *error = fields["error"];
      return nullptr;
    }
    if (fields.contains("relay_role")) {
      relayed[fields["relay_role"]] = fields;
      continue;
    }
    const std::string name = fields["role"];
    if (!expected.contains(name)) {
      *error = "unexpected report from role '" + name + "'";
      return nullptr;
    }
    RoleTruth& truth = roles[name];
    truth.name = name;
    truth.parent = fields["parent"];
    truth.level = ToInt(fields["level"]);
    truth.ns_pid = {host_pid};
    truth.self = std::move(fields);
  }

  // PIDs, groups and sessions at every level. Level 0 is the test's: getpgid()/getsid() here.
  for (auto& [name, truth] : roles) {
    const int32_t host_pid = truth.ns_pid.front();
    truth.ns_pgid = {getpgid(host_pid)};
    truth.ns_sid = {getsid(host_pid)};
    if (truth.level == 2) {
      const Fields& relay = relayed[name];
      truth.ns_pid.push_back(ToInt(relay.at("l1_pid")));
      truth.ns_pgid.push_back(ToInt(relay.at("l1_pgid")));
      truth.ns_sid.push_back(ToInt(relay.at("l1_sid")));
    }
    if (truth.level >= 1) {
      truth.ns_pid.push_back(ToInt(truth.self["pid"]));
      truth.ns_pgid.push_back(ToInt(truth.self["pgid"]));
      truth.ns_sid.push_back(ToInt(truth.self["sid"]));
    }
  }

  // Let the states settle: exec'd, stopped, traced and exited-leader processes. /proc is read
  // here only to know when; the assertions compare against the reports and construction.
  auto state_of = [](int32_t pid) {
    auto line = ReadStatLine(pid);
    return line ? line->state : '?';
  };
  for (const auto& [name, truth] : roles) {
    const std::string suffix = name.substr(name.find('.') + 1);
    const int32_t pid = truth.pid();
    bool settled = true;
    std::string want;
    if (truth.self.contains("exec")) {
      want = RealPath(truth.self.at("exec")).value_or(truth.self.at("exec"));
      settled = WaitUntil([&] { return ReadLink("/proc/" + std::to_string(pid) + "/exe") == want; },
                          milliseconds(RemainingMs(deadline)));
      // Give the new program a moment to block in its read or sleep.
      settled = settled && WaitUntil([&] { return state_of(pid) == 'S'; },
                                     milliseconds(RemainingMs(deadline)));
    } else if (suffix == "stopped") {
      want = "state T";
      settled =
          WaitUntil([&] { return state_of(pid) == 'T'; }, milliseconds(RemainingMs(deadline)));
    } else if (suffix == "tracee") {
      want = "state t";
      settled =
          WaitUntil([&] { return state_of(pid) == 't'; }, milliseconds(RemainingMs(deadline)));
    } else if (suffix == "zleader" || suffix == "zombie") {
      want = "state Z";
      settled =
          WaitUntil([&] { return state_of(pid) == 'Z'; }, milliseconds(RemainingMs(deadline)));
    }
    if (!settled) {
      *error = name + " (pid " + std::to_string(pid) + ") did not reach " + want;
      return nullptr;
    }
  }
  for (const auto& [name, truth] : roles) {
    if (name.ends_with(".deleted") && unlink(truth.self.at("exec").c_str()) != 0) {
      *error = ErrnoText("unlink " + truth.self.at("exec"));
      return nullptr;
    }
  }
  return structure;
}

}  // namespace pidscope::testing
