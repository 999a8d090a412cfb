// ParseCgroup on arbitrary bytes: one entry per well-formed line at most, no separator leaks into
// a field, and the entries survive a round trip through canonical lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "procfs/parse.hpp"

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = pidscope::procfs::ParseCgroup(text);
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  Check(entries.size() <= lines, "more entries than lines");

  std::string canonical;
  for (const auto& e : entries) {
    Check(e.controllers.find(':') == std::string::npos, "':' in controllers");
    Check(e.controllers.find('\n') == std::string::npos, "newline in controllers");
    Check(e.path.find('\n') == std::string::npos, "newline in path");
    std::string line = ":" + e.controllers + ":" + e.path;
    Check(text.find(line) != std::string_view::npos, "entry not found in the input");
    canonical += std::to_string(e.hierarchy_id) + line + "\n";
  }
  auto again = pidscope::procfs::ParseCgroup(canonical);
  Check(again.size() == entries.size(), "canonical lines give another entry count");
  for (size_t i = 0; i < entries.size(); ++i) {
    Check(again[i].hierarchy_id == entries[i].hierarchy_id &&
              again[i].controllers == entries[i].controllers && again[i].path == entries[i].path,
          "canonical line parses to another entry");
  }
  return 0;
}
