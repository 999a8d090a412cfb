// `pidscope tree`: the process forest as text for people, like `ps -ef --forest`, with the PID at
// every namespace level and markers for namespace inits and zombies.
#pragma once

#include <string>

#include "model/process_table.hpp"
#include "resolve/names.hpp"

namespace pidscope {

enum class TreeGrouping { kNone, kSession, kPidNamespace, kContainer };

struct TreeOptions {
  TreeGrouping grouping = TreeGrouping::kNone;
  size_t max_command_bytes = 512;  // a command line is cut for display, never in the model
};

std::string RenderTree(const ProcessTable& table, const TreeOptions& options, NameCache* names);

// Renders bytes for a terminal: printable ASCII and valid UTF-8 stay, control characters and
// invalid bytes become C-style escapes, so a hostile name cannot forge lines or colours.
void AppendPrintable(std::string* out, std::string_view bytes);

}  // namespace pidscope
