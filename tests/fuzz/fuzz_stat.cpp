// ParseStat on arbitrary bytes: never crashes, the comm is exactly the text between the first '('
// and the last ')', and the fields it returns survive a round trip through a canonical stat line.
#include <array>
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

// Fields 1..52 as Linux prints them, with zeros for the fields ParseStat skips.
std::string Canonical(const pidscope::procfs::StatFields& f) {
  std::array<std::string, 53> fields;
  fields.fill("0");
  fields[4] = std::to_string(f.ppid);
  fields[5] = std::to_string(f.pgrp);
  fields[6] = std::to_string(f.session);
  fields[7] = std::to_string(static_cast<int32_t>(f.tty_nr));  // printed with %d
  fields[8] = std::to_string(f.tpgid);
  fields[9] = std::to_string(f.flags);
  fields[14] = std::to_string(f.utime_ticks);
  fields[15] = std::to_string(f.stime_ticks);
  fields[20] = std::to_string(f.num_threads);
  fields[22] = std::to_string(f.start_ticks);
  fields[23] = std::to_string(f.vsize_bytes);
  fields[24] = std::to_string(f.rss_pages);
  fields[38] = std::to_string(f.exit_signal);
  fields[52] = std::to_string(f.exit_code);
  std::string out = std::to_string(f.pid) + " (" + f.comm + ") " + f.state;
  for (size_t i = 4; i < fields.size(); ++i) out += " " + fields[i];
  out.push_back('\n');
  return out;
}

bool Same(const pidscope::procfs::StatFields& a, const pidscope::procfs::StatFields& b) {
  return a.pid == b.pid && a.comm == b.comm && a.state == b.state && a.ppid == b.ppid &&
         a.pgrp == b.pgrp && a.session == b.session && a.tty_nr == b.tty_nr && a.tpgid == b.tpgid &&
         a.flags == b.flags && a.utime_ticks == b.utime_ticks && a.stime_ticks == b.stime_ticks &&
         a.num_threads == b.num_threads && a.start_ticks == b.start_ticks &&
         a.vsize_bytes == b.vsize_bytes && a.rss_pages == b.rss_pages &&
         a.exit_signal == b.exit_signal && a.exit_code == b.exit_code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto stat = pidscope::procfs::ParseStat(text);
  if (!stat) return 0;
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  Check(open != std::string_view::npos && close != std::string_view::npos && open < close,
        "parsed without a '(' ... ')' pair");
  Check(stat->comm == text.substr(open + 1, close - open - 1), "comm is not first '(' to last ')'");
  Check(stat->state != ' ' && stat->state != '\t' && stat->state != '\n' && stat->state != ')',
        "state is a separator");
  auto again = pidscope::procfs::ParseStat(Canonical(*stat));
  Check(again.has_value(), "canonical form of a parsed stat does not parse");
  Check(Same(*stat, *again), "canonical form parses to other fields");
  return 0;
}
