// Measures the in-memory cost of the process table: heap bytes per process, excluding the argv
// strings (the budget is <= 1 KiB per process without them). Reads the live host.
#include <malloc.h>

#include <cstdio>

#include "model/process_table.hpp"
#include "procfs/reader.hpp"

int main() {
  using namespace pidscope;
  size_t before = mallinfo2().uordblks;
  auto processes = procfs::ReadAllProcesses("/proc");
  if (!processes) {
    std::fprintf(stderr, "%s\n", processes.error().Message().c_str());
    return 1;
  }
  ProcessTable table;
  table.Bootstrap(std::move(*processes));
  size_t after = mallinfo2().uordblks;
  size_t args_bytes = 0;
  table.ForEach([&](const Process& p) {
    // Heap blocks owned by argv: capacity plus malloc's per-block overhead when not inline.
    if (p.args.capacity() > 15) args_bytes += p.args.capacity() + 1 + 16;
  });
  size_t total = after - before;
  double per_process = static_cast<double>(total - args_bytes) / static_cast<double>(table.size());
  std::printf(
      "processes %zu\nheap_bytes_total %zu\nargs_bytes %zu\nbytes_per_process_excl_args %.0f\n"
      "sizeof_Process %zu\n",
      table.size(), total, args_bytes, per_process, sizeof(Process));
  return per_process <= 1024 ? 0 : 3;
}
