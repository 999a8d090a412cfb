#include "model/process_table.hpp"

#include "resolve/cgroup_identity.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace pidscope {

namespace {

constexpr size_t kMaxSpareNodes = 4096;

ReaperKind ClassifyReaper(const Process& reaper) {
  if (reaper.pidns_level() == 0 && reaper.key.pid == 1) return ReaperKind::kInit;
  if (reaper.is_namespace_init()) return ReaperKind::kPidnsInit;
  return ReaperKind::kSubreaper;
}

// What only events can tell survives a refresh from procfs of the same process.
void KeepLiveState(const Process& old, Process* fresh) {
  fresh->parent_tid = old.parent_tid;
  fresh->original_ppid = old.original_ppid;
  fresh->reaper_kind = old.reaper_kind;
  if (fresh->subreaper == Tristate::kUnknown) fresh->subreaper = old.subreaper;
  fresh->exec_count = old.exec_count;
  if (fresh->cgroup_id == 0) fresh->cgroup_id = old.cgroup_id;
  if (old.exited) {
    fresh->exited = true;
    fresh->exit_code = old.exit_code;
    fresh->exit_signal = old.exit_signal;
    fresh->core_dumped = old.core_dumped;
    fresh->exit_boot_ns = old.exit_boot_ns;
  }
}

}  // namespace

