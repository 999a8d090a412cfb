#include "cli/options.hpp"

#include <charconv>

namespace pidscope::cli {

const char* UsageText() {
  return R"(Usage: pidscope COMMAND [OPTIONS]

A container-aware process monitor: who runs what, where, under whom.

Commands:
  snapshot        Print every process of the host, read from procfs.
  tree            Print the process forest (like ps -ef --forest) with namespace PIDs.
  help            Show this text.
  version         Print the version.

Options:
  --format text|json     Output format (snapshot; default text). JSON is the stable contract:
                         an array of ECS documents (process.*, host.*, pidscope.*).
  --by none|session|pidns
                         Group the tree by session or by PID namespace (tree; default none).
  --proc PATH            procfs mount to read (default /proc), e.g. a host's /proc mounted
                         into a container.
  --max-args-bytes N     Bytes of argv kept per process (default 32768); longer command
                         lines are cut at an argument boundary and flagged
                         pidscope.args_truncated.
  -h, --help             Show this text.

Tree markers:
  [pidns-init LN]        PID 1 of a PID namespace N levels below the host's (a container init).
  <defunct>              A zombie: exited, not yet reaped by its parent.
  NSPID                  The PID at every namespace level, host first: 4242/1/7.

Exit status:
  0  success
  1  the command failed (for example /proc could not be read); a message says why
  2  the command line is invalid

Processes that exit while pidscope reads them are left out; files it may not read (for example
another user's exe link without CAP_SYS_PTRACE) are listed in pidscope.unreadable.
)";
}

namespace {

Error Usage(std::string message) { return Error{0, std::move(message)}; }

}  // namespace

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options options;
  if (args.empty()) return options;  // no command: help
  const std::string& command = args[0];
  if (command == "snapshot") {
    options.command = Command::kSnapshot;
  } else if (command == "tree") {
    options.command = Command::kTree;
  } else if (command == "help" || command == "-h" || command == "--help") {
    options.command = Command::kHelp;
    return options;
  } else if (command == "version" || command == "--version") {
    options.command = Command::kVersion;
    return options;
  } else {
    return Usage("unknown command '" + command + "' (try: pidscope --help)");
  }

  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // Accept both "--opt value" and "--opt=value".
    std::string name = arg;
    std::string value;
    bool has_inline = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_inline = true;
    }
    auto take_value = [&]() -> Result<std::string> {
      if (has_inline) return value;
      if (i + 1 >= args.size()) return Usage("option " + name + " needs a value");
      return args[++i];
    };
    if (name == "-h" || name == "--help") {
      options.command = Command::kHelp;
      return options;
    } else if (name == "--format") {
      auto v = take_value();
      if (!v) return v.error();
      if (*v == "json") {
        options.format = Format::kJson;
      } else if (*v == "text") {
        options.format = Format::kText;
      } else {
        return Usage("--format must be text or json, not '" + *v + "'");
      }
    } else if (name == "--by") {
      auto v = take_value();
      if (!v) return v.error();
      if (*v == "none") {
        options.grouping = TreeGrouping::kNone;
      } else if (*v == "session") {
        options.grouping = TreeGrouping::kSession;
      } else if (*v == "pidns") {
        options.grouping = TreeGrouping::kPidNamespace;
      } else {
        return Usage("--by must be none, session or pidns, not '" + *v + "'");
      }
    } else if (name == "--proc") {
      auto v = take_value();
      if (!v) return v.error();
      options.proc_root = *v;
    } else if (name == "--max-args-bytes") {
      auto v = take_value();
      if (!v) return v.error();
      size_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc{} || end != v->data() + v->size() || n == 0) {
        return Usage("--max-args-bytes needs a positive number, not '" + *v + "'");
      }
      options.max_args_bytes = n;
    } else {
      return Usage("unknown option '" + arg + "' for " + command + " (try: pidscope --help)");
    }
  }
  return options;
}

}  // namespace pidscope::cli
