#include "runtime/privileges.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <memory>

namespace pidscope {

namespace {

struct CapDeleter {
  void operator()(void* p) const { cap_free(p); }
};
using CapHandle = std::unique_ptr<std::remove_pointer_t<cap_t>, CapDeleter>;

std::string CapName(cap_value_t cap) {
  std::unique_ptr<char, CapDeleter> name(cap_to_name(cap));
  std::string text = name ? name.get() : std::to_string(cap);
  std::transform(text.begin(), text.end(), text.begin(), ::toupper);
  return text;
}

}  // namespace

std::vector<CapabilityNeed> RuntimeCapabilities() {
  return {{CAP_SYS_PTRACE, "read other processes' exe, cwd and namespace links"},
          {CAP_DAC_READ_SEARCH, "read /proc files that are not world-readable"}};
}

std::vector<CapabilityNeed> AttachCapabilities(const std::string& source) {
  std::vector<CapabilityNeed> needs = RuntimeCapabilities();
  if (source == "bpf") {
    needs.push_back({CAP_BPF, "load BPF programs and maps"});
    needs.push_back({CAP_PERFMON, "attach BPF programs to tracepoints"});
  } else if (source == "netlink") {
    needs.push_back({CAP_NET_ADMIN, "subscribe to the netlink proc connector"});
  }
  return needs;
}

std::vector<std::string> MissingCapabilities(const std::vector<CapabilityNeed>& needs) {
  std::vector<std::string> missing;
  CapHandle caps(cap_get_proc());
  for (const auto& need : needs) {
    cap_flag_value_t value = CAP_CLEAR;
    if (!caps || cap_get_flag(caps.get(), need.cap, CAP_EFFECTIVE, &value) != 0 ||
        value != CAP_SET) {
      missing.push_back(CapName(need.cap) + " (" + need.why + ")");
    }
  }
  return missing;
}

Status DropCapabilitiesExcept(const std::vector<CapabilityNeed>& keep) {
  CapHandle current(cap_get_proc());
  if (!current) return Error::FromErrno("cap_get_proc");
  // Shrink the bounding set first: that needs CAP_SETPCAP, which we are about to give up.
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    bool kept = std::any_of(keep.begin(), keep.end(), [&](auto& k) { return k.cap == cap; });
    if (!kept && CAP_IS_SUPPORTED(cap) && cap_get_bound(cap) == 1) {
      if (cap_drop_bound(cap) != 0 && errno != EPERM) {
        return Error::FromErrno("drop " + CapName(cap) + " from the bounding set");
      }
    }
  }
  CapHandle wanted(cap_init());
  if (!wanted) return Error::FromErrno("cap_init");
  for (const auto& need : keep) {
    cap_flag_value_t have = CAP_CLEAR;
    cap_get_flag(current.get(), need.cap, CAP_PERMITTED, &have);
    if (have != CAP_SET) continue;  // cannot keep what we do not have
    cap_value_t value = need.cap;
    cap_set_flag(wanted.get(), CAP_EFFECTIVE, 1, &value, CAP_SET);
    cap_set_flag(wanted.get(), CAP_PERMITTED, 1, &value, CAP_SET);
  }
  if (cap_set_proc(wanted.get()) != 0) return Error::FromErrno("cap_set_proc");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return Ok{};
}

std::string EffectiveCapabilitiesText() {
  CapHandle caps(cap_get_proc());
  if (!caps) return "?";
  std::string text;
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps.get(), cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET) {
      if (!text.empty()) text += ',';
      text += CapName(cap);
    }
  }
  return text.empty() ? "none" : text;
}

}  // namespace pidscope
