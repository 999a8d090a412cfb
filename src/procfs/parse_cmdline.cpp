#include <algorithm>

#include "procfs/parse.hpp"

namespace pidscope::procfs {

Args ParseCmdline(std::string_view text, size_t max_bytes) {
  Args args;
  // The kernel ends every argument with a NUL; a process that rewrote its argv (setproctitle)
  // may leave one string with spaces and no final NUL. Both are fine. "\0" alone is one empty
  // argument (argv = {""}), which is why the count is kept apart from the text.
  bool had_any = !text.empty();
  if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  if (text.size() > max_bytes) {
    args.truncated = true;
    std::string_view kept = text.substr(0, max_bytes);
    // Prefer cutting at an argument boundary so no argument is half-kept, unless that would
    // drop everything (a single huge argument).
    size_t boundary = text[max_bytes] == '\0' ? max_bytes : kept.rfind('\0');
    text = boundary == std::string_view::npos ? kept : kept.substr(0, boundary);
  }
  args.raw.assign(text);
  if (!text.empty()) {
    args.count = std::count(text.begin(), text.end(), '\0') + 1;
  } else {
    args.count = had_any && !args.truncated ? 1 : 0;  // "\0" is argv = {""}
  }
  return args;
}

std::vector<std::string_view> SplitArgs(std::string_view raw, size_t count) {
  std::vector<std::string_view> out;
  if (raw.empty()) {
    if (count > 0) out.emplace_back();  // argv = {""}
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t nul = raw.find('\0', start);
    out.push_back(raw.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  return out;
}

}  // namespace pidscope::procfs
