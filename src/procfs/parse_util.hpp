// Small helpers shared by the procfs parsers (internal to src/procfs).
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace pidscope::procfs::detail {

// Pops the next space-separated token off `text`.
inline std::string_view NextToken(std::string_view* text) {
  size_t start = text->find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    *text = {};
    return {};
  }
  size_t end = text->find_first_of(" \t\n", start);
  std::string_view token = text->substr(start, end == std::string_view::npos ? end : end - start);
  *text = end == std::string_view::npos ? std::string_view{} : text->substr(end);
  return token;
}

template <typename T>
std::optional<T> ToNumber(std::string_view token, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, base);
  if (ec != std::errc{} || end != token.data() + token.size() || token.empty()) return std::nullopt;
  return value;
}

}  // namespace pidscope::procfs::detail
