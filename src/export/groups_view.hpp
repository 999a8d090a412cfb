// `pidscope containers`: one entry per container, pod-level cgroup or other PID namespace, with
// its counts, PID-namespace links, init and reaping health. Text for people, JSON as contract.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/process_table.hpp"
#include "model/reaping.hpp"
#include "resolve/pidns.hpp"

namespace pidscope {

struct GroupReport {
  std::string kind;  // "container", "pidns"
  const GroupStats* stats = nullptr;
  const ContainerIdentity* identity = nullptr;  // containers
  uint64_t pidns_inode = 0;
  int pidns_level = 0;
  std::optional<PidNamespaceLinks> links;
  std::optional<ReapingAssessment> reaping;
};

void WriteGroupsJson(std::string* out, const std::vector<GroupReport>& groups,
                     uint64_t now_boot_ns);
std::string RenderGroupsText(const std::vector<GroupReport>& groups, uint64_t now_boot_ns);

}  // namespace pidscope
