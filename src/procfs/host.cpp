#include "procfs/host.hpp"
#include "util/clock.hpp"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fstream>

namespace pidscope::procfs {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool ParseUuid(const std::string& text, std::array<uint8_t, 16>* out) {
  size_t byte = 0;
  int high = -1;
  for (char c : text) {
    if (c == '-') continue;
    int v = HexValue(c);
    if (v < 0 || byte >= out->size()) return false;
    if (high < 0) {
      high = v;
    } else {
      (*out)[byte++] = static_cast<uint8_t>(high << 4 | v);
      high = -1;
    }
  }
  return byte == out->size() && high < 0;
}

int64_t HostInfo::StartWallTimeNs(uint64_t start_ticks) const {
  return boot_wall_time_ns + static_cast<int64_t>(StartBootNs(start_ticks));
}

uint64_t HostInfo::StartBootNs(uint64_t start_ticks) const {
  return start_ticks * (1'000'000'000ULL / static_cast<uint64_t>(clock_ticks_per_second));
}

Result<HostInfo> ReadHostInfo(const std::string& proc_root) {
  HostInfo host;
  long ticks = sysconf(_SC_CLK_TCK);
  if (ticks > 0) host.clock_ticks_per_second = ticks;

  std::ifstream boot_id(proc_root + "/sys/kernel/random/boot_id");
  if (!std::getline(boot_id, host.boot_id) || !ParseUuid(host.boot_id, &host.boot_id_bytes)) {
    return Error{EINVAL, "read " + proc_root + "/sys/kernel/random/boot_id"};
  }
  struct stat st {};
  if (stat((proc_root + "/self/ns/pid").c_str(), &st) != 0) {
    return Error::FromErrno("stat " + proc_root + "/self/ns/pid");
  }
  host.host_pidns_inode = st.st_ino;
  // Read both clocks back to back; the pair's skew is far below a tick.
  int64_t realtime = ClockNs(CLOCK_REALTIME);
  int64_t boottime = ClockNs(CLOCK_BOOTTIME);
  host.boot_wall_time_ns = realtime - boottime;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) host.hostname = name;
  return host;
}

}  // namespace pidscope::procfs
