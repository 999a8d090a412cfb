// Clock readings in nanoseconds. CLOCK_BOOTTIME is the clock of kernel events (BPF's
// bpf_ktime_get_boot_ns, process start times), so every age pidscope computes uses it.
#pragma once

#include <time.h>

#include <cstdint>

namespace pidscope {

inline int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline uint64_t BootTimeNs() { return static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME)); }

}  // namespace pidscope
