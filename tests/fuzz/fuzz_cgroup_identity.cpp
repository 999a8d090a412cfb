// IdentifyCgroupPath on arbitrary bytes, and IdentifyCgroups on whatever ParseCgroup makes of
// them: the same answer twice, ids only in the form their runtime writes them, a pod UID only as
// a UUID or a static pod's hash, and a set's identity always that of one of its own lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "procfs/parse.hpp"
#include "resolve/cgroup_identity.hpp"

namespace {

using pidscope::ContainerIdentity;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsPodUid(std::string_view uid) {
  if (uid.size() == 32) return IsLowerHex(uid);
  if (uid.size() != 36) return false;
  for (size_t i = 0; i < uid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (uid[i] == '-')) return false;
    if (!dash && !IsLowerHex(uid.substr(i, 1))) return false;
  }
  return true;
}

bool Same(const ContainerIdentity& a, const ContainerIdentity& b) {
  return a.runtime == b.runtime && a.id == b.id && a.pod_uid == b.pod_uid &&
         a.qos_class == b.qos_class && a.in_kubernetes == b.in_kubernetes &&
         a.cgroup_path == b.cgroup_path && a.nesting_depth == b.nesting_depth && a.role == b.role;
}

void CheckIdentity(const ContainerIdentity& identity, std::string_view path) {
  namespace p = pidscope;
  Check(identity.cgroup_path == path, "cgroup_path is not the input");
  Check(identity.nesting_depth >= 0, "negative nesting depth");
  Check(static_cast<size_t>(identity.nesting_depth) <=
            static_cast<size_t>(std::count(path.begin(), path.end(), '/')),
        "more enclosing containers than path components");
  Check(identity.id.find('/') == std::string::npos, "'/' in an id");
  Check(identity.in_kubernetes == !identity.pod_uid.empty(), "in_kubernetes without a pod uid");
  Check(identity.in_kubernetes == !identity.qos_class.empty(), "QoS class without a pod");
  if (identity.in_kubernetes) {
    Check(IsPodUid(identity.pod_uid), "pod uid is neither a UUID nor a static pod hash");
    Check(identity.qos_class == p::kQosGuaranteed || identity.qos_class == p::kQosBurstable ||
              identity.qos_class == p::kQosBestEffort,
          "unknown QoS class");
  }
  if (identity.role == p::kRolePod) {
    Check(identity.runtime.empty() && identity.id.empty(), "a pod alone with a runtime or id");
    Check(identity.in_kubernetes, "a pod alone outside Kubernetes");
    return;
  }
  Check(identity.role == p::kRoleContainer || identity.role == p::kRoleConmon ||
            identity.role == p::kRoleMonitor || identity.role == p::kRoleSupervisor ||
            identity.role == p::kRoleVm,
        "unknown role");
  Check(!identity.runtime.empty() && !identity.id.empty(), "a container without runtime or id");
  std::string_view runtime = identity.runtime;
  if (runtime == p::kRuntimeDocker || runtime == p::kRuntimeCrio || runtime == p::kRuntimePodman ||
      runtime == p::kRuntimeUnknown) {
    Check(identity.id.size() == 64 && IsLowerHex(identity.id), "id is not 64 lowercase hex");
  } else if (runtime == p::kRuntimeBuildkit) {
    Check(identity.id.size() == 25, "BuildKit id is not 25 characters");
  } else {
    Check(runtime == p::kRuntimeContainerd || runtime == p::kRuntimeNspawn ||
              runtime == p::kRuntimeLxc || runtime == p::kRuntimeLibvirtLxc ||
              runtime == p::kRuntimeLibvirt || runtime == p::kRuntimeRkt,
          "unknown runtime");
  }
  Check((identity.role == p::kRoleConmon) <=
            (runtime == p::kRuntimeCrio || runtime == p::kRuntimePodman),
        "conmon of a runtime without conmon");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto identity = pidscope::IdentifyCgroupPath(text);
  auto again = pidscope::IdentifyCgroupPath(text);
  Check(identity.has_value() == again.has_value(), "a second call answers otherwise");
  if (identity) {
    Check(Same(*identity, *again), "a second call answers otherwise");
    CheckIdentity(*identity, text);
  }

  std::string unescaped = pidscope::UnescapeUnitName(text);
  Check(unescaped.size() <= text.size(), "unescaping made the name longer");
  if (text.find('\\') == std::string_view::npos) Check(unescaped == text, "changed without '\\'");

  pidscope::CgroupSet set;
  for (auto& entry : pidscope::procfs::ParseCgroup(text)) {
    set.push_back({entry.hierarchy_id, std::move(entry.controllers), std::move(entry.path)});
  }
  auto chosen = pidscope::IdentifyCgroups(set);
  if (chosen) {
    auto line = std::find_if(set.begin(), set.end(), [&chosen](const pidscope::Cgroup& g) {
      return g.path == chosen->cgroup_path;
    });
    Check(line != set.end(), "the set's identity comes from none of its lines");
    auto direct = pidscope::IdentifyCgroupPath(line->path);
    Check(direct.has_value() && Same(*direct, *chosen),
          "the set's identity differs from its line's");
    CheckIdentity(*chosen, line->path);
  } else {
    for (const auto& g : set) {
      Check(!pidscope::IdentifyCgroupPath(g.path).has_value(),
            "a line names a container, the set none");
    }
  }
  return 0;
}
