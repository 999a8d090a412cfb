#include "resolve/cgroup_identity.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

namespace pidscope {
namespace {

constexpr size_t kFullIdLength = 64;
constexpr size_t kBuildkitIdLength = 25;       // BuildKit's identity.NewID(): base36
constexpr size_t kContainerdIdMaxLength = 76;  // containerd's identifiers package
constexpr size_t kMachineNameMaxLength = 255;
constexpr std::string_view kDeletedSuffix = " (deleted)";
constexpr std::string_view kScopeSuffix = ".scope";
constexpr std::string_view kSliceSuffix = ".slice";

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsLowerHexString(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsLowerHex);
}

// The one id form Docker, containerd, CRI-O and Podman write into cgroup names.
bool IsFullId(std::string_view s) { return s.size() == kFullIdLength && IsLowerHexString(s); }

bool IsBuildkitId(std::string_view s) {
  return s.size() == kBuildkitIdLength && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
         });
}

// containerd identifiers: alphanumerics, joined by single '.', '_' or '-'.
bool IsContainerdIdentifier(std::string_view s) {
  if (s.empty() || s.size() > kContainerdIdMaxLength) return false;
  bool after_separator = true;  // the first character must be alphanumeric
  for (char c : s) {
    if (IsAsciiAlnum(c)) {
      after_separator = false;
    } else if ((c == '.' || c == '_' || c == '-') && !after_separator) {
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}

// Machine names follow host-name rules (machinectl(1)); libvirt drops other characters from the
// names it registers.
bool IsMachineName(std::string_view s) {
  return !s.empty() && s.size() <= kMachineNameMaxLength &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_'; });
}

// LXC names may hold almost anything but a '/' (which cannot reach us) and control bytes.
bool IsLxcName(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A pod UID as the kubelet writes it into a cgroup name: a UUID whose dashes are `separator`
// ('_' in systemd slice names, where '-' separates the slice's ancestors; '-' with cgroupfs), or
// the 32-hex hash the kubelet gives a static pod. Returned with dashes.
std::optional<std::string> PodUid(std::string_view s, char separator) {
  if (s.size() == 32 && IsLowerHexString(s)) return std::string(s);
  if (s.size() != 36) return std::nullopt;
  std::string uid(s);
  for (size_t i = 0; i < uid.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (uid[i] != separator) return std::nullopt;
      uid[i] = '-';
    } else if (!IsLowerHex(uid[i])) {
      return std::nullopt;
    }
  }
  return uid;
}

// A path component and the two above it.
struct Component {
  std::string_view name;
  std::string_view parent;       // empty at the top
  std::string_view grandparent;  // empty at the top
  // The parent is the first component of the path, or the first inside the innermost container
  // found so far (where a nested runtime's own root is).
  bool parent_opens_scope = false;
};

struct Found {
  std::string_view runtime;
  std::string id;
  std::string_view role;
};

struct Pod {
  std::string uid;
  std::string_view qos;
};

// "<prefix><id>.scope" (systemd driver) and, where the runtime uses it, "<prefix><id>" (cgroupfs).
struct PrefixRule {
  std::string_view prefix;
  std::string_view runtime;
  std::string_view role;
  bool without_scope;
};

// Longer prefixes first: the first prefix a name starts with decides.
constexpr std::array<PrefixRule, 8> kPrefixRules = {{
    {"crio-conmon-", kRuntimeCrio, kRoleConmon, true},
    {"crio-", kRuntimeCrio, kRoleContainer, true},
    {"libpod-conmon-", kRuntimePodman, kRoleConmon, false},
    {"libpod-payload-", kRuntimePodman, kRoleContainer, true},  // --cgroups=split, quadlets
    {"libpod-", kRuntimePodman, kRoleContainer, true},
    {"cri-containerd-", kRuntimeContainerd, kRoleContainer, false},
    {"docker-", kRuntimeDocker, kRoleContainer, false},
    {"nerdctl-", kRuntimeContainerd, kRoleContainer, false},
}};

std::optional<Found> MatchPrefixed(std::string_view name) {
  for (const PrefixRule& rule : kPrefixRules) {
    if (!name.starts_with(rule.prefix)) continue;
    std::string_view id = name.substr(rule.prefix.size());
    if (id.ends_with(kScopeSuffix)) {
      id.remove_suffix(kScopeSuffix.size());
    } else if (!rule.without_scope) {
      return std::nullopt;
    }
    if (!IsFullId(id)) return std::nullopt;
    return Found{rule.runtime, std::string(id), rule.role};
  }
  return std::nullopt;
}

// The systemd driver's cgroupsPath ("<slice>:<prefix>:<id>") taken literally as a directory name,
// as containerd 1.4 with runc's cgroupfs driver on a systemd host does. The slice comes back
// through `slice` so that the pod in it is found too.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kSystemdPathPrefixes = {{
    {"cri-containerd", kRuntimeContainerd},
    {"crio", kRuntimeCrio},
    {"docker", kRuntimeDocker},
    {"libpod", kRuntimePodman},
    {"nerdctl", kRuntimeContainerd},
}};

