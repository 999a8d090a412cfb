#include "cli/live.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "export/event_file.hpp"
#include "export/process_json.hpp"
#include "procfs/host.hpp"
#include "resolve/cgroup_identity.hpp"
#include "runtime/log.hpp"
#include "runtime/monitor.hpp"
#include "runtime/privileges.hpp"
#include "runtime/source_factory.hpp"
#include "util/clock.hpp"

namespace pidscope::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnStop(int) { g_stop = true; }
void OnReload(int) { g_reload = true; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;  // no SA_RESTART: a blocking poll returns with EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnReload;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// Which events a reader asked for.
struct EventFilter {
  std::vector<EventAction> actions;  // empty: all
  uint64_t pidns = 0;
  std::string container;

  static EventFilter From(const Options& options) {
    EventFilter filter;
    for (const auto& name : options.actions) filter.actions.push_back(*ActionFromName(name));
    filter.pidns = options.pidns_filter;
    filter.container = options.container_filter;
    return filter;
  }
  bool Accepts(const Event& event, const ProcessTable& table) const {
    if (event.action == EventAction::kThreadExit) return false;  // internal
    if (!actions.empty() &&
        std::find(actions.begin(), actions.end(), event.action) == actions.end()) {
      return false;
    }
    if (pidns != 0 || !container.empty()) {
      const Process* p = table.Find(event.pid);
      if (p == nullptr) return false;
      if (pidns != 0 && p->ns(NsType::kPid) != pidns) return false;
      if (!container.empty() &&
          (!p->container || (!p->container->id.starts_with(container) &&
                             !p->container->pod_uid.starts_with(container)))) {
        return false;
      }
    }
    return true;
  }
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::FromErrno("read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Shared by `events` and `run`: attach, bootstrap, drop privileges, loop until a stop signal.
int RunLive(Options options, bool daemon) {
  InstallSignalHandlers();
  SetLogFormat(options.log_text ? LogFormat::kText : LogFormat::kJson);

  auto host = procfs::ReadHostInfo(options.proc_root);
  if (!host) {
    LogError(host.error().Message());
    return kExitFailure;
  }
  // Name what is missing before trying, so the operator sees the cause, not a libbpf errno.
  if (options.source != "auto") {
    auto missing = MissingCapabilities(AttachCapabilities(options.source));
    if (!missing.empty()) {
      std::string text = "source " + options.source + " needs capabilities:";
      for (const auto& m : missing) text += " " + m + ";";
      LogError(text);
      return kExitFailure;
    }
  }
  auto started = StartSource(options.source, options.proc_root);
  if (!started) {
    LogError("cannot start an event source: " + started.error().Message());
    return kExitFailure;
  }
  std::string source_name = started->source->name();
  LogInfo("source " + source_name + ": " + started->why);

  MonitorOptions monitor_options;
  monitor_options.proc_root = options.proc_root;
  monitor_options.read.max_args_bytes = options.max_args_bytes;
  monitor_options.reconcile_interval = std::chrono::seconds(options.reconcile_seconds);
  monitor_options.source_started = true;
  Monitor monitor(std::move(started->source), monitor_options,
                  [](const std::string& message) { LogInfo(message); });

  std::string events_path = daemon ? options.events_path : "-";
  std::optional<EventFile> events;
  if (!events_path.empty()) {
    auto opened = EventFile::Open(events_path, options.events_max_bytes);
    if (!opened) {
      LogError(opened.error().Message());
      return kExitFailure;
    }
    events.emplace(std::move(*opened));
  }

  NameCache names;
  EventFilter filter = EventFilter::From(options);
  std::string batch;
  uint64_t now_ns = BootTimeNs();
  monitor.SetObserver([&](const Event& event, const ProcessTable& table) {
    if (!events || !filter.Accepts(event, table)) return;
    JsonWriter w(&batch);
    WriteEventDocument(&w, event, ProcessJsonContext{&*host, &table, &names, now_ns});
    batch.push_back('\n');
  });

  if (auto s = monitor.Start(); !s) {
    LogError("bootstrap failed: " + s.error().Message());
    return kExitFailure;
  }
  // Attached: everything else is only for reading /proc.
  if (auto dropped = DropCapabilitiesExcept(RuntimeCapabilities()); !dropped) {
    LogWarn("could not drop capabilities: " + dropped.error().Message());
  } else {
    LogInfo("capabilities now: " + EffectiveCapabilitiesText());
  }

  int exit_code = kExitOk;
  auto flush = [&]() {
    if (events && !batch.empty()) {
      if (auto w = events->Write(batch); !w) {
        LogError(w.error().Message());
        g_stop = true;
        exit_code = kExitFailure;
      }
    }
    batch.clear();
  };
  flush();
  while (!g_stop) {
    now_ns = BootTimeNs();
    if (auto r = monitor.RunOnce(250); !r) {
      LogError("capture failed: " + r.error().Message());
      exit_code = kExitFailure;
      break;
    }
    flush();
    if (g_reload.exchange(false) && daemon) {
      if (options.config_path.empty()) {
        LogInfo("SIGHUP: no --config to reload");
        continue;
      }
      auto text = ReadFile(options.config_path);
      Options reloaded = options;
      if (!text) {
        LogError("reload: " + text.error().Message());
      } else if (auto applied = ApplyConfigText(*text, &reloaded); !applied) {
        LogError("reload: " + applied.error().Message() + " (keeping the running configuration)");
      } else {
        if (reloaded.source != options.source) {
          LogWarn("reload: a new source takes effect at the next start");
        }
        options = reloaded;
        filter = EventFilter::From(options);
        monitor.set_reconcile_interval(std::chrono::seconds(options.reconcile_seconds));
        SetLogFormat(options.log_text ? LogFormat::kText : LogFormat::kJson);
        LogInfo("reloaded " + options.config_path);
      }
    }
  }
  monitor.Stop();  // drains the ring buffer, detaches the programs
  flush();
  const ModelStats& m = monitor.table().stats();
  SourceStats s = monitor.source().Stats();
  LogInfo("stopped source=" + source_name + " events_received=" +
          std::to_string(s.events_received) + " events_lost=" + std::to_string(s.events_lost) +
          " resyncs=" + std::to_string(monitor.stats().resyncs) + " ghosts_removed=" +
          std::to_string(m.ghosts_removed) + " reparents=" + std::to_string(m.reparents));
  return exit_code;
}

}  // namespace

int RunEvents(const Options& options) { return RunLive(options, false); }

int RunDaemon(const Options& options) { return RunLive(options, true); }

}  // namespace pidscope::cli
