// Command-line parsing for the `pidscope` executable. Parsing is pure: argv in, Options or a
// usage error out; nothing here touches the system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "export/tree_view.hpp"
#include "pidscope/result.hpp"

namespace pidscope::cli {

enum class Command { kHelp, kVersion, kSnapshot, kTree, kContainers, kEvents, kRun };
enum class Format { kText, kJson };

struct Options {
  Command command = Command::kHelp;
  Format format = Format::kText;
  TreeGrouping grouping = TreeGrouping::kNone;
  std::string proc_root = "/proc";
  size_t max_args_bytes = 32 * 1024;
  uint32_t observe_seconds = 3;  // containers: window in which an unreaped zombie means failing

  // events and run
  std::string source = "auto";         // auto | bpf | netlink | procfs
  std::vector<std::string> actions;    // event.action filter; empty: all
  uint64_t pidns_filter = 0;           // only processes in this PID namespace (inode); 0: all
  std::string container_filter;        // only processes of containers whose id starts with it
  std::string events_path;             // run: JSON lines to this file ("-": stdout)
  size_t events_max_bytes = 64 << 20;  // run: rotate the events file beyond this size
  std::string config_path;             // run: key = value file, re-read on SIGHUP
  bool log_text = false;               // run/events: human-readable logs instead of JSON
  uint32_t reconcile_seconds = 30;
};

// Exit codes (documented in --help and README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command could not do its job (e.g. /proc unreadable)
inline constexpr int kExitUsage = 2;    // bad command line

// `defaults` lets a configuration file's values sit under the command line's.
Result<Options> ParseOptions(const std::vector<std::string>& args, Options defaults = {});
// Applies a configuration file's text (lines "key = value", '#' comments) over `options`; keys
// are the long option names without dashes. Command-line options are applied after it.
Status ApplyConfigText(const std::string& text, Options* options);
const char* UsageText();

}  // namespace pidscope::cli
