// `pidscope containers`: containers and PID namespaces with counts and init health.
#pragma once

#include "cli/options.hpp"

namespace pidscope::cli {

int RunContainers(const Options& options);

}  // namespace pidscope::cli
