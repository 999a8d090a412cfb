#include "util/time_format.hpp"

#include <time.h>

#include <cstdio>

namespace pidscope {

void AppendRfc3339Ns(std::string* out, int64_t unix_ns) {
  int64_t seconds = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  time_t t = static_cast<time_t>(seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, static_cast<long long>(nanos));
  out->append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string FormatRfc3339Ns(int64_t unix_ns) {
  std::string out;
  AppendRfc3339Ns(&out, unix_ns);
  return out;
}

}  // namespace pidscope
