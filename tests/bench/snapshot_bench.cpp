// Google Benchmark: the cost of each stage of a snapshot on the live host (read, index, JSON).
#include <benchmark/benchmark.h>

#include "export/process_json.hpp"
#include "model/process_table.hpp"
#include "procfs/host.hpp"
#include "procfs/reader.hpp"

namespace {

using namespace pidscope;

void BM_ReadAllProcesses(benchmark::State& state) {
  size_t count = 0;
  for (auto _ : state) {
    auto processes = procfs::ReadAllProcesses("/proc");
    count = processes ? processes->size() : 0;
    benchmark::DoNotOptimize(count);
  }
  state.counters["processes"] = static_cast<double>(count);
  state.counters["per_process_us"] =
      benchmark::Counter(static_cast<double>(count) * state.iterations(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReadAllProcesses)->Unit(benchmark::kMillisecond);

void BM_SnapshotJson(benchmark::State& state) {
  auto host = procfs::ReadHostInfo("/proc");
  auto processes = procfs::ReadAllProcesses("/proc");
  if (!host || !processes) {
    state.SkipWithError("cannot read /proc");
    return;
  }
  ProcessTable table;
  table.Bootstrap(std::move(*processes));
  NameCache names;
  std::string out;
  for (auto _ : state) {
    out.clear();
    WriteSnapshotJson(&out, table, ProcessJsonContext{&*host, &table, &names});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(out.size()) * state.iterations());
  state.counters["processes"] = static_cast<double>(table.size());
}
BENCHMARK(BM_SnapshotJson)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
