#include "cli/options.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "source/event.hpp"

namespace pidscope::cli {

const char* UsageText() {
  return R"(Usage: pidscope COMMAND [OPTIONS]

A container-aware process monitor: who runs what, where, under whom.

Commands:
  snapshot        Print every process of the host, read from procfs.
  tree            Print the process forest (like ps -ef --forest) with namespace PIDs.
  containers      List containers and PID namespaces: processes, zombies, orphans,
                  sub-reapers, and whether each init reaps its children (ok, suspect,
                  failing, with the reason).
  events          Stream process events as JSON lines (ECS) to standard output.
  run             The daemon: keep the live model, write events, log, reload on SIGHUP.
  help            Show this text.
  version         Print the version.

Options:
  --format text|json     Output format (snapshot; default text). JSON is the stable contract:
                         an array of ECS documents (process.*, host.*, pidscope.*).
  --by none|session|pidns|container
                         Group the tree by session, PID namespace or container (tree; default
                         none); each container's tree hangs from its init.
  --observe SECONDS      containers: watch this long (default 3; 0 = one look); a zombie
                         child of an init that stays unreaped for the whole window makes
                         that init "failing".
  --proc PATH            procfs mount to read (default /proc), e.g. a host's /proc mounted
                         into a container.
  --max-args-bytes N     Bytes of argv kept per process (default 32768); longer command
                         lines are cut at an argument boundary and flagged
                         pidscope.args_truncated.
  --source auto|bpf|netlink|procfs
                         Event source (events, run; default auto = the best that works:
                         bpf, else the netlink proc connector, else procfs polling; the log
                         says which and why).
  --action LIST          Only these event.action values, comma-separated: fork, exec, exit,
                         reap, setsid, setpgid, cred_change, subreaper, comm, reparent.
  --pid-namespace INODE  Only processes whose PID namespace has this inode (see
                         pidscope.pidns.inode or lsns -t pid).
  --container ID         Only processes of containers whose id (or pod UID) starts with ID
                         (the 12-character short id works).
  --events PATH          run: write events as JSON lines to PATH ('-' for standard output),
                         rotated to PATH.1 beyond --events-max-bytes (default 64 MiB).
  --events-max-bytes N   run: size at which the events file is rotated.
  --config PATH          run: configuration file of "key = value" lines using these option
                         names (source, action, pid-namespace, events, events-max-bytes,
                         reconcile-seconds, log-format); re-read on SIGHUP.
  --reconcile-seconds N  Seconds between cheap reconciliations with /proc (default 30).
  --log-format json|text Log lines on standard error (default json).
  -h, --help             Show this text.

Signals (run, events):
  SIGTERM, SIGINT        Drain pending events, detach BPF programs, exit 0.
  SIGHUP                 run: re-read --config; filters and intervals take effect at once.

Privileges:
  events and run check capabilities at start and name what is missing: CAP_BPF and
  CAP_PERFMON (bpf source), CAP_NET_ADMIN (netlink source), CAP_SYS_PTRACE and
  CAP_DAC_READ_SEARCH (reading /proc of other users). Once attached, every other capability
  is dropped.

Tree markers:
  [pidns-init LN]        PID 1 of a PID namespace N levels below the host's (a container init).
  {runtime:id}           Where a container starts: docker:3f4e5d6c7b8a, cri-o:..., podman:...
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

Result<uint64_t> ParseUnsigned(const std::string& name, const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return Usage(name + " needs a number, not '" + text + "'");
  }
  return n;
}

// Options shared by the command line and the config file (key without dashes). Returns nullopt
// when `key` is not one of them.
template <typename TakeValue>
std::optional<Status> ApplyLiveOption(const std::string& key, TakeValue&& take_value,
                                      Options* options) {
  static const char* kKeys[] = {"source", "action",           "pid-namespace", "container",
                                "events", "events-max-bytes", "config",        "reconcile-seconds"};
  if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) return std::nullopt;
  auto v = take_value();
  if (!v) return Status(v.error());
  const std::string& value = *v;
  if (key == "source") {
    if (value != "auto" && value != "bpf" && value != "netlink" && value != "procfs") {
      return Status(Usage("source must be auto, bpf, netlink or procfs, not '" + value + "'"));
    }
    options->source = value;
  } else if (key == "action") {
    options->actions.clear();
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string action = value.substr(start, comma == std::string::npos ? comma : comma - start);
      // "fork, exit" reads naturally in a config file: ignore spaces around the names.
      action.erase(0, action.find_first_not_of(' '));
      action.erase(action.find_last_not_of(' ') + 1);
      if (!ActionFromName(action) || action == "thread_exit") {
        return Status(Usage("unknown event action '" + action + "'"));
      }
      options->actions.push_back(action);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (key == "pid-namespace") {
    auto n = ParseUnsigned("pid-namespace", value);
    if (!n) return Status(n.error());
    options->pidns_filter = *n;
  } else if (key == "container") {
    options->container_filter = value;
  } else if (key == "events") {
    options->events_path = value;
  } else if (key == "events-max-bytes") {
    auto n = ParseUnsigned("events-max-bytes", value);
    if (!n) return Status(n.error());
    options->events_max_bytes = *n;
  } else if (key == "config") {
    options->config_path = value;
  } else if (key == "reconcile-seconds") {
    auto n = ParseUnsigned("reconcile-seconds", value);
    if (!n || *n == 0) return Status(Usage("reconcile-seconds needs a positive number"));
    options->reconcile_seconds = static_cast<uint32_t>(*n);
  }
  return Status(Ok{});
}

}  // namespace

