#include "resolve/names.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>

#include <array>
#include <cctype>
#include <memory>
#include <mutex>

namespace pidscope {

namespace {

template <typename Entry, typename Lookup>
std::optional<std::string> LookupName(uint32_t id, Lookup lookup) {
  Entry entry{};
  Entry* found = nullptr;
  std::array<char, 4096> buffer{};
  if (lookup(id, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  if constexpr (std::is_same_v<Entry, passwd>) {
    return std::string(found->pw_name);
  } else {
    return std::string(found->gr_name);
  }
}

// libcap knows the names; ask it once per bit and keep them (in the CAP_ upper-case form that
// /usr/include/linux/capability.h and ECS use).
const std::array<std::string, 64>& CapabilityTable() {
  static const std::array<std::string, 64> table = [] {
    std::array<std::string, 64> names;
    for (int bit = 0; bit < 64; ++bit) {
      std::unique_ptr<char, int (*)(void*)> name(cap_to_name(bit), cap_free);
      std::string text = name ? name.get() : std::to_string(bit);
      if (text.starts_with("cap_")) {
        for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      names[bit] = std::move(text);
    }
    return names;
  }();
  return table;
}

}  // namespace

const std::optional<std::string>& NameCache::UserName(uint32_t uid) {
  auto it = users_.find(uid);
  if (it == users_.end()) it = users_.emplace(uid, LookupName<passwd>(uid, getpwuid_r)).first;
  return it->second;
}

const std::optional<std::string>& NameCache::GroupName(uint32_t gid) {
  auto it = groups_.find(gid);
  if (it == groups_.end()) it = groups_.emplace(gid, LookupName<group>(gid, getgrgid_r)).first;
  return it->second;
}

std::vector<std::string> CapabilityNames(uint64_t mask) {
  std::vector<std::string> names;
  const auto& table = CapabilityTable();
  for (int bit = 0; bit < 64; ++bit) {
    if (mask & (uint64_t{1} << bit)) names.push_back(table[bit]);
  }
  return names;
}

}  // namespace pidscope