std::optional<Found> MatchLiteralSystemdPath(std::string_view name, std::string_view* slice) {
  size_t first = name.find(':');
  size_t last = name.rfind(':');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  std::string_view parent = name.substr(0, first);
  std::string_view prefix = name.substr(first + 1, last - first - 1);
  std::string_view id = name.substr(last + 1);
  if (!parent.ends_with(kSliceSuffix) || !IsFullId(id)) return std::nullopt;
  for (const auto& [known, runtime] : kSystemdPathPrefixes) {
    if (prefix == known) {
      *slice = parent;
      return Found{runtime, std::string(id), kRoleContainer};
    }
  }
  return std::nullopt;
}

// "qemu-1-f30" -> "f30" for prefix "qemu-": libvirt's "<driver>-<domain id>-<name>".
std::optional<std::string_view> AfterNumberedPrefix(std::string_view name,
                                                    std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  std::string_view rest = name.substr(prefix.size());
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0 || digits + 1 >= rest.size() || rest[digits] != '-') return std::nullopt;
  return rest.substr(digits + 1);
}

// systemd-machined's "machine-<escaped name>.scope": systemd-nspawn containers, libvirt guests
// ("qemu-<n>-<name>", "lxc-<n>-<name>"), rkt pods ("rkt-<uuid>").
std::optional<Found> MatchMachineScope(std::string_view name) {
  constexpr std::string_view kPrefix = "machine-";
  if (!name.starts_with(kPrefix) || !name.ends_with(kScopeSuffix)) return std::nullopt;
  std::string machine = UnescapeUnitName(
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kScopeSuffix.size()));
  if (!IsMachineName(machine)) return std::nullopt;
  if (auto guest = AfterNumberedPrefix(machine, "qemu-")) {
    return Found{kRuntimeLibvirt, std::string(*guest), kRoleVm};
  }
  if (auto guest = AfterNumberedPrefix(machine, "lxc-")) {
    return Found{kRuntimeLibvirtLxc, std::string(*guest), kRoleContainer};
  }
  if (machine.starts_with("rkt-")) {
    std::string_view uuid = std::string_view(machine).substr(4);
    if (uuid.size() == 36 && PodUid(uuid, '-')) {
      return Found{kRuntimeRkt, std::string(uuid), kRoleContainer};
    }
  }
  return Found{kRuntimeNspawn, std::move(machine), kRoleContainer};
}

// LXC >= 4 ("lxc.payload.<name>", "lxc.monitor.<name>"), LXC 3.1-3.x ("lxc.payload/<name>"),
// older LXC ("lxc/<name>"). LXD and Incus run their containers through liblxc, the same way.
std::optional<Found> MatchLxc(const Component& c) {
  constexpr std::string_view kPayload = "lxc.payload";
  constexpr std::string_view kMonitor = "lxc.monitor";
  std::string_view name;
  std::string_view role = kRoleContainer;
  if (c.name.starts_with(kPayload) && c.name.size() > kPayload.size() &&
      c.name[kPayload.size()] == '.') {
    name = c.name.substr(kPayload.size() + 1);
  } else if (c.name.starts_with(kMonitor) && c.name.size() > kMonitor.size() &&
             c.name[kMonitor.size()] == '.') {
    name = c.name.substr(kMonitor.size() + 1);
    role = kRoleMonitor;
  } else if (c.parent == kPayload || c.parent == "lxc") {
    name = c.name;
  } else if (c.parent == kMonitor) {
    name = c.name;
    role = kRoleMonitor;
  } else {
    return std::nullopt;
  }
  if (!IsLxcName(name)) return std::nullopt;
  return Found{kRuntimeLxc, std::string(name), role};
}

