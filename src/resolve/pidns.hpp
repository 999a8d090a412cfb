// The PID-namespace tree: for a namespace, its parent (NS_GET_PARENT) and owning user namespace
// (NS_GET_USERNS), asked of the kernel through /proc/<pid>/ns/pid of one of its members.
#pragma once

#include <cstdint>
#include <string>

#include "pidscope/result.hpp"

namespace pidscope {

struct PidNamespaceLinks {
  uint64_t inode = 0;
  uint64_t parent_inode = 0;  // 0: the initial namespace, or a parent outside our own
  uint64_t owner_userns_inode = 0;
};

Result<PidNamespaceLinks> ReadPidNamespaceLinks(const std::string& proc_root, int32_t member_pid);

}  // namespace pidscope
