// Google Benchmark: the apply path (event -> model update) on a synthetic stream of process
// lifecycles (fork, exec, exit, reap, plus setsid and comm) over a table of live processes.
// Counts heap allocations per event to show the steady state allocates nothing.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "model/process_table.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

using namespace pidscope;

Process Resident(int32_t pid, int32_t ppid) {
  Process p;
  p.key = {pid, static_cast<uint64_t>(pid)};
  p.ppid = ppid;
  p.pgid = p.sid = ppid > 1 ? ppid : pid;
  p.state = 'S';
  p.threads = 1;
  p.comm = "worker";
  p.args = std::string("/usr/bin/worker\0--serve", 23);
  p.args_count = 2;
  p.executable = std::make_shared<const std::string>("/usr/bin/worker");
  p.ns_pid = {pid};
  p.ns_pgid = {p.pgid};
  p.ns_sid = {p.sid};
  p.subreaper = Tristate::kNo;
  return p;
}

// One lifecycle of 6 events for a short-lived child of `parent`.
void MakeLifecycle(int32_t pid, uint64_t start, int32_t parent, std::vector<Event>* out) {
  Event fork;
  fork.action = EventAction::kFork;
  fork.pid = fork.tid = pid;
  fork.ppid = fork.parent_tid = parent;
  fork.start_ticks = start;
  fork.pidns_known = true;
  fork.ns_pids[0] = pid;
  out->push_back(fork);
  Event exec = fork;
  exec.action = EventAction::kExec;
  exec.filename = "/bin/true";
  exec.args = std::string("/bin/true\0--version", 19);
  exec.args_count = 2;
  std::snprintf(exec.comm.data(), exec.comm.size(), "true");
  out->push_back(exec);
  Event setsid = fork;
  setsid.action = EventAction::kSetsid;
  out->push_back(setsid);
  Event comm = fork;
  comm.action = EventAction::kComm;
  std::snprintf(comm.comm.data(), comm.comm.size(), "renamed");
  out->push_back(comm);
  Event exit = fork;
  exit.action = EventAction::kExit;
  exit.exit_code = 0;
  exit.timestamp_ns = start * 1000;
  out->push_back(exit);
  Event reap = fork;
  reap.action = EventAction::kReap;
  out->push_back(reap);
}

void BM_ApplyLifecycles(benchmark::State& state) {
  const int residents = static_cast<int>(state.range(0));
  std::vector<Process> boot;
  boot.push_back(Resident(1, 0));
  for (int32_t pid = 2; pid <= residents; ++pid) boot.push_back(Resident(pid, 1 + pid % 50));
  ProcessTable table;
  table.Bootstrap(std::move(boot));

  // 4096 lifecycles on PIDs above the residents, replayed with fresh start times so every
  // fork is a new process, as PID reuse makes it.
  std::vector<Event> stream;
  constexpr int kLifecycles = 4096;
  stream.reserve(kLifecycles * 6);
  for (int i = 0; i < kLifecycles; ++i) {
    MakeLifecycle(residents + 1 + i, 1'000'000 + i, 2 + i % (residents - 1), &stream);
  }
  std::vector<Event> derived;
  derived.reserve(64);
  uint64_t round = 0;
  // Warm up: fills the node free list and the interned paths.
  for (const Event& e : stream) table.Apply(e, &derived);
  uint64_t allocations_before = g_allocations.load();
  uint64_t events = 0;
  for (auto _ : state) {
    ++round;
    for (Event& e : stream) {
      e.start_ticks += kLifecycles;  // a new generation of processes on the same PIDs
      derived.clear();
      table.Apply(e, &derived);
    }
    events += stream.size();
  }
  uint64_t allocations = g_allocations.load() - allocations_before;
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["allocations_per_event"] =
      static_cast<double>(allocations) / static_cast<double>(events ? events : 1);
  state.counters["table_size"] = static_cast<double>(table.size());
  benchmark::DoNotOptimize(round);
}
BENCHMARK(BM_ApplyLifecycles)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
