#include "export/tree_view.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_set>

#include "procfs/parse.hpp"
#include "resolve/cgroup_identity.hpp"
#include "util/utf8.hpp"

namespace pidscope {

namespace {

// "docker:3f4e5d6c7b8a" (12 characters of a long id, as docker ps shows it).
std::string ContainerLabel(const ContainerIdentity& c) {
  std::string label = c.runtime.empty() ? c.role : c.runtime;
  if (!c.id.empty()) label += ":" + (c.id.size() == 64 ? c.id.substr(0, 12) : c.id);
  if (c.role != kRoleContainer && !c.role.empty()) label += " " + c.role;
  return label;
}

// One line per process; `prefix` carries the forest indentation.
void AppendLine(std::string* out, const ProcessTable& table, const Process& p,
                const std::string& prefix, const TreeOptions& options, NameCache* names) {
  char head[128];
  std::string tty = p.tty_nr != 0 ? procfs::TtyName(p.tty_nr) : "?";
  std::string user;
  if (p.credentials_known) {
    const auto& name = names->UserName(p.credentials.uid[1]);
    user = name ? *name : std::to_string(p.credentials.uid[1]);
  } else {
    user = "?";
  }
  std::string nspid;
  for (size_t i = 0; i < p.ns_pid.size(); ++i) {
    if (i > 0) nspid.push_back('/');
    nspid += std::to_string(p.ns_pid[i]);
  }
  int n =
      std::snprintf(head, sizeof head, "%-10.10s %7d %7d %7d %7d %-8.8s %-4c %-16s ", user.c_str(),
                    p.key.pid, p.ppid, p.pgid, p.sid, tty.c_str(), p.state, nspid.c_str());
  out->append(head, n > 0 ? static_cast<size_t>(n) : 0);
  out->append(prefix);
  if (p.container) {
    // Mark where a container starts: its first process in the forest.
    const Process* parent = table.Find(p.ppid);
    if (parent == nullptr || parent->container != p.container) {
      out->append("{" + ContainerLabel(*p.container) + "} ");
    }
  }
  if (p.is_namespace_init()) {
    out->append("[pidns-init L" + std::to_string(p.pidns_level()) + "] ");
  }
  if (p.kernel_thread || p.args.empty()) {
    out->push_back('[');
    AppendPrintable(out, p.comm);
    out->push_back(']');
  } else {
    std::string_view args = p.args;
    bool cut = args.size() > options.max_command_bytes;
    if (cut) args = args.substr(0, options.max_command_bytes);
    size_t before = out->size();
    AppendPrintable(out, args);
    // Arguments are NUL-separated in the model: show them space-separated.
    std::replace(out->begin() + static_cast<std::ptrdiff_t>(before), out->end(), '\0', ' ');
    if (cut || p.args_truncated) out->append("...");
  }
  if (p.is_zombie()) out->append(" <defunct>");
  out->push_back('\n');
}

// Depth-first over the forest made by `members`, iteratively (chains can be very deep).
void AppendForest(std::string* out, const ProcessTable& table, const std::vector<int32_t>& members,
                  const TreeOptions& options, NameCache* names) {
  std::unordered_set<int32_t> in_group(members.begin(), members.end());
  struct Frame {
    int32_t pid;
    std::string prefix;
  };
  std::vector<Frame> stack;
  // Roots: members whose parent is outside the group. Push in reverse so output is ascending.
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    const Process* p = table.Find(*it);
    if (p != nullptr && (p->ppid == *it || !in_group.contains(p->ppid))) stack.push_back({*it, ""});
  }
  while (!stack.empty()) {
    Frame frame = std::move(stack.back());
    stack.pop_back();
    const Process* p = table.Find(frame.pid);
    if (p == nullptr) continue;
    AppendLine(out, table, *p, frame.prefix.empty() ? "" : frame.prefix + "\\_ ", options, names);
    std::vector<int32_t> children = table.Children(frame.pid);
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      if (*it != frame.pid && in_group.contains(*it)) stack.push_back({*it, frame.prefix + "    "});
    }
  }
}

}  // namespace

