#include "procfs/parse.hpp"
#include "procfs/parse_util.hpp"

namespace pidscope::procfs {

using detail::NextToken;
using detail::ToNumber;

std::optional<uint64_t> ParseHexMask(std::string_view text) { return ToNumber<uint64_t>(text, 16); }

namespace {

template <typename T>
std::vector<T> ParseNumberList(std::string_view text) {
  std::vector<T> values;
  for (std::string_view token = NextToken(&text); !token.empty(); token = NextToken(&text)) {
    auto value = ToNumber<T>(token);
    if (!value) break;
    values.push_back(*value);
  }
  return values;
}

template <size_t N>
bool ParseIdQuad(std::string_view text, std::array<uint32_t, N>* out) {
  for (size_t i = 0; i < N; ++i) {
    auto value = ToNumber<uint32_t>(NextToken(&text));
    if (!value) return false;
    (*out)[i] = *value;
  }
  return true;
}

void SetMask(std::string_view value, uint64_t* out, bool* seen = nullptr) {
  if (auto mask = ParseHexMask(NextToken(&value))) {
    *out = *mask;
    if (seen) *seen = true;
  }
}

template <typename T>
void SetNumber(std::string_view value, T* out) {
  if (auto number = ToNumber<T>(NextToken(&value))) *out = *number;
}

}  // namespace

StatusFields ParseStatus(std::string_view text) {
  StatusFields f;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    // "Name:" is escaped text and may be anything; the comm comes from stat instead.
    switch (key.empty() ? '\0' : key[0]) {
      case 'T':
        if (key == "Tgid")
          SetNumber(value, &f.tgid);
        else if (key == "TracerPid")
          SetNumber(value, &f.tracer_pid);
        else if (key == "Threads")
          SetNumber(value, &f.threads);
        break;
      case 'P':
        if (key == "Pid")
          SetNumber(value, &f.pid);
        else if (key == "PPid")
          SetNumber(value, &f.ppid);
        break;
      case 'U':
        if (key == "Uid") f.has_ids = ParseIdQuad(value, &f.uid);
        break;
      case 'G':
        if (key == "Gid")
          f.has_ids = ParseIdQuad(value, &f.gid) && f.has_ids;
        else if (key == "Groups")
          f.groups = ParseNumberList<uint32_t>(value);
        break;
      case 'N':
        if (key == "NStgid") {
          f.ns_tgid = ParseNumberList<int32_t>(value);
        } else if (key == "NSpid") {
          f.ns_pid = ParseNumberList<int32_t>(value);
          f.has_ns_pids = !f.ns_pid.empty();
        } else if (key == "NSpgid") {
          f.ns_pgid = ParseNumberList<int32_t>(value);
        } else if (key == "NSsid") {
          f.ns_sid = ParseNumberList<int32_t>(value);
        } else if (key == "NoNewPrivs") {
          SetNumber(value, &f.no_new_privs);
        }
        break;
      case 'S':
        if (key == "SigPnd")
          SetMask(value, &f.sig_pending);
        else if (key == "ShdPnd")
          SetMask(value, &f.sig_shared_pending);
        else if (key == "SigBlk")
          SetMask(value, &f.sig_blocked);
        else if (key == "SigIgn")
          SetMask(value, &f.sig_ignored);
        else if (key == "SigCgt")
          SetMask(value, &f.sig_caught);
        else if (key == "Seccomp")
          SetNumber(value, &f.seccomp);
        break;
      case 'C':
        if (key == "CapInh")
          SetMask(value, &f.cap_inheritable);
        else if (key == "CapPrm")
          SetMask(value, &f.cap_permitted, &f.has_caps);
        else if (key == "CapEff")
          SetMask(value, &f.cap_effective);
        else if (key == "CapBnd")
          SetMask(value, &f.cap_bounding);
        else if (key == "CapAmb")
          SetMask(value, &f.cap_ambient);
        break;
      case 'K':
        if (key == "Kthread") {
          int32_t kthread = 0;
          SetNumber(value, &kthread);
          f.kthread = kthread != 0;
        }
        break;
      default:
        break;
    }
  }
  return f;
}

}  // namespace pidscope::procfs