// `machinectl start` runs systemd-nspawn@<escaped name>.service, which passes --keep-unit: the
// container stays in that service's cgroup and no machine scope is made.
std::optional<Found> MatchNspawnService(std::string_view name) {
  constexpr std::string_view kPrefix = "systemd-nspawn@";
  constexpr std::string_view kSuffix = ".service";
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::string machine =
      UnescapeUnitName(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
  if (!IsMachineName(machine)) return std::nullopt;
  return Found{kRuntimeNspawn, std::move(machine), kRoleContainer};
}

std::optional<Found> MatchContainer(const Component& c) {
  if (auto found = MatchPrefixed(c.name)) return found;
  if (auto found = MatchMachineScope(c.name)) return found;
  if (auto found = MatchNspawnService(c.name)) return found;
  if (auto found = MatchLxc(c)) return found;
  // Docker's cgroupfs driver: "/docker/<id>", nested as "/docker/<id>/docker/<id>".
  if (c.parent == "docker" && IsFullId(c.name)) {
    return Found{kRuntimeDocker, std::string(c.name), kRoleContainer};
  }
  if (c.grandparent == "docker" && c.parent == "buildkit" && IsBuildkitId(c.name)) {
    return Found{kRuntimeBuildkit, std::string(c.name), kRoleContainer};
  }
  // Plain containerd with cgroupfs: "/<namespace>/<id>"; only the default namespace is taken,
  // since any two-level path has that shape.
  if (c.parent == "default" && c.parent_opens_scope && IsContainerdIdentifier(c.name)) {
    return Found{kRuntimeContainerd, std::string(c.name), kRoleContainer};
  }
  if (IsFullId(c.name)) return Found{kRuntimeUnknown, std::string(c.name), kRoleContainer};
  return std::nullopt;
}

// The kubelet's systemd driver: "kubepods-burstable-pod<uid>.slice", "kubepods-pod<uid>.slice"
// (guaranteed), or with a cgroup root prefix ("kubelet-kubepods-besteffort-pod<uid>.slice").
// A slice's name spells its ancestors joined by '-', so the name alone places the pod.
std::optional<Pod> MatchPodSlice(std::string_view name) {
  if (!name.ends_with(kSliceSuffix)) return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - kSliceSuffix.size());
  constexpr std::string_view kKubepods = "kubepods-";
  size_t at = stem.rfind(kKubepods);
  if (at == std::string_view::npos || (at != 0 && stem[at - 1] != '-')) return std::nullopt;
  std::string_view rest = stem.substr(at + kKubepods.size());
  std::string_view qos = kQosGuaranteed;
  size_t dash = rest.find('-');
  if (dash != std::string_view::npos) {
    std::string_view qos_token = rest.substr(0, dash);
    if (qos_token == kQosBurstable) {
      qos = kQosBurstable;
    } else if (qos_token == kQosBestEffort) {
      qos = kQosBestEffort;
    } else {
      return std::nullopt;
    }
    rest = rest.substr(dash + 1);
  }
  if (!rest.starts_with("pod")) return std::nullopt;
  auto uid = PodUid(rest.substr(3), '_');
  if (!uid) return std::nullopt;
  return Pod{std::move(*uid), qos};
}

// The kubelet's cgroupfs driver: "kubepods/burstable/pod<uid>", "kubepods/pod<uid>".
std::optional<Pod> MatchPodDirectory(const Component& c) {
  if (!c.name.starts_with("pod")) return std::nullopt;
  std::string_view qos;
  if (c.parent == "kubepods") {
    qos = kQosGuaranteed;
  } else if (c.grandparent == "kubepods" && c.parent == kQosBurstable) {
    qos = kQosBurstable;
  } else if (c.grandparent == "kubepods" && c.parent == kQosBestEffort) {
    qos = kQosBestEffort;
  } else {
    return std::nullopt;
  }
  auto uid = PodUid(c.name.substr(3), '-');
  if (!uid) return std::nullopt;
  return Pod{std::move(*uid), qos};
}