void AppendPrintable(std::string* out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < bytes.size()) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\0') {
      out->push_back('\0');  // argument separator: the caller decides how to show it
      ++i;
    } else if (c >= 0x20 && c < 0x7f && c != '\\') {
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (size_t n = c >= 0x80 ? ValidUtf8Length(bytes, i) : 0; n > 0) {
      out->append(bytes.substr(i, n));
      i += n;
    } else {
      switch (c) {
        case '\n':
          out->append("\\n");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\\':
          out->append("\\\\");
          break;
        default: {
          char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
          out->append(esc, sizeof esc);
        }
      }
      ++i;
    }
  }
}

std::string RenderTree(const ProcessTable& table, const TreeOptions& options, NameCache* names) {
  std::string out =
      "USER           PID    PPID    PGID     SID TTY      STAT NSPID            COMMAND\n";
  std::vector<const Process*> sorted = table.SortedByPid();
  if (options.grouping == TreeGrouping::kNone) {
    std::vector<int32_t> all;
    for (const Process* p : sorted) all.push_back(p->key.pid);
    AppendForest(&out, table, all, options, names);
    return out;
  }
  if (options.grouping == TreeGrouping::kContainer) {
    // One forest per container, the host's processes first; each container's tree hangs from
    // its init (the members whose parent is outside the container).
    std::map<std::string, std::vector<int32_t>> by_container;
    std::map<std::string, const ContainerIdentity*> identity;
    for (const Process* p : sorted) {
      std::string key = p->container ? ContainerLabel(*p->container) : std::string();
      by_container[key].push_back(p->key.pid);
      if (p->container) identity[key] = p->container.get();
    }
    for (const auto& [key, members] : by_container) {
      out += "\n== ";
      if (key.empty()) {
        out += "host";
      } else {
        const ContainerIdentity& c = *identity[key];
        out += "container " + (c.runtime.empty() ? std::string("-") : c.runtime) + " " +
               (c.id.empty() ? std::string("-") : c.id);
        if (!c.pod_uid.empty()) out += " pod " + c.pod_uid;
        if (!c.qos_class.empty()) out += " qos " + c.qos_class;
        if (c.role != kRoleContainer) out += " role " + c.role;
      }
      out += " (" + std::to_string(members.size()) + " processes)\n";
      AppendForest(&out, table, members, options, names);
    }
    return out;
  }
  // Groups in ascending order of their key; each is its own forest.
  std::map<uint64_t, std::vector<int32_t>> groups;
  for (const Process* p : sorted) {
    uint64_t key = options.grouping == TreeGrouping::kSession ? static_cast<uint64_t>(p->sid)
                                                              : p->ns(NsType::kPid);
    groups[key].push_back(p->key.pid);
  }
  for (const auto& [key, members] : groups) {
    out.push_back('\n');
    if (options.grouping == TreeGrouping::kSession) {
      const Process* leader = table.Find(static_cast<int32_t>(key));
      out += "== session " + std::to_string(key);
      if (leader != nullptr && leader->sid == leader->key.pid) {
        out += " leader ";
        AppendPrintable(&out, leader->comm);
      } else if (key != 0) {
        out += " (leader gone)";
      }
      const Process* first = table.Find(members.front());
      if (first != nullptr && first->tty_nr != 0) out += " tty " + procfs::TtyName(first->tty_nr);
    } else {
      const Process* init = nullptr;
      int level = 0;
      for (int32_t pid : members) {
        const Process* p = table.Find(pid);
        level = p->pidns_level();
        if (p->ns_pid.back() == 1) init = p;
      }
      out += "== pidns " + (key != 0 ? std::to_string(key) : std::string("unknown")) + " level " +
             std::to_string(level);
      if (init != nullptr) {
        out += " init " + std::to_string(init->key.pid) + " ";
        AppendPrintable(&out, init->comm);
      }
    }
    out += " (" + std::to_string(members.size()) + " processes)\n";
    AppendForest(&out, table, members, options, names);
  }
  return out;
}

}  // namespace pidscope