const char* ReaperKindName(ReaperKind kind) {
  switch (kind) {
    case ReaperKind::kNone:
      return "none";
    case ReaperKind::kThread:
      return "thread";
    case ReaperKind::kSubreaper:
      return "subreaper";
    case ReaperKind::kPidnsInit:
      return "pidns_init";
    case ReaperKind::kInit:
      return "init";
    case ReaperKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

void ProcessTable::Bootstrap(std::vector<Process> processes) {
  by_pid_.clear();
  children_.clear();
  pidns_init_.clear();
  totals_ = GroupStats{};
  by_pidns_.clear();
  by_container_.clear();
  by_pod_.clear();
  by_pid_.reserve(processes.size());
  for (auto& process : processes) Upsert(std::move(process));
}

int64_t GroupStats::orphans() const {
  int64_t total = 0;
  for (int64_t n : orphans_by_kind) total += n;
  return total;
}

uint64_t GroupStats::OldestZombieAgeNs(uint64_t now_boot_ns) const {
  uint64_t oldest = 0;
  for (uint64_t exit : zombie_exits) {
    if (exit != 0 && (oldest == 0 || exit < oldest)) oldest = exit;
  }
  return oldest == 0 || now_boot_ns < oldest ? 0 : now_boot_ns - oldest;
}

namespace {

void AddTo(GroupStats* g, const Process& p, int sign) {
  g->processes += sign;
  if (p.is_zombie()) {
    g->zombies += sign;
    if (sign > 0) {
      g->zombie_exits.push_back(p.exit_boot_ns);
    } else if (auto it = std::find(g->zombie_exits.begin(), g->zombie_exits.end(), p.exit_boot_ns);
               it != g->zombie_exits.end()) {
      *it = g->zombie_exits.back();
      g->zombie_exits.pop_back();
    }
  }
  if (p.is_orphan()) g->orphans_by_kind[static_cast<size_t>(p.reaper_kind)] += sign;
  if (p.subreaper == Tristate::kYes) g->subreapers += sign;
}

// Adds (sign +1) or removes (-1) `p` in the group `key`, creating the group on its first member
// and erasing it with its last. A new group keeps the member's identity, so string_view keys
// that view the identity's strings live as long as the group.
template <typename Map, typename Key>
GroupStats* CountIn(Map* groups, const Key& key, const Process& p, int sign) {
  auto it = groups->find(key);
  if (it == groups->end()) {
    if (sign < 0) return nullptr;
    it = groups->emplace(key, GroupStats{}).first;
    it->second.identity = p.container;
  }
  AddTo(&it->second, p, sign);
  if (it->second.processes == 0) {
    groups->erase(it);
    return nullptr;
  }
  return &it->second;
}

}  // namespace

void ProcessTable::Count(const Process& p, int sign) {
  AddTo(&totals_, p, sign);
  uint64_t pidns = p.ns(NsType::kPid);
  if (GroupStats* g = CountIn(&by_pidns_, pidns, p, sign)) g->pidns_inode = pidns;
  if (p.container) {
    const ContainerIdentity& c = *p.container;
    if (!c.id.empty()) CountIn(&by_container_, std::string_view(c.id), p, sign);
    if (!c.pod_uid.empty()) CountIn(&by_pod_, std::string_view(c.pod_uid), p, sign);
  }
}

void ProcessTable::Index(const Process& p) {
  Count(p, +1);
  children_[p.ppid].push_back(p.key.pid);
  if (p.is_namespace_init() && p.ns(NsType::kPid) != 0) pidns_init_[p.ns(NsType::kPid)] = p.key.pid;
}

void ProcessTable::Unindex(const Process& p) {
  Count(p, -1);
  if (auto it = children_.find(p.ppid); it != children_.end()) std::erase(it->second, p.key.pid);
  if (p.is_namespace_init()) {
    auto it = pidns_init_.find(p.ns(NsType::kPid));
    if (it != pidns_init_.end() && it->second == p.key.pid) pidns_init_.erase(it);
  }
}

void ProcessTable::SetParent(Process* process, int32_t ppid) {
  if (auto it = children_.find(process->ppid); it != children_.end()) {
    std::erase(it->second, process->key.pid);
  }
  process->ppid = ppid;
  children_[ppid].push_back(process->key.pid);
}

void ProcessTable::Upsert(Process process) {
  auto it = by_pid_.find(process.key.pid);
  if (it != by_pid_.end()) {
    Unindex(it->second);
    if (it->second.key == process.key) KeepLiveState(it->second, &process);
    it->second = std::move(process);
  } else {
    it = by_pid_.emplace(process.key.pid, std::move(process)).first;
  }
  Index(it->second);
}

void ProcessTable::RemoveRecord(Map::iterator it) {
  Unindex(it->second);
  auto node = by_pid_.extract(it);
  if (spare_nodes_.size() < kMaxSpareNodes) spare_nodes_.push_back(std::move(node));
}

bool ProcessTable::Remove(const ProcessKey& key) {
  auto it = by_pid_.find(key.pid);
  if (it == by_pid_.end() || it->second.key != key) return false;
  RemoveRecord(it);
  return true;
}

Process* ProcessTable::FindMutable(int32_t pid) {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &it->second;
}

const Process* ProcessTable::Find(int32_t pid) const {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &it->second;
}

const Process* ProcessTable::Find(const ProcessKey& key) const {
  const Process* process = Find(key.pid);
  return process != nullptr && process->key == key ? process : nullptr;
}

std::vector<int32_t> ProcessTable::Children(int32_t pid) const {
  auto it = children_.find(pid);
  if (it == children_.end()) return {};
  std::vector<int32_t> children = it->second;
  std::sort(children.begin(), children.end());
  return children;
}

const Process* ProcessTable::NamespaceInit(uint64_t pidns_inode) const {
  auto it = pidns_init_.find(pidns_inode);
  return it == pidns_init_.end() ? nullptr : Find(it->second);
}

std::vector<const Process*> ProcessTable::SortedByPid() const {
  std::vector<const Process*> sorted;
  sorted.reserve(by_pid_.size());
  for (const auto& [pid, process] : by_pid_) sorted.push_back(&process);
  std::sort(sorted.begin(), sorted.end(),
            [](const Process* a, const Process* b) { return a->key.pid < b->key.pid; });
  return sorted;
}

std::vector<ProcessKey> ProcessTable::TakeExecutableRequests() {
  std::vector<ProcessKey> out;
  out.swap(executable_requests_);
  return out;
}

void ProcessTable::SetExecutable(const ProcessKey& key, std::string_view path, bool deleted) {
  Process* p = FindMutable(key.pid);
  if (p == nullptr || p->key != key) return;
  if (!p->executable || *p->executable != path) {
    p->executable = paths_.Get(path, [](std::string_view s) { return std::string(s); });
  }
  p->executable_deleted = deleted;
}

std::vector<int32_t> ProcessTable::TakeRefreshRequests() {
  std::vector<int32_t> out;
  out.swap(refresh_requests_);
  return out;
}

Process* ProcessTable::Target(const Event& event) {
  Process* process = FindMutable(event.pid);
  if (process == nullptr) return nullptr;
  if (event.start_ticks != 0 && process->key.start_ticks != event.start_ticks) return nullptr;
  return process;
}

void ProcessTable::Apply(const Event& event, std::vector<Event>* derived) {
  ++stats_.events_applied;
  if (event.action == EventAction::kFork) {
    ApplyFork(event);
    return;
  }
  if (event.action == EventAction::kReparent) return;  // derived by us, nothing to apply
  Process* p = Target(event);
  if (p == nullptr) {
    ++stats_.unknown_process;
    return;
  }
  // Every event carries the kernel's current parent: check the model's prediction.
  if (event.ppid >= 0 && event.ppid != p->ppid && event.action != EventAction::kReap) {
    ++stats_.parent_corrections;
    const Process* old_parent = Find(p->ppid);
    bool parent_gone = old_parent == nullptr || old_parent->exited;
    int32_t old_ppid = p->ppid;
    SetParent(p, event.ppid);
    if (parent_gone && !p->is_orphan()) {
      const Process* reaper = Find(event.ppid);
      Unindex(*p);
      p->original_ppid = old_ppid;
      p->reaper_kind = reaper != nullptr ? ClassifyReaper(*reaper) : ReaperKind::kUnknown;
      Index(*p);
    }
  }
  switch (event.action) {
    case EventAction::kExec:
      ApplyExec(event, p);
      break;
    case EventAction::kExit:
      ApplyExit(event, p, derived);
      break;
    case EventAction::kThreadExit:
      ApplyThreadExit(event, p, derived);
      break;
    case EventAction::kReap: {
      auto it = by_pid_.find(p->key.pid);
      RemoveRecord(it);
      break;
    }
    case EventAction::kSetsid:
      p->sid = p->key.pid;
      p->pgid = p->key.pid;
      p->ns_sid.assign(p->ns_pid.begin(), p->ns_pid.end());
      p->ns_pgid.assign(p->ns_pid.begin(), p->ns_pid.end());
      p->tty_nr = 0;  // a new session has no controlling terminal
      p->tpgid = -1;
      break;
    case EventAction::kSetpgid: {
      p->pgid = event.pgid;
      const Process* leader = Find(event.pgid);
      if (leader != nullptr && leader->ns_pid.size() >= p->ns_pid.size()) {
        p->ns_pgid.assign(leader->ns_pid.begin(), leader->ns_pid.begin() + p->ns_pid.size());
      } else {
        p->ns_pgid.assign(p->ns_pid.size(), 0);
        if (!p->ns_pgid.empty()) p->ns_pgid[0] = event.pgid;
      }
      break;
    }
    case EventAction::kCredChange:
      if (event.creds_known) {
        p->credentials_known = true;
        p->credentials.uid = event.uid;
        p->credentials.gid = event.gid;
        p->credentials.cap_effective = event.cap_effective;
        p->credentials.cap_permitted = event.cap_permitted;
      } else {
        p->needs_refresh = true;
        refresh_requests_.push_back(p->key.pid);
      }
      break;
    case EventAction::kSubreaper:
      Unindex(*p);
      p->subreaper = event.subreaper ? Tristate::kYes : Tristate::kNo;
      Index(*p);
      break;
    case EventAction::kComm:
      p->comm.assign(event.comm.data(), strnlen(event.comm.data(), event.comm.size()));
      break;
    case EventAction::kFork:
    case EventAction::kReparent:
      break;
  }
}

void ProcessTable::ApplyFork(const Event& e) {
  auto it = by_pid_.find(e.pid);
  if (it != by_pid_.end()) {
    if (e.start_ticks == 0 || it->second.key.start_ticks == e.start_ticks) {
      ++stats_.duplicates;  // the snapshot already holds it
      return;
    }
    ++stats_.pid_reuse;  // the old holder's reap was missed: it is gone
    RemoveRecord(it);
  }
  Map::node_type node;
  if (!spare_nodes_.empty()) {
    node = std::move(spare_nodes_.back());
    spare_nodes_.pop_back();
    node.key() = e.pid;
  } else {
    Map scratch;
    scratch.emplace(e.pid, Process{});
    node = scratch.extract(scratch.begin());
  }
  Process& p = node.mapped();
  int32_t ppid = e.ppid >= 0 ? e.ppid : 0;
  const Process* parent = Find(ppid);
  size_t levels = e.pidns_known ? std::min<size_t>(e.pidns_level + 1, kMaxPidnsLevels) : 1;

  p.key = ProcessKey{e.pid, e.start_ticks};
  p.ppid = ppid;
  p.parent_tid = e.parent_tid;
  p.original_ppid = ppid;
  p.reaper_kind = ReaperKind::kNone;
  p.subreaper = Tristate::kNo;  // is_child_subreaper is not inherited across fork
  p.exited = false;
  p.core_dumped = false;
  p.exit_code = -1;
  p.exit_signal = 0;
  p.exit_boot_ns = 0;
  p.exec_count = 0;
  p.state = 'R';
  p.threads = 1;
  p.tracer_pid = 0;
  p.kernel_thread = false;
  p.unreadable = 0;
  p.ns_pid.assign(e.ns_pids.begin(), e.ns_pids.begin() + levels);
  if (!e.pidns_known) p.ns_pid.assign(1, e.pid);
  if (parent != nullptr) {
    // A fork copies the parent: program, credentials, namespaces, session, signal dispositions.
    p.pgid = parent->pgid;
    p.sid = parent->sid;
    p.tpgid = parent->tpgid;
    p.tty_nr = parent->tty_nr;
    p.kernel_flags = 0;
    p.executable_deleted = parent->executable_deleted;
    p.args_truncated = parent->args_truncated;
    p.credentials_known = parent->credentials_known;
    p.comm.assign(parent->comm);
    p.executable = parent->executable;
    p.cwd = parent->cwd;
    p.args.assign(parent->args);
    p.args_count = parent->args_count;
    p.credentials.uid = parent->credentials.uid;
    p.credentials.gid = parent->credentials.gid;
    p.credentials.groups.assign(parent->credentials.groups.begin(),
                                parent->credentials.groups.end());
    p.credentials.cap_effective = parent->credentials.cap_effective;
    p.credentials.cap_permitted = parent->credentials.cap_permitted;
    p.credentials.cap_bounding = parent->credentials.cap_bounding;
    p.credentials.cap_inheritable = parent->credentials.cap_inheritable;
    p.credentials.cap_ambient = parent->credentials.cap_ambient;
    p.ns_inode = parent->ns_inode;
    p.ns_pgid.assign(parent->ns_pgid.begin(), parent->ns_pgid.end());
    p.ns_sid.assign(parent->ns_sid.begin(), parent->ns_sid.end());
    p.ns_pgid.resize(p.ns_pid.size(), 0);  // leaders in outer namespaces are invisible inside
    p.ns_sid.resize(p.ns_pid.size(), 0);
    p.cgroups = parent->cgroups;
    p.container = parent->container;
    p.cgroup_id = parent->cgroup_id;
    p.sig_blocked = parent->sig_blocked;
    p.sig_ignored = parent->sig_ignored;
    p.sig_caught = parent->sig_caught;
    // A new PID namespace usually comes with other new namespaces (clone flags we do not see).
    bool new_pidns = e.pidns_known && e.pidns_inode != parent->ns(NsType::kPid);
    p.needs_refresh = new_pidns;
  } else {
    p.pgid = p.sid = p.tpgid = 0;
    p.tty_nr = 0;
    p.credentials_known = false;
    p.credentials = Credentials{};
    p.kernel_flags = 0;
    p.executable_deleted = false;
    p.args_truncated = false;
    p.sig_blocked = p.sig_ignored = p.sig_caught = 0;
    p.cgroup_id = 0;
    p.comm.assign(e.comm.data(), strnlen(e.comm.data(), e.comm.size()));
    p.executable.reset();
    p.cwd.reset();
    p.args.clear();
    p.args_count = 0;
    p.ns_inode = {};
    p.ns_pgid.clear();
    p.ns_sid.clear();
    p.cgroups.reset();
    p.container.reset();
    p.needs_refresh = true;
  }
  if (e.pidns_known) p.ns_inode[static_cast<size_t>(NsType::kPid)] = e.pidns_inode;
  if (p.needs_refresh) refresh_requests_.push_back(e.pid);
  auto inserted = by_pid_.insert(std::move(node));
  Index(inserted.position->second);
}

void ProcessTable::ApplyExec(const Event& e, Process* p) {
  if (!e.filename.empty()) {
    p->executable = paths_.Get(e.filename, [](std::string_view s) { return std::string(s); });
    p->executable_deleted = false;
    executable_requests_.push_back(p->key);
  }
  if (e.args_count > 0 || !e.args.empty()) {
    p->args.assign(e.args);
    p->args_count = e.args_count;
    p->args_truncated = e.args_truncated;
    // The kernel side keeps a few KiB of argv; procfs can give the configured bound.
    if (e.args_truncated) {
      p->needs_refresh = true;
      refresh_requests_.push_back(p->key.pid);
    }
  }
  if (e.comm[0] != '\0') p->comm.assign(e.comm.data(), strnlen(e.comm.data(), e.comm.size()));
  if (e.creds_known) {
    p->credentials_known = true;
    p->credentials.uid = e.uid;
    p->credentials.gid = e.gid;
    p->credentials.cap_effective = e.cap_effective;
    p->credentials.cap_permitted = e.cap_permitted;
  }
  if (e.cgroup_id != 0) {
    // Joining a container (runc exec, nsenter) moves the process to another cgroup before
    // its exec: the cgroup lines and the container must be read again.
    if (p->cgroup_id != 0 && p->cgroup_id != e.cgroup_id) {
      p->needs_refresh = true;
      refresh_requests_.push_back(p->key.pid);
    }
    p->cgroup_id = e.cgroup_id;
  }
  // exec kills every other thread and makes the exec'ing one the leader: a process whose
  // leader had exited (shown Z while threads lived) is whole again.
  Unindex(*p);
  p->sig_caught = 0;  // exec resets caught signals to their default action
  p->threads = 1;
  if (!p->exited && (p->state == 'Z' || p->state == 'X')) p->state = 'R';
  Index(*p);
  ++p->exec_count;
}

void ProcessTable::ApplyExit(const Event& e, Process* p, std::vector<Event>* derived) {
  if (p->exited) return;  // a duplicate (bootstrap overlap)
  Unindex(*p);
  p->exited = true;
  p->state = 'Z';
  p->threads = 0;
  p->exit_code = e.exit_code;
  p->exit_signal = e.exit_signal;
  p->core_dumped = e.core_dumped;
  p->exit_boot_ns = e.timestamp_ns;
  Index(*p);

  // The init of a PID namespace takes the whole namespace with it: its members are killed and
  // reaped by it, not reparented (kernel/pid_namespace.c zap_pid_ns_processes).
  if (p->is_namespace_init()) return;
  auto it = children_.find(p->key.pid);
  if (it == children_.end() || it->second.empty()) return;
  auto [reaper, kind] = FindNewReaper(*p);
  int32_t reaper_pid = reaper != nullptr ? reaper->key.pid : 0;
  if (reaper == nullptr) kind = ReaperKind::kUnknown;
  std::vector<int32_t> orphans = it->second;  // Reparent edits the children index
  for (int32_t child_pid : orphans) {
    if (Process* child = FindMutable(child_pid); child != nullptr && child != p) {
      Reparent(child, reaper_pid, kind, derived);
    }
  }
  (void)e;
}

void ProcessTable::ApplyThreadExit(const Event& e, Process* p, std::vector<Event>* derived) {
  auto it = children_.find(p->key.pid);
  if (it == children_.end()) return;
  std::vector<int32_t> children = it->second;
  for (int32_t child_pid : children) {
    Process* child = FindMutable(child_pid);
    if (child != nullptr && child->parent_tid == e.tid && e.tid != p->key.pid) {
      Reparent(child, p->key.pid, ReaperKind::kThread, derived);
      child->parent_tid = 0;  // some other thread of the group: the kernel picks it
    }
  }
}

std::pair<const Process*, ReaperKind> ProcessTable::FindNewReaper(const Process& father) const {
  // kernel/exit.c find_new_reaper(): the group is dead, so no sibling thread is left. Walk up
  // the ancestors in the same PID namespace for a live sub-reaper, else the namespace's init.
  int level = father.pidns_level();
  const Process* ancestor = Find(father.ppid);
  for (size_t steps = 0; ancestor != nullptr && steps < by_pid_.size(); ++steps) {
    if (ancestor->pidns_level() != level) break;
    if (ancestor->subreaper == Tristate::kYes && !ancestor->exited) {
      return {ancestor, ClassifyReaper(*ancestor)};
    }
    if (ancestor->ppid == ancestor->key.pid || ancestor->ppid == 0) break;
    ancestor = Find(ancestor->ppid);
  }
  const Process* init = level == 0 ? Find(1) : NamespaceInit(father.ns(NsType::kPid));
  if (init == nullptr) return {nullptr, ReaperKind::kUnknown};
  return {init, ClassifyReaper(*init)};
}

void ProcessTable::Reparent(Process* child, int32_t new_ppid, ReaperKind kind,
                            std::vector<Event>* derived) {
  int32_t old_ppid = child->ppid;
  Unindex(*child);
  if (!child->is_orphan()) child->original_ppid = old_ppid;
  child->reaper_kind = kind;
  child->ppid = new_ppid;
  child->parent_tid = new_ppid;
  Index(*child);
  ++stats_.reparents;
  if (derived != nullptr) {
    Event& r = derived->emplace_back();
    r.action = EventAction::kReparent;
    r.source = EventSource::kModel;
    r.pid = child->key.pid;
    r.tid = child->key.pid;
    r.start_ticks = child->key.start_ticks;
    r.ppid = new_ppid;
    r.old_ppid = old_ppid;
    r.reaper_kind = static_cast<uint8_t>(kind);
  }
}

void ProcessTable::Reconcile(std::vector<Process> scanned) {
  std::vector<int32_t> listed;
  listed.reserve(scanned.size());
  for (auto& fresh : scanned) {
    listed.push_back(fresh.key.pid);
    const Process* old = Find(fresh.key.pid);
    if (old == nullptr) {
      ++stats_.missing_added;
    } else if (old->key != fresh.key) {
      ++stats_.ghosts_removed;  // the old holder of this PID is gone
    }
    Upsert(std::move(fresh));
  }
  std::sort(listed.begin(), listed.end());
  RemoveGhosts(listed);  // every listed PID is held now: nothing comes back missing
}

}  // namespace pidscope

namespace pidscope {

std::vector<int32_t> ProcessTable::RemoveGhosts(const std::vector<int32_t>& listed) {
  std::vector<ProcessKey> ghosts;
  for (const auto& [pid, process] : by_pid_) {
    if (!std::binary_search(listed.begin(), listed.end(), pid)) ghosts.push_back(process.key);
  }
  for (const auto& key : ghosts) {
    Remove(key);
    ++stats_.ghosts_removed;
  }
  std::vector<int32_t> missing;
  for (int32_t pid : listed) {
    if (!by_pid_.contains(pid)) missing.push_back(pid);
  }
  return missing;
}

void ProcessTable::AddMissing(Process process) {
  if (Find(process.key) == nullptr) ++stats_.missing_added;
  Upsert(std::move(process));
}

}  // namespace pidscope
