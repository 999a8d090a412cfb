// ParseCmdline on arbitrary bytes and bounds (the first two input bytes): the kept text never
// exceeds the bound, is a prefix of the input, is cut at an argument boundary when one exists,
// and its count matches SplitArgs.
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
  if (size < 2) return 0;
  size_t bound = static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8;
  std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  pidscope::procfs::Args args = pidscope::procfs::ParseCmdline(text, bound);

  std::string_view whole = text;  // without the final NUL the kernel writes
  if (!whole.empty() && whole.back() == '\0') whole.remove_suffix(1);
  Check(args.raw.size() <= bound, "kept more than the bound");
  Check(whole.starts_with(args.raw), "kept text is not a prefix of the input");
  Check(args.truncated == (whole.size() > bound), "truncated flag wrong");
  if (!args.truncated) Check(args.raw == whole, "untruncated text changed");
  if (args.truncated && whole.substr(0, bound).find('\0') != std::string_view::npos) {
    Check(whole[args.raw.size()] == '\0', "cut inside an argument although a boundary existed");
  }

  auto split = pidscope::procfs::SplitArgs(args.raw, args.count);
  Check(args.count == split.size(), "count disagrees with SplitArgs");
  std::string joined;
  for (size_t i = 0; i < split.size(); ++i) {
    if (i > 0) joined.push_back('\0');
    joined.append(split[i]);
  }
  Check(joined == args.raw, "SplitArgs does not partition the text");
  return 0;
}
