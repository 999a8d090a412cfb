// Chooses and starts the event source: --source auto tries BPF, then the netlink proc
// connector, then procfs polling, and says which it chose and why.
#pragma once

#include <memory>
#include <string>

#include "pidscope/result.hpp"
#include "source/source.hpp"

namespace pidscope {

struct StartedSource {
  std::unique_ptr<Source> source;
  std::string why;  // for the log: why this one (and why not the better ones)
};

Result<StartedSource> StartSource(const std::string& requested, const std::string& proc_root);

}  // namespace pidscope
