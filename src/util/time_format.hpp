#pragma once

#include <cstdint>
#include <string>

namespace pidscope {

// RFC 3339 UTC with nanoseconds: "2026-11-24T08:41:38.123456789Z" (the @timestamp form of ECS).
std::string FormatRfc3339Ns(int64_t unix_ns);
void AppendRfc3339Ns(std::string* out, int64_t unix_ns);

}  // namespace pidscope
