// ParseNsLink on arbitrary bytes: an inode only from "<type>:[<digits>]", and the inode survives
// a round trip through its canonical link text.
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
  std::string_view link(reinterpret_cast<const char*>(data), size);
  auto inode = pidscope::procfs::ParseNsLink(link);
  if (!inode) return 0;
  size_t open = link.find(":[");
  Check(open != std::string_view::npos && link.back() == ']', "accepted without \":[...]\"");
  std::string_view digits = link.substr(open + 2, link.size() - open - 3);
  Check(!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos,
        "accepted something other than digits");
  Check(pidscope::procfs::ParseNsLink("pid:[" + std::to_string(*inode) + "]") == inode,
        "canonical link parses to another inode");
  return 0;
}
