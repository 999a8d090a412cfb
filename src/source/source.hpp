// A source turns kernel signals into Events. Sources are interchangeable behind this interface
// (BPF, netlink proc connector, procfs polling) and chosen by --source auto|bpf|netlink|procfs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/process.hpp"
#include "pidscope/result.hpp"
#include "source/event.hpp"

namespace pidscope {

struct SourceStats {
  uint64_t events_received = 0;  // events delivered to the sink
  uint64_t events_lost = 0;      // events the kernel or the transport dropped (known loss)
  uint64_t loss_signals = 0;     // times loss was detected (each should trigger a resync)
};

using EventSink = std::function<void(const Event&)>;

class Source {
 public:
  virtual ~Source() = default;
  virtual const char* name() const = 0;

  // Attaches to the kernel. From here on events are captured (buffered by the kernel or the
  // source) until Poll delivers them: a procfs scan started after Start() misses nothing.
  virtual Status Start() = 0;

  // Delivers pending events to `sink`, waiting up to timeout_ms for the first one (0: do not
  // wait). Returns how many were delivered. EINTR is not an error (returns 0).
  virtual Result<size_t> Poll(int timeout_ms, const EventSink& sink) = 0;

  // Counters since Start(). Loss is reported, never hidden: the caller resyncs from procfs
  // when events_lost or loss_signals grows.
  virtual SourceStats Stats() const = 0;

  // Fills into a fresh procfs snapshot what procfs cannot show (the BPF source reads every
  // process's sub-reaper flag with a task iterator). Called once during the bootstrap, while
  // privileges are still held. The default knows nothing more.
  virtual void AnnotateSnapshot(std::vector<Process>* processes) { (void)processes; }

  // Detaches from the kernel (BPF links, netlink socket). Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace pidscope
