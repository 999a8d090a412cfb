#include "source/event.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace pidscope {

namespace {
constexpr std::array<std::pair<EventAction, const char*>, 11> kNames = {{
    {EventAction::kFork, "fork"},
    {EventAction::kExec, "exec"},
    {EventAction::kExit, "exit"},
    {EventAction::kReap, "reap"},
    {EventAction::kSetsid, "setsid"},
    {EventAction::kSetpgid, "setpgid"},
    {EventAction::kCredChange, "cred_change"},
    {EventAction::kSubreaper, "subreaper"},
    {EventAction::kComm, "comm"},
    {EventAction::kReparent, "reparent"},
    {EventAction::kThreadExit, "thread_exit"},
}};
}  // namespace

const char* ActionName(EventAction action) {
  for (const auto& [value, name] : kNames) {
    if (value == action) return name;
  }
  return "unknown";
}

const char* EventSourceName(EventSource source) {
  switch (source) {
    case EventSource::kBpf:
      return "bpf";
    case EventSource::kNetlink:
      return "netlink";
    case EventSource::kProcfs:
      return "procfs";
    case EventSource::kModel:
      return "model";
  }
  return "unknown";
}

std::optional<EventAction> ActionFromName(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

void ResetEvent(Event* event) {
  std::string filename = std::move(event->filename);
  std::string args = std::move(event->args);
  *event = Event{};
  filename.clear();
  args.clear();
  event->filename = std::move(filename);
  event->args = std::move(args);
}

void SetExitFromWaitStatus(uint32_t status, Event* event) {
  if ((status & 0x7f) == 0) {  // exited: the code is in bits 15-8
    event->exit_code = static_cast<int32_t>((status >> 8) & 0xff);
    event->exit_signal = 0;
    event->core_dumped = false;
  } else {  // killed: the signal in bits 6-0, 0x80 when a core was dumped
    event->exit_code = -1;
    event->exit_signal = static_cast<int32_t>(status & 0x7f);
    event->core_dumped = (status & 0x80) != 0;
  }
}

}  // namespace pidscope
