// Creates N live processes in a new PID namespace, for benchmarks that need a busy host.
// Usage: spawn_processes N. Prints "ready <init-host-pid>" once all exist, then waits until its
// standard input closes; the namespace init then exits and the kernel kills every member.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s N\n", argv[0]);
    return 2;
  }
  long count = std::strtol(argv[1], nullptr, 10);
  if (count < 1) return 2;
  if (unshare(CLONE_NEWPID) != 0) {
    std::perror("unshare(CLONE_NEWPID)");
    return 1;
  }
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t init = fork();
  if (init < 0) return 1;
  if (init == 0) {
    // PID 1 of the new namespace: make count-1 sleepers that die with us.
    close(ready[0]);
    for (long i = 1; i < count; ++i) {
      pid_t child = fork();
      if (child < 0) {
        std::perror("fork");
        _exit(1);
      }
      if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) pause();
      }
    }
    if (write(ready[1], "x", 1) != 1) _exit(1);
    for (;;) pause();  // the namespace lives as long as its init
  }
  close(ready[1]);
  char byte;
  if (read(ready[0], &byte, 1) != 1) return 1;
  std::printf("ready %d\n", init);
  std::fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  kill(init, SIGKILL);
  waitpid(init, nullptr, 0);
  return 0;
}
