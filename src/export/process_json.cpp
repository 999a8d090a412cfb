#include "export/process_json.hpp"

#include <signal.h>
#include <string.h>

#include <charconv>

#include "model/entity_id.hpp"
#include "procfs/parse.hpp"
#include "resolve/cgroup_identity.hpp"
#include "util/time_format.hpp"

namespace pidscope {

namespace {

void WriteId(JsonWriter* w, std::string_view key, uint32_t id) {
  // ECS ids are keywords (strings).
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, id);
  w->Member(key, std::string_view(buf, end - buf));
}

void WriteUser(JsonWriter* w, std::string_view key, uint32_t uid, NameCache* names) {
  w->Key(key).BeginObject();
  WriteId(w, "id", uid);
  if (names != nullptr) {
    if (const auto& name = names->UserName(uid)) w->Member("name", *name);
  }
  w->EndObject();
}

void WriteGroup(JsonWriter* w, std::string_view key, uint32_t gid, NameCache* names) {
  w->Key(key).BeginObject();
  WriteId(w, "id", gid);
  if (names != nullptr) {
    if (const auto& name = names->GroupName(gid)) w->Member("name", *name);
  }
  w->EndObject();
}

void WriteStart(JsonWriter* w, const procfs::HostInfo& host, uint64_t start_ticks) {
  std::string start;
  AppendRfc3339Ns(&start, host.StartWallTimeNs(start_ticks));
  w->Member("start", start);
}

// A related process (parent, leaders): pid always; start and entity id when the model knows it.
void WriteRelative(JsonWriter* w, std::string_view key, int32_t pid,
                   const ProcessJsonContext& context) {
  w->Key(key).BeginObject();
  w->MemberInt("pid", pid);
  const Process* relative = context.table != nullptr ? context.table->Find(pid) : nullptr;
  if (relative != nullptr && pid > 0) {
    w->Member("entity_id", EntityId(*context.host, relative->key));
    WriteStart(w, *context.host, relative->key.start_ticks);
  }
  w->EndObject();
}

void WriteCapabilities(JsonWriter* w, std::string_view key, uint64_t mask) {
  w->Key(key).BeginArray();
  for (const auto& name : CapabilityNames(mask)) w->String(name);
  w->EndArray();
}

// Signal names as `kill -l` prints them. The kernel's real-time signals start at 32, but glibc
// keeps 32 and 33 for itself (SIGRTMIN is 34 to programs): those two are named by number.
std::string SignalName(int signo) {
  constexpr int kKernelRtMin = 32;
  if (signo < kKernelRtMin) {
    const char* abbrev = sigabbrev_np(signo);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "SIG" + std::to_string(signo);
  }
  int rtmin = SIGRTMIN;  // 34 with glibc
  if (signo < rtmin) return "SIG" + std::to_string(signo);
  if (signo == SIGRTMAX) return "SIGRTMAX";
  if (signo == rtmin) return "SIGRTMIN";
  return "SIGRTMIN+" + std::to_string(signo - rtmin);
}

void WriteSignalSet(JsonWriter* w, std::string_view key, uint64_t mask) {
  w->Key(key).BeginObject();
  char hex[17];
  auto [end, ec] = std::to_chars(hex, hex + 16, mask, 16);
  std::string padded(16 - (end - hex), '0');
  padded.append(hex, end);
  w->Member("mask", padded);
  w->Key("names").BeginArray();
  for (int bit = 0; bit < 64; ++bit) {
    if (!(mask & (uint64_t{1} << bit))) continue;
    w->String(SignalName(bit + 1));
  }
  w->EndArray();
  w->EndObject();
}

void WriteIntArray(JsonWriter* w, std::string_view key, const std::vector<int32_t>& values) {
  w->Key(key).BeginArray();
  for (int32_t v : values) w->Int(v);
  w->EndArray();
}

// The ECS process fields of `p` into the object being written. The parent is a stub (pid, start,
// entity id) unless `full_parent`, as events want it.
void WriteProcessFields(JsonWriter* w, const Process& p, const ProcessJsonContext& context,
                        bool full_parent) {
  const procfs::HostInfo& host = *context.host;
  w->MemberInt("pid", p.key.pid);
  w->MemberInt("vpid", p.ns_pid.empty() ? p.key.pid : p.ns_pid.back());
  w->Member("entity_id", EntityId(host, p.key));
  WriteStart(w, host, p.key.start_ticks);
  w->Member("name", p.comm);
  if (p.executable) w->Member("executable", *p.executable);
  if (p.cwd) w->Member("working_directory", *p.cwd);
  if (!p.kernel_thread && !(p.unreadable & kUnreadableCmdline)) {
    w->Key("args").BeginArray();
    for (std::string_view arg : procfs::SplitArgs(p.args, p.args_count)) w->String(arg);
    w->EndArray();
    w->MemberUInt("args_count", p.args_count);
  }
  w->MemberBool("interactive", procfs::IsTerminal(p.tty_nr));
  if (p.tty_nr != 0) {
    procfs::TtyDevice dev = procfs::DecodeTtyNr(p.tty_nr);
    w->Key("tty").BeginObject();
    w->Member("name", procfs::TtyName(p.tty_nr));
    w->Key("char_device")
        .BeginObject()
        .MemberUInt("major", dev.major)
        .MemberUInt("minor", dev.minor);
    w->EndObject().EndObject();
  }
  const Process* parent = context.table != nullptr ? context.table->Find(p.ppid) : nullptr;
  if (full_parent && parent != nullptr && p.ppid > 0) {
    w->Key("parent").BeginObject();
    WriteProcessFields(w, *parent, context, false);
    w->EndObject();
  } else {
    WriteRelative(w, "parent", p.ppid, context);
  }
  WriteRelative(w, "group_leader", p.pgid, context);
  WriteRelative(w, "session_leader", p.sid, context);
  if (p.credentials_known) {
    const Credentials& c = p.credentials;
    WriteUser(w, "user", c.uid[1], context.names);
    WriteGroup(w, "group", c.gid[1], context.names);
    WriteUser(w, "real_user", c.uid[0], context.names);
    WriteGroup(w, "real_group", c.gid[0], context.names);
    WriteUser(w, "saved_user", c.uid[2], context.names);
    WriteGroup(w, "saved_group", c.gid[2], context.names);
    w->Key("supplemental_groups").BeginArray();
    for (uint32_t gid : c.groups) {
      w->BeginObject();
      WriteId(w, "id", gid);
      if (context.names != nullptr) {
        if (const auto& name = context.names->GroupName(gid)) w->Member("name", *name);
      }
      w->EndObject();
    }
    w->EndArray();
    w->Key("thread").BeginObject().Key("capabilities").BeginObject();
    WriteCapabilities(w, "effective", c.cap_effective);
    WriteCapabilities(w, "permitted", c.cap_permitted);
    w->EndObject().EndObject();
  }
  if (p.exited) {
    if (p.exit_code >= 0) w->MemberInt("exit_code", p.exit_code);
    if (p.exit_boot_ns != 0) {
      std::string end;
      AppendRfc3339Ns(&end, host.boot_wall_time_ns + static_cast<int64_t>(p.exit_boot_ns));
      w->Member("end", end);
    }
  }
}

void WriteProcessObject(JsonWriter* w, const Process& p, const ProcessJsonContext& context,
                        bool full_parent) {
  w->Key("process").BeginObject();
  WriteProcessFields(w, p, context, full_parent);
  w->EndObject();
}

void WritePidscopeFields(JsonWriter* w, const Process& p, const ProcessJsonContext& context) {
  w->MemberUInt("start_ticks", p.key.start_ticks);
  w->Member("state", std::string_view(&p.state, 1));
  w->MemberInt("threads", p.threads);
  w->MemberBool("zombie", p.is_zombie());
  w->MemberBool("kernel_thread", p.kernel_thread);
  w->MemberInt("tracer_pid", p.tracer_pid);
  w->MemberInt("tpgid", p.tpgid);  // foreground process group of the controlling terminal
  w->MemberBool("args_truncated", p.args_truncated);
  w->MemberBool("executable_deleted", p.executable_deleted);
  w->MemberBool("container_init", p.is_namespace_init());
  w->Key("pidns").BeginObject();
  w->MemberInt("level", p.pidns_level());
  if (uint64_t ino = p.ns(NsType::kPid)) w->MemberUInt("inode", ino);
  w->EndObject();
  WriteIntArray(w, "ns_pid", p.ns_pid);
  WriteIntArray(w, "ns_pgid", p.ns_pgid);
  WriteIntArray(w, "ns_sid", p.ns_sid);
  w->Key("namespaces").BeginObject();
  for (size_t i = 0; i < kNsNames.size(); ++i) {
    if (p.ns_inode[i] != 0) w->MemberUInt(kNsNames[i], p.ns_inode[i]);
  }
  w->EndObject();
  if (p.credentials_known) {
    WriteUser(w, "fs_user", p.credentials.uid[3], context.names);
    WriteGroup(w, "fs_group", p.credentials.gid[3], context.names);
    w->Key("capabilities").BeginObject();
    WriteCapabilities(w, "bounding", p.credentials.cap_bounding);
    WriteCapabilities(w, "inheritable", p.credentials.cap_inheritable);
    WriteCapabilities(w, "ambient", p.credentials.cap_ambient);
    w->EndObject();
  }
  if (p.cgroups) {
    w->Key("cgroups").BeginArray();
    for (const Cgroup& cg : *p.cgroups) {
      w->BeginObject()
          .MemberUInt("hierarchy_id", cg.hierarchy_id)
          .Member("controllers", cg.controllers)
          .Member("path", cg.path)
          .EndObject();
    }
    w->EndArray();
  }
  if (!(p.unreadable & kUnreadableStatus)) {
    w->Key("signals").BeginObject();
    WriteSignalSet(w, "blocked", p.sig_blocked);
    WriteSignalSet(w, "ignored", p.sig_ignored);
    WriteSignalSet(w, "caught", p.sig_caught);
    w->EndObject();
  }
  if (p.unreadable != 0) {
    static constexpr std::pair<uint16_t, const char*> kParts[] = {
        {kUnreadableStatus, "status"}, {kUnreadableCmdline, "cmdline"}, {kUnreadableExe, "exe"},
        {kUnreadableCwd, "cwd"},       {kUnreadableCgroup, "cgroup"},   {kUnreadableNs, "ns"}};
    w->Key("unreadable").BeginArray();
    for (auto [bit, name] : kParts) {
      if (p.unreadable & bit) w->String(name);
    }
    w->EndArray();
  }
  // Live-model state: what only events tell.
  w->MemberBool("orphan", p.is_orphan());
  if (p.is_orphan()) {
    w->Member("reaper_kind", ReaperKindName(p.reaper_kind));
    w->MemberInt("original_ppid", p.original_ppid);
  }
  w->Key("subreaper");
  if (p.subreaper == Tristate::kUnknown) {
    w->Null();
  } else {
    w->Bool(p.subreaper == Tristate::kYes);
  }
  if (p.exited) {
    w->MemberInt("exit_signal", p.exit_signal);
    w->MemberBool("core_dumped", p.core_dumped);
    if (context.now_boot_ns > p.exit_boot_ns && p.exit_boot_ns != 0) {
      w->MemberUInt("zombie_age_ms", (context.now_boot_ns - p.exit_boot_ns) / 1'000'000);
    }
  }
  if (p.exec_count > 0) w->MemberUInt("exec_count", p.exec_count);
  if (p.cgroup_id != 0) w->MemberUInt("cgroup_id", p.cgroup_id);
}

void WriteContainerObjects(JsonWriter* w, const Process& p) {
  if (p.container) WriteContainerEcs(w, *p.container);
}

void WriteContainerDetails(JsonWriter* w, const Process& p) {
  if (!p.container) return;
  const ContainerIdentity& c = *p.container;
  w->Key("container").BeginObject();
  w->Member("role", c.role);
  if (!c.qos_class.empty()) w->Member("qos_class", c.qos_class);
  if (!c.pod_uid.empty()) w->Member("pod_uid", c.pod_uid);
  w->MemberInt("nesting_depth", c.nesting_depth);
  w->Member("cgroup_path", c.cgroup_path);
  w->EndObject();
}

}  // namespace

