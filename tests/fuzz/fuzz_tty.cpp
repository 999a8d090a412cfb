// DecodeTtyNr, TtyName and IsTerminal on every tty_nr: the decoding inverts the kernel's
// new_encode_dev(), a terminal always has a name, and no tty_nr has an empty name but 0.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "procfs/parse.hpp"

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// include/linux/kdev_t.h
uint32_t NewEncodeDev(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size != sizeof(uint32_t)) return 0;
  uint32_t tty_nr;
  std::memcpy(&tty_nr, data, sizeof tty_nr);
  pidscope::procfs::TtyDevice dev = pidscope::procfs::DecodeTtyNr(tty_nr);
  Check(dev.major <= 0xfff && dev.minor <= 0xfffff, "device number out of range");
  Check(NewEncodeDev(dev.major, dev.minor) == tty_nr, "decoding does not invert new_encode_dev");

  std::string name = pidscope::procfs::TtyName(tty_nr);
  Check(name.empty() == (tty_nr == 0), "empty name for a device, or a name for none");
  if (pidscope::procfs::IsTerminal(tty_nr)) {
    Check(name.starts_with("pts/") || name.starts_with("tty") || name == "console",
          "a terminal named like an unknown device");
  } else {
    Check(!name.starts_with("pts/"), "a pts name for what is not a terminal");
  }
  return 0;
}
