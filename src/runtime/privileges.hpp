// Least privilege: name what is missing before trying, drop what is not needed once attached.
#pragma once

#include <sys/capability.h>

#include <string>
#include <vector>

#include "pidscope/result.hpp"

namespace pidscope {

struct CapabilityNeed {
  cap_value_t cap;
  const char* why;
};

// What each source needs to attach. Reading other users' /proc/<pid>/{exe,cwd,ns/*} always
// needs CAP_SYS_PTRACE, and CAP_DAC_READ_SEARCH reads files that are not world-readable.
std::vector<CapabilityNeed> AttachCapabilities(const std::string& source);
std::vector<CapabilityNeed> RuntimeCapabilities();

// The needs that are not in the effective set, as "CAP_BPF (load BPF programs)" strings.
std::vector<std::string> MissingCapabilities(const std::vector<CapabilityNeed>& needs);

// Keeps only `keep` in the effective, permitted and inheritable sets, clears the ambient set and
// (where allowed) the bounding set, so no later exec can regain them.
Status DropCapabilitiesExcept(const std::vector<CapabilityNeed>& keep);

// "cap_sys_ptrace,cap_dac_read_search" for logs.
std::string EffectiveCapabilitiesText();

}  // namespace pidscope