Result<Options> ParseOptions(const std::vector<std::string>& args, Options defaults) {
  Options options = std::move(defaults);
  if (args.empty()) return options;  // no command: help
  const std::string& command = args[0];
  if (command == "snapshot") {
    options.command = Command::kSnapshot;
  } else if (command == "tree") {
    options.command = Command::kTree;
  } else if (command == "containers") {
    options.command = Command::kContainers;
  } else if (command == "events") {
    options.command = Command::kEvents;
  } else if (command == "run") {
    options.command = Command::kRun;
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
      } else if (*v == "container") {
        options.grouping = TreeGrouping::kContainer;
      } else {
        return Usage("--by must be none, session, pidns or container, not '" + *v + "'");
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
    } else if (name == "--observe") {
      auto v = take_value();
      if (!v) return v.error();
      auto n = ParseUnsigned("--observe", *v);
      if (!n || *n > 3600) return Usage("--observe needs seconds between 0 and 3600");
      options.observe_seconds = static_cast<uint32_t>(*n);
    } else if (name == "--log-format") {
      auto v = take_value();
      if (!v) return v.error();
      if (*v != "json" && *v != "text") return Usage("--log-format must be json or text");
      options.log_text = *v == "text";
    } else if (auto handled = ApplyLiveOption(name.substr(2), take_value, &options);
               name.starts_with("--") && handled.has_value()) {
      if (!*handled) return handled->error();
    } else {
      return Usage("unknown option '" + arg + "' for " + command + " (try: pidscope --help)");
    }
  }
  return options;
}

Status ApplyConfigText(const std::string& text, Options* options) {
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t\r");
      size_t e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Usage("config line " + std::to_string(line_number) + ": expected key = value");
    }
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    auto take_value = [&]() -> Result<std::string> { return value; };
    if (key == "log-format") {
      if (value != "json" && value != "text")
        return Usage("config: log-format must be json or text");
      options->log_text = value == "text";
      continue;
    }
    auto handled = ApplyLiveOption(key, take_value, options);
    if (!handled.has_value()) {
      return Usage("config line " + std::to_string(line_number) + ": unknown key '" + key + "'");
    }
    if (!*handled)
      return Usage("config line " + std::to_string(line_number) + ": " +
                   handled->error().Message());
  }
  return Ok{};
}

}  // namespace pidscope::cli
