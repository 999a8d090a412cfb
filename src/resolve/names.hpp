// Names for numeric identities: users and groups through NSS (cached; containers often have no
// entry, and ids alone are fine), capabilities through libcap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pidscope {

class NameCache {
 public:
  // The user or group name, or std::nullopt when NSS has none.
  const std::optional<std::string>& UserName(uint32_t uid);
  const std::optional<std::string>& GroupName(uint32_t gid);

 private:
  std::unordered_map<uint32_t, std::optional<std::string>> users_;
  std::unordered_map<uint32_t, std::optional<std::string>> groups_;
};

// Capability names ("CAP_SYS_ADMIN") for the bits set in `mask`, lowest bit first. Bits libcap
// does not know are named by number as libcap does ("63").
std::vector<std::string> CapabilityNames(uint64_t mask);

}  // namespace pidscope