std::optional<Pod> MatchPod(const Component& c) {
  if (auto pod = MatchPodSlice(c.name)) return pod;
  return MatchPodDirectory(c);
}

void SetPod(ContainerIdentity& identity, const std::optional<Pod>& pod) {
  if (!pod) return;
  identity.pod_uid = pod->uid;
  identity.qos_class = std::string(pod->qos);
  identity.in_kubernetes = true;
}

// The order in which IdentifyCgroups tries the lines of a set.
int LinePreference(const Cgroup& line) {
  if (line.hierarchy_id == 0 && line.controllers.empty()) return 0;
  if (line.controllers == "name=systemd") return 1;
  int preference = 5;
  std::string_view rest = line.controllers;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view controller = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (controller == "pids") preference = std::min(preference, 2);
    if (controller == "memory") preference = std::min(preference, 3);
    if (controller == "cpu") preference = std::min(preference, 4);
  }
  return preference;
}

}  // namespace

std::string UnescapeUnitName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\' && i + 3 < name.size() && name[i + 1] == 'x') {
      int high = HexValue(name[i + 2]);
      int low = HexValue(name[i + 3]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 3;
        continue;
      }
    }
    out.push_back(name[i]);
  }
  return out;
}

std::optional<ContainerIdentity> IdentifyCgroupPath(std::string_view path) {
  std::string_view walk = path;
  if (walk.ends_with(kDeletedSuffix)) walk.remove_suffix(kDeletedSuffix.size());

  struct Innermost {
    Found found;
    int depth = 0;
    std::optional<Pod> pod;
  };
  std::optional<Innermost> innermost;
  std::optional<Pod> last_pod;
  bool pod_below_containers = false;  // the last pod found lies below every container found
  int containers = 0;
  bool previous_was_container = false;
  std::string_view parent;
  std::string_view grandparent;
  bool parent_opens_scope = false;
  size_t index_in_scope = 0;

  size_t pos = 0;
  while (pos < walk.size()) {
    size_t slash = walk.find('/', pos);
    size_t end = slash == std::string_view::npos ? walk.size() : slash;
    std::string_view name = walk.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;

    Component component{name, parent, grandparent, parent_opens_scope};
    bool opens_scope = index_in_scope == 0;
    ++index_in_scope;
    // systemd-nspawn keeps itself in "supervisor" and the container in "payload" below its
    // machine scope or service.
    if (previous_was_container && innermost->found.runtime == kRuntimeNspawn &&
        name == "supervisor") {
      innermost->found.role = kRoleSupervisor;
    }

    std::string_view slice;
    std::optional<Found> found = MatchLiteralSystemdPath(name, &slice);
    if (found) {
      if (auto pod = MatchPodSlice(slice)) last_pod = std::move(pod);
    } else {
      found = MatchContainer(component);
    }
    previous_was_container = found.has_value();
    if (found) {
      innermost = Innermost{std::move(*found), containers, last_pod};
      ++containers;
      pod_below_containers = false;
      index_in_scope = 0;
    } else if (auto pod = MatchPod(component)) {
      last_pod = std::move(pod);
      pod_below_containers = true;
    }

    grandparent = parent;
    parent = name;
    parent_opens_scope = opens_scope;
  }

  ContainerIdentity identity;
  identity.cgroup_path = std::string(path);
  if (pod_below_containers) {
    identity.role = std::string(kRolePod);
    identity.nesting_depth = containers;
    SetPod(identity, last_pod);
    return identity;
  }
  if (!innermost) return std::nullopt;
  identity.runtime = std::string(innermost->found.runtime);
  identity.id = std::move(innermost->found.id);
  identity.role = std::string(innermost->found.role);
  identity.nesting_depth = innermost->depth;
  SetPod(identity, innermost->pod);
  return identity;
}

std::optional<ContainerIdentity> IdentifyCgroups(const CgroupSet& set) {
  std::vector<size_t> order(set.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&set](size_t a, size_t b) {
    return LinePreference(set[a]) < LinePreference(set[b]);
  });
  std::optional<ContainerIdentity> pod_only;
  for (size_t i : order) {
    auto identity = IdentifyCgroupPath(set[i].path);
    if (!identity) continue;
    if (identity->role != kRolePod) return identity;
    if (!pod_only) pod_only = std::move(identity);
  }
  return pod_only;
}

}  // namespace pidscope
