// ParseStatus on arbitrary bytes: never crashes, its flags agree with its values, and what it
// returns survives a round trip through a canonical status file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "procfs/parse.hpp"

namespace {

using pidscope::procfs::StatusFields;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

template <typename T>
std::string List(const std::vector<T>& values) {
  std::string out;
  for (T v : values) out += "\t" + std::to_string(v);
  return out;
}

std::string Hex(uint64_t mask) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
  return buf;
}

std::string Canonical(const StatusFields& f) {
  std::string out = "Name:\tcanonical\n";
  out += "Tgid:\t" + std::to_string(f.tgid) + "\n";
  out += "Pid:\t" + std::to_string(f.pid) + "\n";
  out += "PPid:\t" + std::to_string(f.ppid) + "\n";
  out += "TracerPid:\t" + std::to_string(f.tracer_pid) + "\n";
  if (f.has_ids) {
    out += "Uid:" + List(std::vector<uint32_t>(f.uid.begin(), f.uid.end())) + "\n";
    out += "Gid:" + List(std::vector<uint32_t>(f.gid.begin(), f.gid.end())) + "\n";
  }
  out += "Groups:" + List(f.groups) + " \n";
  out += "NStgid:" + List(f.ns_tgid) + "\n";
  out += "NSpid:" + List(f.ns_pid) + "\n";
  out += "NSpgid:" + List(f.ns_pgid) + "\n";
  out += "NSsid:" + List(f.ns_sid) + "\n";
  if (f.kthread) out += std::string("Kthread:\t") + (*f.kthread ? "1" : "0") + "\n";
  out += "Threads:\t" + std::to_string(f.threads) + "\n";
  out += "SigPnd:\t" + Hex(f.sig_pending) + "\n";
  out += "ShdPnd:\t" + Hex(f.sig_shared_pending) + "\n";
  out += "SigBlk:\t" + Hex(f.sig_blocked) + "\n";
  out += "SigIgn:\t" + Hex(f.sig_ignored) + "\n";
  out += "SigCgt:\t" + Hex(f.sig_caught) + "\n";
  out += "CapInh:\t" + Hex(f.cap_inheritable) + "\n";
  if (f.has_caps) out += "CapPrm:\t" + Hex(f.cap_permitted) + "\n";
  out += "CapEff:\t" + Hex(f.cap_effective) + "\n";
  out += "CapBnd:\t" + Hex(f.cap_bounding) + "\n";
  out += "CapAmb:\t" + Hex(f.cap_ambient) + "\n";
  out += "NoNewPrivs:\t" + std::to_string(f.no_new_privs) + "\n";
  out += "Seccomp:\t" + std::to_string(f.seccomp) + "\n";
  return out;
}

bool Same(const StatusFields& a, const StatusFields& b) {
  return a.tgid == b.tgid && a.pid == b.pid && a.ppid == b.ppid && a.tracer_pid == b.tracer_pid &&
         a.has_ids == b.has_ids && (!a.has_ids || (a.uid == b.uid && a.gid == b.gid)) &&
         a.groups == b.groups && a.ns_tgid == b.ns_tgid && a.ns_pid == b.ns_pid &&
         a.ns_pgid == b.ns_pgid && a.ns_sid == b.ns_sid && a.has_ns_pids == b.has_ns_pids &&
         a.threads == b.threads && a.sig_pending == b.sig_pending &&
         a.sig_shared_pending == b.sig_shared_pending && a.sig_blocked == b.sig_blocked &&
         a.sig_ignored == b.sig_ignored && a.sig_caught == b.sig_caught &&
         a.cap_inheritable == b.cap_inheritable && a.cap_permitted == b.cap_permitted &&
         a.cap_effective == b.cap_effective && a.cap_bounding == b.cap_bounding &&
         a.cap_ambient == b.cap_ambient && a.has_caps == b.has_caps &&
         a.no_new_privs == b.no_new_privs && a.seccomp == b.seccomp && a.kthread == b.kthread;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StatusFields status = pidscope::procfs::ParseStatus(text);
  Check(status.has_ns_pids == !status.ns_pid.empty(), "has_ns_pids disagrees with ns_pid");
  Check(status.has_caps || status.cap_permitted == 0, "CapPrm value without has_caps");
  // Every list entry takes at least one byte of input.
  Check(status.groups.size() + status.ns_pid.size() + status.ns_tgid.size() +
                status.ns_pgid.size() + status.ns_sid.size() <=
            size,
        "more list entries than bytes");
  StatusFields again = pidscope::procfs::ParseStatus(Canonical(status));
  Check(Same(status, again), "canonical form parses to other fields");
  return 0;
}