void WriteContainerEcs(JsonWriter* w, const ContainerIdentity& c) {
  if (!c.id.empty() || !c.runtime.empty()) {
    w->Key("container").BeginObject();
    if (!c.id.empty()) w->Member("id", c.id);
    if (!c.runtime.empty()) w->Member("runtime", c.runtime);
    w->EndObject();
  }
  if (c.in_kubernetes) {
    w->Key("orchestrator").BeginObject();
    w->Member("type", "kubernetes");
    w->Key("resource").BeginObject().Member("type", "pod");
    if (!c.pod_uid.empty()) w->Member("id", c.pod_uid);
    w->EndObject();
    w->EndObject();
  }
}

void WriteProcessDocument(JsonWriter* w, const Process& process,
                          const ProcessJsonContext& context) {
  w->BeginObject();
  w->Key("host").BeginObject();
  w->Key("boot").BeginObject().Member("id", context.host->boot_id).EndObject();
  w->MemberUInt("pid_ns_ino", context.host->host_pidns_inode);
  w->EndObject();
  WriteContainerObjects(w, process);
  WriteProcessObject(w, process, context, false);
  w->Key("pidscope").BeginObject();
  WritePidscopeFields(w, process, context);
  WriteContainerDetails(w, process);
  w->EndObject();
  w->EndObject();
}

