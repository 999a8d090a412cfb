#include "runtime/source_factory.hpp"

#include "runtime/log.hpp"
#include "runtime/privileges.hpp"
#include "source/bpf_source.hpp"
#include "source/netlink_source.hpp"
#include "source/procfs_source.hpp"

namespace pidscope {

namespace {

std::unique_ptr<Source> Make(const std::string& name, const std::string& proc_root) {
  if (name == "bpf") {
    BpfSourceOptions options;
    options.log = [](std::string_view message) { LogInfo("bpf: " + std::string(message)); };
    return std::make_unique<BpfSource>(std::move(options));
  }
  if (name == "netlink") {
    NetlinkSourceOptions options;
    options.proc_root = proc_root;
    return std::make_unique<NetlinkSource>(options);
  }
  ProcfsPollOptions options;
  options.proc_root = proc_root;
  return std::make_unique<ProcfsPollSource>(options);
}

std::string MissingText(const std::string& name) {
  std::string text;
  for (const auto& missing : MissingCapabilities(AttachCapabilities(name))) {
    if (!text.empty()) text += ", ";
    text += missing;
  }
  return text;
}

}  // namespace

Result<StartedSource> StartSource(const std::string& requested, const std::string& proc_root) {
  if (requested != "auto") {
    auto source = Make(requested, proc_root);
    if (auto started = source->Start(); !started) return started.error();
    return StartedSource{std::move(source), "requested with --source " + requested};
  }
  // Best first. Each refusal is remembered so the log says why the better ones were passed over.
  std::string why_not;
  for (const char* name : {"bpf", "netlink", "procfs"}) {
    std::string missing = MissingText(name);
    if (!missing.empty() && std::string(name) != "procfs") {
      why_not += std::string(name) + ": missing " + missing + "; ";
      continue;
    }
    auto source = Make(name, proc_root);
    if (auto started = source->Start(); !started) {
      why_not += std::string(name) + ": " + started.error().Message() + "; ";
      continue;
    }
    std::string why = std::string("auto chose ") + name;
    why += why_not.empty() ? " (the best available)" : " because " + why_not;
    return StartedSource{std::move(source), why};
  }
  return Error{0, "no event source could start: " + why_not};
}

}  // namespace pidscope
