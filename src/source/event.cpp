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

}  // namespace pidscope
