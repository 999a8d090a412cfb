#include "procfs/parse.hpp"
#include "procfs/parse_util.hpp"

namespace pidscope::procfs {

std::vector<CgroupEntry> ParseCgroup(std::string_view text) {
  std::vector<CgroupEntry> entries;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    // The path is last and may itself contain ':', so split on the first two colons only.
    size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    auto id = detail::ToNumber<uint32_t>(line.substr(0, first));
    if (!id) continue;
    CgroupEntry entry;
    entry.hierarchy_id = *id;
    entry.controllers.assign(line.substr(first + 1, second - first - 1));
    entry.path.assign(line.substr(second + 1));
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<uint64_t> ParseNsLink(std::string_view link) {
  size_t open = link.find(":[");
  if (open == std::string_view::npos || link.empty() || link.back() != ']') return std::nullopt;
  return detail::ToNumber<uint64_t>(link.substr(open + 2, link.size() - open - 3));
}

}  // namespace pidscope::procfs
