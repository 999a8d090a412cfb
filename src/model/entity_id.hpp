// process.entity_id (ECS RFC 0030): unique across hosts, reboots and PID reuse, and the same for
// the same process whichever pidscope run or event source computes it.
#pragma once

#include <string>

#include "model/process.hpp"
#include "procfs/host.hpp"

namespace pidscope {

// SHA-256 over boot id, host PID-namespace inode, host PID and boot-relative start time in ns
// (at the clock-tick precision every source can reproduce), base64url of the first 16 bytes.
std::string EntityId(const procfs::HostInfo& host, const ProcessKey& key);

}  // namespace pidscope