namespace {

// ECS event.type for each action.
const char* EventType(EventAction action) {
  switch (action) {
    case EventAction::kFork:
      return "start";
    case EventAction::kExec:
      return "start";
    case EventAction::kExit:
      return "end";
    case EventAction::kReap:
      return "end";
    default:
      return "change";
  }
}

}  // namespace

void WriteEventDocument(JsonWriter* w, const Event& event, const ProcessJsonContext& context) {
  const Process* process = context.table != nullptr ? context.table->Find(event.pid) : nullptr;
  if (process != nullptr && event.start_ticks != 0 &&
      process->key.start_ticks != event.start_ticks) {
    process = nullptr;
  }
  w->BeginObject();
  std::string timestamp;
  int64_t boot_ns = event.timestamp_ns != 0 ? static_cast<int64_t>(event.timestamp_ns)
                                            : static_cast<int64_t>(context.now_boot_ns);
  AppendRfc3339Ns(&timestamp, context.host->boot_wall_time_ns + boot_ns);
  w->Member("@timestamp", timestamp);
  w->Key("event").BeginObject();
  w->Member("action", ActionName(event.action));
  w->Member("kind", "event");
  w->Key("category").BeginArray().String("process").EndArray();
  w->Key("type").BeginArray().String(EventType(event.action)).EndArray();
  w->Member("dataset", "pidscope.process");
  w->EndObject();
  w->Key("host").BeginObject();
  w->Key("boot").BeginObject().Member("id", context.host->boot_id).EndObject();
  w->MemberUInt("pid_ns_ino", context.host->host_pidns_inode);
  w->EndObject();
  if (process != nullptr) {
    WriteContainerObjects(w, *process);
    WriteProcessObject(w, *process, context, true);
  } else {
    w->Key("process").BeginObject().MemberInt("pid", event.pid).EndObject();
  }
  w->Key("pidscope").BeginObject();
  if (process != nullptr) {
    WritePidscopeFields(w, *process, context);
    WriteContainerDetails(w, *process);
  }
  w->Key("event").BeginObject();
  w->Member("source", EventSourceName(event.source));
  w->MemberInt("tid", event.tid);
  switch (event.action) {
    case EventAction::kExec:
      if (event.old_tid != 0 && event.old_tid != event.pid) w->MemberInt("old_tid", event.old_tid);
      break;
    case EventAction::kExit:
      w->MemberInt("exit_code", event.exit_code);
      w->MemberInt("exit_signal", event.exit_signal);
      w->MemberBool("core_dumped", event.core_dumped);
      break;
    case EventAction::kReparent:
      w->MemberInt("old_ppid", event.old_ppid);
      w->MemberInt("new_ppid", event.ppid);
      w->Member("reaper_kind", ReaperKindName(static_cast<ReaperKind>(event.reaper_kind)));
      break;
    case EventAction::kSetpgid:
      w->MemberInt("pgid", event.pgid);
      break;
    case EventAction::kSubreaper:
      w->MemberBool("subreaper", event.subreaper);
      break;
    default:
      break;
  }
  w->EndObject();
  w->EndObject();
  w->EndObject();
}

void WriteSnapshotJson(std::string* out, const ProcessTable& table,
                       const ProcessJsonContext& context,
                       const std::function<void(std::string*)>& flush) {
  constexpr size_t kFlushBytes = 1 << 20;
  out->push_back('[');
  bool first = true;
  for (const Process* process : table.SortedByPid()) {
    out->append(first ? "\n" : ",\n");
    first = false;
    JsonWriter w(out);
    WriteProcessDocument(&w, *process, context);
    if (flush && out->size() > kFlushBytes) flush(out);
  }
  out->append(first ? "]\n" : "\n]\n");
  if (flush) flush(out);
}

}  // namespace pidscope
