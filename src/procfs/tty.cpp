#include <string>

#include "procfs/parse.hpp"

namespace pidscope::procfs {

namespace {
// Linux device numbers (Documentation/admin-guide/devices.txt).
constexpr uint32_t kTtyMajor = 4;         // tty0-63 virtual consoles, ttyS0.. at minor 64+
constexpr uint32_t kTtyAuxMajor = 5;      // 5:0 /dev/tty, 5:1 /dev/console, 5:2 ptmx
constexpr uint32_t kPtsFirstMajor = 136;  // Unix98 pty slaves span majors 136-143
constexpr uint32_t kPtsLastMajor = 143;
}  // namespace

TtyDevice DecodeTtyNr(uint32_t tty_nr) {
  // The kernel's new_encode_dev(): minor in bits 31-20 and 7-0, a 12-bit major in bits 19-8
  // (proc(5) says 15-8, which only holds for majors below 256).
  return TtyDevice{(tty_nr >> 8) & 0xfff, ((tty_nr >> 12) & 0xfff00) | (tty_nr & 0xff)};
}

std::string TtyName(uint32_t tty_nr) {
  if (tty_nr == 0) return {};
  TtyDevice dev = DecodeTtyNr(tty_nr);
  if (dev.major >= kPtsFirstMajor && dev.major <= kPtsLastMajor) {
    return "pts/" + std::to_string((dev.major - kPtsFirstMajor) * 256 + dev.minor);
  }
  if (dev.major == kTtyMajor) {
    if (dev.minor < 64) return "tty" + std::to_string(dev.minor);
    return "ttyS" + std::to_string(dev.minor - 64);
  }
  if (dev.major == kTtyAuxMajor && dev.minor == 1) return "console";
  if (dev.major == kTtyAuxMajor && dev.minor == 0) return "tty";
  return std::to_string(dev.major) + ":" + std::to_string(dev.minor);
}

bool IsTerminal(uint32_t tty_nr) {
  if (tty_nr == 0) return false;
  TtyDevice dev = DecodeTtyNr(tty_nr);
  return (dev.major >= kPtsFirstMajor && dev.major <= kPtsLastMajor) || dev.major == kTtyMajor ||
         (dev.major == kTtyAuxMajor && dev.minor == 1);
}

}  // namespace pidscope::procfs
