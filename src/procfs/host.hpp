// Facts about the host that every record refers to: boot id, the host PID namespace, the clock.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "pidscope/result.hpp"

namespace pidscope::procfs {

struct HostInfo {
  std::string boot_id;  // as in /proc/sys/kernel/random/boot_id
  std::array<uint8_t, 16> boot_id_bytes{};
  uint64_t host_pidns_inode = 0;      // the PID namespace pidscope runs in (hostPID in k8s)
  long clock_ticks_per_second = 100;  // USER_HZ
  int64_t boot_wall_time_ns = 0;      // CLOCK_REALTIME at boot, derived from CLOCK_BOOTTIME
  std::string hostname;

  // Wall-clock start of a process from its boot-relative start ticks.
  int64_t StartWallTimeNs(uint64_t start_ticks) const;
  // Boot-relative start in ns, to the precision procfs offers (one tick).
  uint64_t StartBootNs(uint64_t start_ticks) const;
};

// Reads the host facts from `proc_root` (normally "/proc").
Result<HostInfo> ReadHostInfo(const std::string& proc_root);

// Parses "0f1c...-...." into 16 bytes; false if malformed.
bool ParseUuid(const std::string& text, std::array<uint8_t, 16>* out);

}  // namespace pidscope::procfs
