// pidscope: entry point. Parses the command line and runs one command.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/containers.hpp"
#include "cli/live.hpp"
#include "cli/options.hpp"
#include "export/process_json.hpp"
#include "export/tree_view.hpp"
#include "model/process_table.hpp"
#include "procfs/host.hpp"
#include "procfs/reader.hpp"
#include "resolve/names.hpp"

namespace pidscope::cli {
namespace {

bool WriteAll(const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(STDOUT_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

int Fail(const Error& error) {
  std::fprintf(stderr, "pidscope: %s\n", error.Message().c_str());
  return kExitFailure;
}

int RunSnapshotOrTree(const Options& options) {
  auto host = procfs::ReadHostInfo(options.proc_root);
  if (!host) return Fail(host.error());
  auto processes = procfs::ReadAllProcesses(options.proc_root, {options.max_args_bytes});
  if (!processes) return Fail(processes.error());
  ProcessTable table;
  table.Bootstrap(std::move(*processes));
  NameCache names;
  std::string out;
  if (options.command == Command::kSnapshot && options.format == Format::kJson) {
    bool write_ok = true;
    out.reserve(2 << 20);
    WriteSnapshotJson(&out, table, ProcessJsonContext{&*host, &table, &names},
                      [&](std::string* chunk) {
                        write_ok = write_ok && WriteAll(*chunk);
                        chunk->clear();
                      });
    if (!write_ok) return Fail(Error::FromErrno("write to standard output"));
    return kExitOk;
  } else {
    TreeOptions tree;
    tree.grouping = options.grouping;
    out = RenderTree(table, tree, &names);
  }
  if (!WriteAll(out)) return Fail(Error::FromErrno("write to standard output"));
  return kExitOk;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = ParseOptions(args);
  if (!options) {
    std::fprintf(stderr, "pidscope: %s\n", options.error().Message().c_str());
    return kExitUsage;
  }
  if (options->command == Command::kRun && !options->config_path.empty()) {
    // The file first, then the command line on top of it.
    std::ifstream file(options->config_path);
    if (!file) {
      std::fprintf(stderr, "pidscope: cannot read config %s\n", options->config_path.c_str());
      return kExitFailure;
    }
    std::stringstream text;
    text << file.rdbuf();
    Options from_file;
    if (auto applied = ApplyConfigText(text.str(), &from_file); !applied) {
      std::fprintf(stderr, "pidscope: %s: %s\n", options->config_path.c_str(),
                   applied.error().Message().c_str());
      return kExitUsage;
    }
    options = ParseOptions(args, from_file);
  }
  switch (options->command) {
    case Command::kHelp:
      std::fputs(UsageText(), stdout);
      return kExitOk;
    case Command::kVersion:
      std::puts("pidscope " PIDSCOPE_VERSION);
      return kExitOk;
    case Command::kSnapshot:
    case Command::kTree:
      return RunSnapshotOrTree(*options);
    case Command::kContainers:
      return RunContainers(*options);
    case Command::kEvents:
      return RunEvents(*options);
    case Command::kRun:
      return RunDaemon(*options);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace pidscope::cli

int main(int argc, char** argv) { return pidscope::cli::Main(argc, argv); }
