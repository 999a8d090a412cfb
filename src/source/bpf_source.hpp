// The BPF event source: the tracepoint programs in bpf/ report process lifecycle events into a
// ring buffer, and BpfSource turns each record into a pidscope::Event.
//
//   BpfSource source;
//   if (Status s = source.Start(); !s) ...;       // load, attach: events are captured from here
//   while (running) source.Poll(100, [&](const Event& e) { table.Apply(e); });
//
// Start() probes the running kernel first: a hook whose tracepoint does not exist here is left
// out (not loaded) and named in disabled_hooks(), so an older kernel gets fewer event kinds
// instead of no BPF source at all. Only fork, exec, exit and free are required.
//
// What the events mean, beyond event.hpp:
//  - Every event names the process it is about with its current real parent (Event::ppid), and
//    its start time (start_ticks is exactly field 22 of /proc/<pid>/stat, start_boot_ns the
//    same in ns), so (pid, start) identifies it even after PID reuse: kReap comes an RCU grace
//    period after the wait, possibly after the PID was given to a new process.
//  - Thread creation is not reported (the BPF side can, for the pipeline test); kThreadExit is,
//    for a thread that dies with children of its own while its process lives on.
//  - kExit comes once per process, when its last thread exits; on kernels whose
//    sched_process_exit tracepoint lacks group_dead (older than the one this was built on) two
//    threads dying together may both report it: ignore an exit of a process already dead.
//  - A setpgid() whose target the BPF side could not find (see bpf/session.bpf.c) is not
//    delivered; it counts as a loss signal so the caller resyncs.
//  - kComm is not reported for the rename exec does; kExec carries the new comm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pidscope/result.hpp"
#include "source/event.hpp"
#include "source/source.hpp"

namespace pidscope {

struct BpfSourceOptions {
  // Ring buffer size in bytes: a power of two multiple of the page size; 0 = 4 MiB. An exec
  // record carries up to 8 KiB of file name and argv, and a busy build machine execs hundreds
  // of compilers a second: the ring absorbs what arrives while the consumer is not polling.
  uint32_t ring_buffer_bytes = 0;
  // Bytes of argv kept per exec, at most 4096.
  uint32_t max_args_bytes = 4096;
  // Only events about this process (for kFork: whose parent is this process); 0 = all.
  // A debugging and testing aid.
  int32_t only_tgid = 0;
  // When tracefs is not mounted (the syscall tracepoints need it), mount it at
  // /sys/kernel/tracing rather than run without setsid/setpgid/credential/sub-reaper events.
  bool mount_tracefs = true;
  // Where to say what was probed, disabled or mounted; stderr ("pidscope: bpf: ...") if empty.
  std::function<void(std::string_view)> log;
};

class BpfSource final : public Source {
 public:
  explicit BpfSource(BpfSourceOptions options = {});
  ~BpfSource() override;
  BpfSource(const BpfSource&) = delete;
  BpfSource& operator=(const BpfSource&) = delete;

  const char* name() const override { return "bpf"; }
  Status Start() override;
  Result<size_t> Poll(int timeout_ms, const EventSink& sink) override;
  SourceStats Stats() const override;
  void Stop() override;
  // Sub-reaper flags from the BPF task iterator (procfs does not show them).
  void AnnotateSnapshot(std::vector<Process>* processes) override;

  // The hooks (ELF section names, e.g. "tracepoint/syscalls/sys_exit_setsid") left out
  // because this kernel lacks them or they failed to attach.
  const std::vector<std::string>& disabled_hooks() const;
  // Records that could not be decoded (a layout mismatch between the two sides: a bug).
  uint64_t malformed_records() const;
  // Readable when records are pending, for an external event loop; -1 before Start().
  int epoll_fd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What decoding one ring buffer record gave.
enum class BpfRecordStatus {
  kEvent,       // *event holds an event to deliver
  kIgnored,     // a valid record that is not delivered (a thread's creation)
  kUnresolved,  // something changed that could not be attributed: the caller must resync
  kMalformed,   // not a record this build understands
};

// Decodes one raw record of bpf/pidscope.h into *event, reusing its strings' capacity (no
// allocation once they are large enough). ns_per_tick is 1e9 / sysconf(_SC_CLK_TCK). Pure:
// unit-testable without privilege.
BpfRecordStatus DecodeBpfRecord(std::span<const std::byte> record, uint64_t ns_per_tick,
                                Event* event);

// Routes libbpf's messages to stderr, warnings only, prefixed "libbpf: " (libbpf's own
// messages mostly carry it already). libbpf's print hook is process-wide: BpfSource::Start()
// and ReadTasksFromKernel() install this once per process; a program that wants its own hook
// sets it with libbpf_set_print() after them.
void InstallLibbpfLogging();

}  // namespace pidscope
