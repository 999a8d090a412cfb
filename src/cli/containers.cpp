#include "cli/containers.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>

#include "export/groups_view.hpp"
#include "procfs/reader.hpp"
#include "resolve/cgroup_identity.hpp"
#include "util/clock.hpp"

namespace pidscope::cli {

int RunContainers(const Options& options) {
  procfs::ReadOptions read{options.max_args_bytes};
  // A snapshot cannot know when a zombie exited. Observing twice tells the zombies that stayed
  // unreaped for the whole window: their age is at least the window, and that is the evidence
  // reaping health is judged by (the daemon knows exact exit times from events).
  auto first = procfs::ReadAllProcesses(options.proc_root, read);
  if (!first) {
    std::fprintf(stderr, "pidscope: %s\n", first.error().Message().c_str());
    return kExitFailure;
  }
  uint64_t first_ns = BootTimeNs();
  std::vector<Process> processes = std::move(*first);
  if (options.observe_seconds > 0) {
    std::map<int32_t, uint64_t> zombies_then;
    for (const Process& p : processes) {
      if (p.is_zombie()) zombies_then[p.key.pid] = p.key.start_ticks;
    }
    std::this_thread::sleep_for(std::chrono::seconds(options.observe_seconds));
    auto second = procfs::ReadAllProcesses(options.proc_root, read);
    if (!second) {
      std::fprintf(stderr, "pidscope: %s\n", second.error().Message().c_str());
      return kExitFailure;
    }
    processes = std::move(*second);
    for (Process& p : processes) {
      auto it = zombies_then.find(p.key.pid);
      if (p.is_zombie() && it != zombies_then.end() && it->second == p.key.start_ticks) {
        p.exit_boot_ns = first_ns;  // exited no later than the first look
      }
    }
  }
  uint64_t now = BootTimeNs();
  ProcessTable table;
  table.Bootstrap(std::move(processes));

  ReapingPolicy policy;
  if (options.observe_seconds > 0) {
    policy.failing_after_ns = static_cast<uint64_t>(options.observe_seconds) * 1'000'000'000;
  }

  // The PID namespace of each container: that of its outermost member (its init's).
  std::map<std::string_view, std::pair<int, uint64_t>> container_pidns;  // id -> (level, inode)
  table.ForEach([&](const Process& p) {
    if (!p.container || p.container->id.empty()) return;
    auto [it, inserted] = container_pidns.try_emplace(
        p.container->id, std::pair{p.pidns_level(), p.ns(NsType::kPid)});
    if (!inserted && p.pidns_level() < it->second.first) {
      it->second = {p.pidns_level(), p.ns(NsType::kPid)};
    }
  });

  std::vector<GroupReport> reports;
  std::map<uint64_t, bool> pidns_of_a_container;
  for (const auto& [id, stats] : table.by_container()) {
    GroupReport r;
    r.kind = "container";
    r.stats = &stats;
    r.identity = stats.identity.get();
    auto where = container_pidns.find(id);
    if (where != container_pidns.end()) {
      r.pidns_level = where->second.first;
      r.pidns_inode = where->second.second;
      if (r.pidns_level > 0) pidns_of_a_container[r.pidns_inode] = true;
    }
    reports.push_back(r);
  }
  for (const auto& [inode, stats] : table.by_pidns()) {
    if (pidns_of_a_container.contains(inode)) continue;
    GroupReport r;
    r.kind = "pidns";
    r.stats = &stats;
    r.pidns_inode = inode;
    const Process* init = table.NamespaceInit(inode);
    r.pidns_level = init != nullptr ? init->pidns_level() : 0;
    reports.push_back(r);
  }
  for (GroupReport& r : reports) {
    // Containers sharing the host's PID namespace have no init of their own.
    if (r.kind == "container" && r.pidns_level == 0) continue;
    r.reaping = AssessReaping(table, r.pidns_inode, now, policy);
    int32_t member = r.reaping ? r.reaping->init_pid : 0;
    if (member != 0) {
      if (auto links = ReadPidNamespaceLinks(options.proc_root, member)) r.links = *links;
    }
  }
  std::sort(reports.begin(), reports.end(), [](const GroupReport& a, const GroupReport& b) {
    return std::tie(a.kind, a.pidns_level, a.pidns_inode) <
           std::tie(b.kind, b.pidns_level, b.pidns_inode);
  });

  std::string out;
  if (options.format == Format::kJson) {
    WriteGroupsJson(&out, reports, now);
  } else {
    out = RenderGroupsText(reports, now);
  }
  if (fwrite(out.data(), 1, out.size(), stdout) != out.size()) return kExitFailure;
  return kExitOk;
}

}  // namespace pidscope::cli
