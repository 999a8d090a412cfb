#include "procfs/parse.hpp"
#include "procfs/parse_util.hpp"

namespace pidscope::procfs {

using detail::NextToken;
using detail::ToNumber;

std::optional<StatFields> ParseStat(std::string_view text) {
  // "pid (comm) state ppid ...": comm is free text, so anchor on the first '(' and last ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  StatFields f;
  auto pid = ToNumber<int32_t>(text.substr(0, open > 0 ? open - 1 : 0));
  if (!pid) return std::nullopt;
  f.pid = *pid;
  f.comm.assign(text.substr(open + 1, close - open - 1));

  // Fields after the comm, numbered as in proc(5): field 3 is the state.
  std::string_view rest = text.substr(close + 1);
  std::string_view state = NextToken(&rest);
  if (state.size() != 1) return std::nullopt;
  f.state = state[0];
  int field = 4;
  bool ok = true;
  auto take = [&]<typename T>(T* out) {
    std::string_view token = NextToken(&rest);
    auto value = ToNumber<T>(token);
    if (!value) {
      ok = false;
      return;
    }
    *out = *value;
  };
  // Fields 4..22 are present on every kernel we support; later ones are optional.
  for (; field <= 52 && ok && !rest.empty(); ++field) {
    switch (field) {
      case 4:
        take(&f.ppid);
        break;
      case 5:
        take(&f.pgrp);
        break;
      case 6:
        take(&f.session);
        break;
      case 7: {
        // tty_nr is printed as a signed int; keep the bit pattern.
        int64_t tty = 0;
        take(&tty);
        f.tty_nr = static_cast<uint32_t>(tty);
        break;
      }
      case 8:
        take(&f.tpgid);
        break;
      case 9:
        take(&f.flags);
        break;
      case 14:
        take(&f.utime_ticks);
        break;
      case 15:
        take(&f.stime_ticks);
        break;
      case 20:
        take(&f.num_threads);
        break;
      case 22:
        take(&f.start_ticks);
        break;
      case 23:
        take(&f.vsize_bytes);
        break;
      case 24:
        take(&f.rss_pages);
        break;
      case 38:
        take(&f.exit_signal);
        break;
      case 52:
        take(&f.exit_code);
        break;
      default:
        NextToken(&rest);  // a field we do not use: skip without interpreting it
        break;
    }
  }
  if (!ok && field <= 23) return std::nullopt;  // the core fields must parse
  if (field <= 22) return std::nullopt;         // truncated before starttime
  return f;
}

}  // namespace pidscope::procfs
