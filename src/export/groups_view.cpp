#include "export/groups_view.hpp"

#include <cstdio>

#include "export/process_json.hpp"
#include "export/tree_view.hpp"
#include "resolve/cgroup_identity.hpp"
#include "util/json_writer.hpp"

namespace pidscope {

namespace {

constexpr std::array<ReaperKind, 4> kOrphanKinds = {ReaperKind::kThread, ReaperKind::kSubreaper,
                                                    ReaperKind::kPidnsInit, ReaperKind::kInit};

}  // namespace

void WriteGroupsJson(std::string* out, const std::vector<GroupReport>& groups,
                     uint64_t now_boot_ns) {
  JsonWriter w(out);
  w.BeginArray();
  for (const GroupReport& g : groups) {
    w.BeginObject();
    if (g.identity != nullptr) WriteContainerEcs(&w, *g.identity);
    w.Key("pidscope").BeginObject();
    w.Member("kind", g.kind);
    if (g.identity != nullptr) {
      w.Key("container").BeginObject();
      w.Member("role", g.identity->role);
      if (!g.identity->qos_class.empty()) w.Member("qos_class", g.identity->qos_class);
      w.MemberInt("nesting_depth", g.identity->nesting_depth);
      w.Member("cgroup_path", g.identity->cgroup_path);
      w.EndObject();
    }
    w.Key("pidns").BeginObject();
    w.MemberUInt("inode", g.pidns_inode).MemberInt("level", g.pidns_level);
    if (g.links) {
      if (g.links->parent_inode) w.MemberUInt("parent", g.links->parent_inode);
      if (g.links->owner_userns_inode) w.MemberUInt("owner_user_ns", g.links->owner_userns_inode);
    }
    w.EndObject();
    const GroupStats& s = *g.stats;
    w.MemberInt("processes", s.processes).MemberInt("zombies", s.zombies);
    uint64_t age = s.OldestZombieAgeNs(now_boot_ns);
    if (age > 0) w.MemberUInt("oldest_zombie_age_seconds", age / 1'000'000'000);
    w.Key("orphans").BeginObject();
    for (ReaperKind kind : kOrphanKinds) {
      w.MemberInt(ReaperKindName(kind), s.orphans_by_kind[static_cast<size_t>(kind)]);
    }
    w.EndObject();
    w.MemberInt("subreapers", s.subreapers);
    if (g.reaping) {
      const ReapingAssessment& r = *g.reaping;
      w.Key("init").BeginObject();
      w.MemberInt("pid", r.init_pid).Member("name", r.init_name);
      if (!r.init_executable.empty()) w.Member("executable", r.init_executable);
      if (!r.known_reaper.empty()) w.Member("known_reaper", r.known_reaper);
      w.Key("sigchld").BeginObject();
      w.MemberBool("ignored", r.sigchld_ignored).MemberBool("caught", r.sigchld_caught);
      w.MemberBool("blocked", r.sigchld_blocked).EndObject();
      w.EndObject();
      w.Key("reaping").BeginObject();
      w.Member("state", ReapingStateName(r.state)).Member("reason", r.reason);
      w.MemberInt("zombie_children", r.zombie_children);
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  out->push_back('\n');
}

std::string RenderGroupsText(const std::vector<GroupReport>& groups, uint64_t now_boot_ns) {
  std::string out =
      "KIND       RUNTIME        ID            POD                                  PIDNS       "
      "LVL INIT                  REAPING  PROCS ZOMBIES OLDEST ORPHANS SUBREAPERS\n";
  for (const GroupReport& g : groups) {
    const ContainerIdentity* c = g.identity;
    std::string id = c ? (c->id.size() == 64 ? c->id.substr(0, 12) : c->id) : "-";
    std::string init = "-";
    if (g.reaping) {
      init = std::to_string(g.reaping->init_pid) + " ";
      AppendPrintable(&init, g.reaping->init_name);
    }
    uint64_t age = g.stats->OldestZombieAgeNs(now_boot_ns);
    char line[512];
    std::snprintf(
        line, sizeof line,
        "%-10s %-14.14s %-13.13s %-36.36s %-11llu %3d %-21.21s %-8s %5lld %7lld %6s %7lld %10lld\n",
        g.kind.c_str(), c && !c->runtime.empty() ? c->runtime.c_str() : "-", id.c_str(),
        c && !c->pod_uid.empty() ? c->pod_uid.c_str() : "-",
        static_cast<unsigned long long>(g.pidns_inode), g.pidns_level, init.c_str(),
        g.reaping ? ReapingStateName(g.reaping->state) : "-",
        static_cast<long long>(g.stats->processes), static_cast<long long>(g.stats->zombies),
        age > 0 ? (std::to_string(age / 1'000'000'000) + "s").c_str() : "-",
        static_cast<long long>(g.stats->orphans()), static_cast<long long>(g.stats->subreapers));
    out += line;
    if (g.reaping && g.reaping->state != ReapingState::kOk) {
      out += "    reaping: ";
      AppendPrintable(&out, g.reaping->reason);
      out += "\n";
    }
  }
  return out;
}

}  // namespace pidscope
