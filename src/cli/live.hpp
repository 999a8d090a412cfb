// `pidscope events` and `pidscope run`: the live model and its event stream.
#pragma once

#include "cli/options.hpp"

namespace pidscope::cli {

int RunEvents(const Options& options);
int RunDaemon(const Options& options);

}  // namespace pidscope::cli
