// Shares one immutable copy of values many processes have in common (executable paths, the
// cgroup set of a container). Sweep() forgets values no record holds any more.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pidscope {

template <typename T>
class InternPool {
 public:
  // Returns the shared value for `text`, building it with make(text) on first sight.
  template <typename Make>
  std::shared_ptr<const T> Get(std::string_view text, Make&& make) {
    auto it = values_.find(text);
    if (it != values_.end()) return it->second;
    auto value = std::make_shared<const T>(make(text));
    values_.emplace(std::string(text), value);
    return value;
  }

  void Sweep() {
    std::erase_if(values_, [](const auto& entry) { return entry.second.use_count() == 1; });
  }
  size_t size() const { return values_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::shared_ptr<const T>, Hash, std::equal_to<>> values_;
};

}  // namespace pidscope
