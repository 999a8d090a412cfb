// Pure parsers for the text of /proc/<pid>/* files: string_view in, values out, no I/O.
// A malformed or truncated file yields std::nullopt (or an empty/partial value), never a crash:
// the file may come from a process that vanished mid-read, or from an older or newer kernel.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pidscope::procfs {

// Fields of /proc/<pid>/stat we use (see proc(5)). The comm may contain spaces, ')' and
// newlines: it is the text between the first '(' and the LAST ')'.
struct StatFields {
  int32_t pid = 0;
  std::string comm;
  char state = '?';
  int32_t ppid = 0;
  int32_t pgrp = 0;
  int32_t session = 0;
  uint32_t tty_nr = 0;
  int32_t tpgid = 0;
  uint32_t flags = 0;  // PF_* (PF_KTHREAD = 0x00200000)
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  int32_t num_threads = 0;
  uint64_t start_ticks = 0;  // boot-relative, in clock ticks (USER_HZ)
  uint64_t vsize_bytes = 0;
  int64_t rss_pages = 0;
  int32_t exit_signal = 0;  // signal sent to the parent on death (field 38)
  int32_t exit_code = 0;    // field 52, since Linux 3.5: waitpid-style status
};
std::optional<StatFields> ParseStat(std::string_view text);

// Fields of /proc/<pid>/status we use. Missing lines (older kernels lack NSpid, Kthread...)
// leave the defaults and the `has_*` flags false.
struct StatusFields {
  int32_t tgid = 0;
  int32_t pid = 0;
  int32_t ppid = 0;
  int32_t tracer_pid = 0;
  std::array<uint32_t, 4> uid{};  // real, effective, saved, filesystem
  std::array<uint32_t, 4> gid{};
  bool has_ids = false;
  std::vector<uint32_t> groups;
  std::vector<int32_t> ns_tgid;  // outermost (host) first
  std::vector<int32_t> ns_pid;
  std::vector<int32_t> ns_pgid;
  std::vector<int32_t> ns_sid;
  bool has_ns_pids = false;
  int32_t threads = 0;
  uint64_t sig_pending = 0;         // SigPnd
  uint64_t sig_shared_pending = 0;  // ShdPnd
  uint64_t sig_blocked = 0;         // SigBlk
  uint64_t sig_ignored = 0;         // SigIgn
  uint64_t sig_caught = 0;          // SigCgt
  uint64_t cap_inheritable = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_effective = 0;
  uint64_t cap_bounding = 0;
  uint64_t cap_ambient = 0;
  bool has_caps = false;
  int32_t no_new_privs = 0;
  int32_t seccomp = 0;          // 0 disabled, 1 strict, 2 filter
  std::optional<bool> kthread;  // "Kthread:" line, Linux 6.x
};
StatusFields ParseStatus(std::string_view text);

// /proc/<pid>/cmdline: NUL-separated arguments. `max_bytes` bounds what is kept; a longer
// command line is cut at an argument boundary where possible and marked truncated.
struct Args {
  std::string raw;  // NUL-separated, without the final NUL
  size_t count = 0;
  bool truncated = false;
};
Args ParseCmdline(std::string_view text, size_t max_bytes);
// Splits Args::raw into its arguments; `count` (Args::count) tells an empty raw text that holds
// one empty argument from one that holds none.
std::vector<std::string_view> SplitArgs(std::string_view raw, size_t count = 0);

// One line of /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path". v2 is "0::/path".
struct CgroupEntry {
  uint32_t hierarchy_id = 0;
  std::string controllers;  // comma-separated, empty for v2, "name=systemd" for named v1
  std::string path;
};
std::vector<CgroupEntry> ParseCgroup(std::string_view text);

// "pid:[4026531836]" -> 4026531836.
std::optional<uint64_t> ParseNsLink(std::string_view link);

// Decodes the tty_nr of /proc/<pid>/stat into a device name: "pts/3", "tty1", "ttyS0",
// "console". Empty when there is no controlling terminal.
struct TtyDevice {
  uint32_t major = 0;
  uint32_t minor = 0;
};
TtyDevice DecodeTtyNr(uint32_t tty_nr);
std::string TtyName(uint32_t tty_nr);
bool IsTerminal(uint32_t tty_nr);  // pts, tty, serial or console: a controlling terminal

// Parses a 16-hex-digit mask ("000001fffeffffff").
std::optional<uint64_t> ParseHexMask(std::string_view text);

}  // namespace pidscope::procfs
