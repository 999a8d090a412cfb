// A fork+exec load for the live-capture overhead benchmark: N times posix_spawn(/bin/true) and
// waitpid, one at a time. Usage: fork_exec_loop [N] [PROGRAM] (default 3000, /bin/true).
// Prints one line of key=value fields: the spawns, the wall time and rate, and the CPU time of
// the loop itself and of its (reaped) children, user and system, from getrusage(2).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "usage: %s [N] [PROGRAM]\n", argv[0]);
    return 2;
  }
  const long count = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 3000;
  const char* program = argc > 2 ? argv[2] : "/bin/true";
  if (count < 1) {
    std::fprintf(stderr, "N must be at least 1\n");
    return 2;
  }
  char* child_argv[] = {const_cast<char*>(program), nullptr};

  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    pid_t pid = 0;
    const int err = posix_spawn(&pid, program, nullptr, nullptr, child_argv, environ);
    if (err != 0) {
      std::fprintf(stderr, "posix_spawn %s: %s\n", program, std::strerror(err));
      return 1;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      std::perror("waitpid");
      return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "%s failed (wait status %#x)\n", program, status);
      return 1;
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  std::printf(
      "spawns=%ld elapsed_s=%.6f rate_per_s=%.1f self_user_s=%.3f self_sys_s=%.3f "
      "children_user_s=%.3f children_sys_s=%.3f\n",
      count, elapsed, count / elapsed, Seconds(self.ru_utime), Seconds(self.ru_stime),
      Seconds(children.ru_utime), Seconds(children.ru_stime));
  return 0;
}
