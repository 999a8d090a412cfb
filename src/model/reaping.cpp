#include "model/reaping.hpp"

#include <signal.h>

#include <array>
#include <string_view>

namespace pidscope {

namespace {

// Programs that reap every child they inherit, as a container init or supervisor.
constexpr std::array<std::string_view, 16> kKnownReapers = {
    "tini",     "tini-static", "dumb-init",   "catatonit",         "docker-init",
    "systemd",  "init",        "pause",       "s6-svscan",         "runit",
    "runsvdir", "openrc-init", "supervisord", "tini-static-amd64", "containerd-shim",
    "conmon"};

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool HasSignal(uint64_t mask, int signo) { return (mask >> (signo - 1)) & 1; }

}  // namespace

const char* ReapingStateName(ReapingState state) {
  switch (state) {
    case ReapingState::kOk:
      return "ok";
    case ReapingState::kSuspect:
      return "suspect";
    case ReapingState::kFailing:
      return "failing";
  }
  return "ok";
}

std::string KnownReaper(const Process& p) {
  std::string_view exe = p.executable ? Basename(*p.executable) : std::string_view();
  for (std::string_view name : kKnownReapers) {
    if (exe == name || p.comm == name) return std::string(name);
  }
  return {};
}

std::optional<ReapingAssessment> AssessReaping(const ProcessTable& table, uint64_t pidns_inode,
                                               uint64_t now_boot_ns, const ReapingPolicy& policy) {
  const Process* init = table.NamespaceInit(pidns_inode);
  if (init == nullptr) {
    const Process* host_init = table.Find(1);
    if (host_init == nullptr || host_init->ns(NsType::kPid) != pidns_inode) return std::nullopt;
    init = host_init;
  }
  ReapingAssessment a;
  a.init_pid = init->key.pid;
  a.init_name = init->comm;
  if (init->executable) a.init_executable = *init->executable;
  a.known_reaper = KnownReaper(*init);
  a.sigchld_ignored = HasSignal(init->sig_ignored, SIGCHLD);
  a.sigchld_caught = HasSignal(init->sig_caught, SIGCHLD);
  a.sigchld_blocked = HasSignal(init->sig_blocked, SIGCHLD);

  uint64_t oldest_exit = 0;
  bool unknown_age = false;
  for (int32_t pid : table.Children(init->key.pid)) {
    const Process* child = table.Find(pid);
    if (child == nullptr || !child->is_zombie()) continue;
    ++a.zombie_children;
    if (child->exit_boot_ns == 0) {
      unknown_age = true;
    } else if (oldest_exit == 0 || child->exit_boot_ns < oldest_exit) {
      oldest_exit = child->exit_boot_ns;
    }
  }
  if (oldest_exit != 0 && now_boot_ns > oldest_exit) {
    a.oldest_zombie_child_age_ns = now_boot_ns - oldest_exit;
  }

  // Observation decides.
  if (a.oldest_zombie_child_age_ns >= policy.failing_after_ns && a.zombie_children > 0 &&
      oldest_exit != 0) {
    a.state = ReapingState::kFailing;
    a.reason = std::to_string(a.zombie_children) + " zombie children, oldest unreaped for " +
               std::to_string(a.oldest_zombie_child_age_ns / 1'000'000'000) + " s";
    return a;
  }
  if (a.zombie_children > 0) {
    a.state = ReapingState::kSuspect;
    a.reason = std::to_string(a.zombie_children) + " zombie children" +
               (unknown_age ? " (age unknown: exited before pidscope watched)" : ", not yet old");
    return a;
  }
  // No zombie seen: hints only.
  if (!a.known_reaper.empty()) {
    a.reason = "known reaper " + a.known_reaper;
  } else if (a.sigchld_ignored) {
    a.reason = "SIGCHLD ignored: the kernel reaps its children";
  } else if (a.sigchld_caught) {
    a.reason = "SIGCHLD handled";
  } else if (table.Children(init->key.pid).empty() || init->key.pid == 1) {
    a.reason = "no zombie children";
  } else {
    a.state = ReapingState::kSuspect;
    a.reason = init->comm + " is not a known reaper and does not handle SIGCHLD";
  }
  return a;
}

}  // namespace pidscope
