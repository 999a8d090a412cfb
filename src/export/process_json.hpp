// The JSON contract for one process: ECS field names as nested objects (process.*, host.*),
// pidscope.* for what ECS lacks. Documented field by field in README.md ("JSON fields").
#pragma once

#include <functional>
#include <string>

#include "model/process.hpp"
#include "model/process_table.hpp"
#include "procfs/host.hpp"
#include "resolve/names.hpp"
#include "source/event.hpp"
#include "util/json_writer.hpp"

namespace pidscope {

struct ProcessJsonContext {
  const procfs::HostInfo* host = nullptr;
  const ProcessTable* table = nullptr;  // for the start and entity id of parents and leaders
  NameCache* names = nullptr;           // user and group names; null to leave them out
  uint64_t now_boot_ns = 0;             // CLOCK_BOOTTIME now, for ages; 0 to leave them out
};

// ECS container.{id,runtime} and orchestrator.* (Kubernetes pod) for a container identity; shared
// by process documents and `pidscope containers`.
void WriteContainerEcs(JsonWriter* w, const ContainerIdentity& identity);

// Writes {"host": {...}, "process": {...}, "pidscope": {...}} for `process`.
void WriteProcessDocument(JsonWriter* w, const Process& process, const ProcessJsonContext& context);

// Writes one event as an ECS document: @timestamp, event.*, host.*, the process with its full
// parent, pidscope.* (with pidscope.event.* for action-specific details). Call it after the model
// applied the event (for a reap: before), so `context.table` holds the process.
void WriteEventDocument(JsonWriter* w, const Event& event, const ProcessJsonContext& context);

// Writes the whole table as a JSON array of process documents, sorted by PID, one per line.
// When `flush` is given it is called whenever `out` holds more than about 1 MiB (and at the
// end), so a large snapshot streams instead of growing one huge buffer.
void WriteSnapshotJson(std::string* out, const ProcessTable& table,
                       const ProcessJsonContext& context,
                       const std::function<void(std::string*)>& flush = nullptr);

}  // namespace pidscope
