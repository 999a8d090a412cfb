#include "support/privilege.hpp"

#include <sys/capability.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace pidscope::testing {

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

std::optional<std::string> MissingPrivilege() {
  if (geteuid() != 0) return "needs root (run the integration tests with sudo)";
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return "cannot read own capabilities";
  std::optional<std::string> missing;
  for (cap_value_t cap : {CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE}) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) != 0 || value != CAP_SET) {
      char* name = cap_to_name(cap);
      missing = std::string("needs ") + (name ? name : "a capability") + " in the effective set";
      cap_free(name);
      break;
    }
  }
  cap_free(caps);
  return missing;
}

}  // namespace pidscope::testing
