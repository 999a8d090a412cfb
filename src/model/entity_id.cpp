#include "model/entity_id.hpp"

#include <cstring>

#include "util/hash.hpp"

namespace pidscope {

std::string EntityId(const procfs::HostInfo& host, const ProcessKey& key) {
  // A fixed binary layout (little-endian fields) so the id never depends on formatting.
  uint8_t input[16 + 8 + 4 + 8];
  uint64_t pidns = host.host_pidns_inode;
  uint32_t pid = static_cast<uint32_t>(key.pid);
  uint64_t start_ns = host.StartBootNs(key.start_ticks);
  std::memcpy(input, host.boot_id_bytes.data(), 16);
  std::memcpy(input + 16, &pidns, 8);
  std::memcpy(input + 24, &pid, 4);
  std::memcpy(input + 28, &start_ns, 8);
  auto digest = Sha256(std::string_view(reinterpret_cast<const char*>(input), sizeof input));
  return Base64Url(digest.data(), 16);
}

}  // namespace pidscope
