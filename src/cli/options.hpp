// Command-line parsing for the `pidscope` executable. Parsing is pure: argv in, Options or a
// usage error out; nothing here touches the system.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "export/tree_view.hpp"
#include "pidscope/result.hpp"

namespace pidscope::cli {

enum class Command { kHelp, kVersion, kSnapshot, kTree };
enum class Format { kText, kJson };

struct Options {
  Command command = Command::kHelp;
  Format format = Format::kText;
  TreeGrouping grouping = TreeGrouping::kNone;
  std::string proc_root = "/proc";
  size_t max_args_bytes = 32 * 1024;
};

// Exit codes (documented in --help and README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command could not do its job (e.g. /proc unreadable)
inline constexpr int kExitUsage = 2;    // bad command line

Result<Options> ParseOptions(const std::vector<std::string>& args);
const char* UsageText();

}  // namespace pidscope::cli
