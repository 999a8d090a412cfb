// `pidscope snapshot` and `pidscope tree` against process structures whose truth is known.
//
// ProcessStructure (tests/support/subprocess.hpp) builds, at three PID-namespace levels, the same
// family: a session with a controlling pty and a foreground group, process groups, a zombie, an
// exited thread-group leader, changed credentials and capabilities, a hostile comm, threads,
// blocked/ignored/caught signals, stopped and ptrace-stopped processes, hostile argv, a deleted
// executable, an odd working directory. Every process reports what the kernel told it (its
// getpid(), getsid(), getresuid(), capget(), rt_sigaction() ... in its own namespace) and the
// kernel translates its PID into the test's and the level-1 namespace (SCM_CREDENTIALS). Each
// field pidscope prints is checked against that ground truth, against construction, and against
// /proc read directly by the test.
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/privilege.hpp"
#include "support/subprocess.hpp"

namespace pidscope::testing {
namespace {

using nlohmann::json;

constexpr int kLevels = 3;
constexpr size_t kLargeArgsLimit = 1 << 20;  // --max-args-bytes that keeps every argument

// ---------------------------------------------------------------------------------------------
// Independent helpers (none of pidscope's code is used to compute an expectation).

std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::string_view rest = text;
  if (rest.back() == '\0') rest.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t nul = rest.find('\0', start);
    out.emplace_back(rest.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  return out;
}

// The JSON contract turns bytes into text: valid UTF-8 stays, each byte of invalid UTF-8
// becomes U+FFFD (README, "The JSON contract"). This is what a byte string must read as.
std::string AsJsonText(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool valid = len > 0 && i + len <= bytes.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; valid && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(bytes[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (valid && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                  (len == 3 && cp >= 0xD800 && cp <= 0xDFFF) ||
                  (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) {
      valid = false;
    }
    if (valid) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

uint64_t ParseHex(const std::string& text) {
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return value;
}

// linux/capability.h, in bit order (kernel 6.x knows 0..40).
constexpr const char* kCapabilityNames[] = {"CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_DAC_READ_SEARCH",
                                            "CAP_FOWNER",
                                            "CAP_FSETID",
                                            "CAP_KILL",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETPCAP",
                                            "CAP_LINUX_IMMUTABLE",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_NET_BROADCAST",
                                            "CAP_NET_ADMIN",
                                            "CAP_NET_RAW",
                                            "CAP_IPC_LOCK",
                                            "CAP_IPC_OWNER",
                                            "CAP_SYS_MODULE",
                                            "CAP_SYS_RAWIO",
                                            "CAP_SYS_CHROOT",
                                            "CAP_SYS_PTRACE",
                                            "CAP_SYS_PACCT",
                                            "CAP_SYS_ADMIN",
                                            "CAP_SYS_BOOT",
                                            "CAP_SYS_NICE",
                                            "CAP_SYS_RESOURCE",
                                            "CAP_SYS_TIME",
                                            "CAP_SYS_TTY_CONFIG",
                                            "CAP_MKNOD",
                                            "CAP_LEASE",
                                            "CAP_AUDIT_WRITE",
                                            "CAP_AUDIT_CONTROL",
                                            "CAP_SETFCAP",
                                            "CAP_MAC_OVERRIDE",
                                            "CAP_MAC_ADMIN",
                                            "CAP_SYSLOG",
                                            "CAP_WAKE_ALARM",
                                            "CAP_BLOCK_SUSPEND",
                                            "CAP_AUDIT_READ",
                                            "CAP_PERFMON",
                                            "CAP_BPF",
                                            "CAP_CHECKPOINT_RESTORE"};

std::vector<std::string> CapabilityNames(uint64_t mask) {
  std::vector<std::string> names;
  for (int bit = 0; bit < 64; ++bit) {
    if (!(mask & (uint64_t{1} << bit))) continue;
    names.push_back(bit < static_cast<int>(std::size(kCapabilityNames)) ? kCapabilityNames[bit]
                                                                        : std::to_string(bit));
  }
  return names;
}

// Signals 1..31 by number (x86-64).
constexpr const char* kSignalNames[] = {
    "",          "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS"};

// /proc/<pid>/status as key -> value (value without the leading tab).
std::map<std::string, std::string> ReadStatus(int32_t pid) {
  std::map<std::string, std::string> out;
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    out[line.substr(0, colon)] = value;
  }
  return out;
}

// Fields after the comm of /proc/<pid>/stat, numbered as in proc(5) (index 3 is the state).
std::vector<std::string> ReadStatFields(int32_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return {};
  std::vector<std::string> fields = {"", "", ""};
  std::istringstream in(text->substr(text->rfind(')') + 2));
  std::string field;
  while (in >> field) fields.push_back(field);
  return fields;
}

std::optional<uint64_t> NsInode(int32_t pid, const std::string& type) {
  struct stat st {};
  if (stat(("/proc/" + std::to_string(pid) + "/ns/" + type).c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// The thread ids of a process, space-separated.
std::string ReadTaskList(int32_t pid) {
  std::string out;
  if (DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      if (!out.empty()) out.push_back(' ');
      out += entry->d_name;
    }
    closedir(dir);
  }
  return out;
}

std::string JoinPids(const std::vector<int32_t>& pids) {
  std::string out;
  for (size_t i = 0; i < pids.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += std::to_string(pids[i]);
  }
  return out;
}

std::vector<int32_t> IntArray(const json& value) {
  std::vector<int32_t> out;
  for (const auto& v : value) out.push_back(v.get<int32_t>());
  return out;
}

std::vector<std::string> StringArray(const json& value) {
  std::vector<std::string> out;
  for (const auto& v : value) out.push_back(v.get<std::string>());
  return out;
}

std::vector<std::string> AsJsonTexts(const std::vector<std::string>& bytes) {
  std::vector<std::string> out;
  for (const auto& b : bytes) out.push_back(AsJsonText(b));
  return out;
}

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// "2026-11-24T08:40:57.893481255Z" -> ns since the epoch.
std::optional<int64_t> ParseRfc3339Ns(const std::string& text) {
  tm t{};
  int nanos = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &nanos) != 7 ||
      text.size() != 30) {
    return std::nullopt;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&t)) * 1'000'000'000 + nanos;
}

// ---------------------------------------------------------------------------------------------
// pidscope's text tree.

struct TreeLine {
  int32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  std::string tty;
  char state = '?';
  std::string nspid;
  std::string command;  // after the forest prefix
  std::string raw;
};

struct TreeGroup {
  std::string header;  // "== pidns 4026532 level 1 init 123 name (5 processes)"
  std::vector<TreeLine> lines;
};

std::optional<TreeLine> ParseTreeLine(const std::string& raw) {
  std::istringstream in(raw);
  TreeLine line;
  std::string user, state;
  if (!(in >> user >> line.pid >> line.ppid >> line.pgid >> line.sid >> line.tty >> state >>
        line.nspid)) {
    return std::nullopt;
  }
  if (state.size() != 1) return std::nullopt;
  line.state = state[0];
  std::string rest;
  std::getline(in, rest);
  rest.erase(0, rest.find_first_not_of(' '));
  if (rest.starts_with("\\_ ")) rest.erase(0, 3);
  line.command = rest;
  line.raw = raw;
  return line;
}

// Splits `tree --by ...` output into its groups; every non-header line must parse.
std::vector<TreeGroup> ParseTree(const std::string& text, std::vector<std::string>* bad_lines) {
  std::vector<TreeGroup> groups;
  std::istringstream in(text);
  std::string raw;
  bool first = true;
  while (std::getline(in, raw)) {
    if (first) {  // the column header
      first = false;
      continue;
    }
    if (raw.empty()) continue;
    if (raw.starts_with("== ")) {
      groups.push_back(TreeGroup{raw, {}});
      continue;
    }
    auto line = ParseTreeLine(raw);
    if (!line) {
      bad_lines->push_back(raw);
      continue;
    }
    if (groups.empty()) groups.push_back(TreeGroup{"", {}});
    groups.back().lines.push_back(*line);
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------
// The world every test looks at: one structure, several pidscope outputs.

struct CgroupHierarchy {
  uint32_t hierarchy_id = 0;
  std::string controllers;  // as in /proc/<pid>/cgroup
  std::string test_path;    // the test process's path in it
  std::string dir;          // the directory the level-1 namespace joined
};

struct World {
  std::string work_dir;
  std::vector<CgroupHierarchy> cgroups;
  std::unique_ptr<ProcessStructure> structure;
  json snapshot;        // default --max-args-bytes
  json snapshot_large;  // --max-args-bytes kLargeArgsLimit
  std::map<int32_t, const json*> docs;
  std::map<int32_t, const json*> docs_large;
  std::string tree_pidns;
  std::string tree_session;
  std::vector<std::string> test_args;  // this test binary's argv (the family inherits it)
  std::string test_exe;
  std::string test_cwd;
  std::string error;

  ~World() {
    if (structure) structure->Kill();
    for (const auto& cg : cgroups) {
      // A cgroup can be removed once its last process has left (asynchronously).
      WaitUntil([&] { return rmdir(cg.dir.c_str()) == 0 || errno == ENOENT; }, milliseconds(5000));
    }
    if (!work_dir.empty()) Run({"rm", "-rf", "--", work_dir});
  }

  const json& Doc(int32_t pid) const {
    static const json kNull;
    auto it = docs.find(pid);
    return it == docs.end() ? kNull : *it->second;
  }
  const json& Doc(const std::string& role) const { return Doc(structure->role(role).pid()); }
  const RoleTruth& Role(const std::string& name) const { return structure->role(name); }
};

// Directories for the level-1 namespace to join: under the test's own cgroup in the v2 hierarchy
// and in the pids, memory and named systemd v1 hierarchies (the ones a hybrid host has). The
// names carry a space and a colon, which the "id:controllers:path" format must survive.
std::vector<CgroupHierarchy> MakeCgroupDirs(std::string* error) {
  std::map<std::string, std::string> mounts;  // super options or "cgroup2" -> mount point
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  std::istringstream in(mountinfo.value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) f.push_back(field);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || dash + 3 >= f.end() + 1 || f.size() < 5 || f[3] != "/") continue;
    const std::string& type = *(dash + 1);
    if (type == "cgroup2") mounts["cgroup2"] = f[4];
    if (type == "cgroup") mounts[*(dash + 3)] = f[4];
  }
  std::vector<CgroupHierarchy> out;
  auto self = ReadFile("/proc/self/cgroup");
  std::istringstream lines(self.value_or(""));
  const std::string name = "pidscope-it:" + std::to_string(getpid()) + " dir";
  while (std::getline(lines, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    CgroupHierarchy h;
    std::from_chars(line.data(), line.data() + a, h.hierarchy_id);
    h.controllers = line.substr(a + 1, b - a - 1);
    h.test_path = line.substr(b + 1);
    std::string mount;
    if (h.hierarchy_id == 0) {
      mount = mounts.contains("cgroup2") ? mounts["cgroup2"] : "";
    } else if (h.controllers == "pids" || h.controllers == "memory" ||
               h.controllers == "name=systemd") {
      for (const auto& [options, point] : mounts) {
        std::string opts = "," + options + ",";
        if (opts.find("," + h.controllers + ",") != std::string::npos) mount = point;
      }
    }
    if (mount.empty()) continue;
    h.dir = mount + (h.test_path == "/" ? "" : h.test_path) + "/" + name;
    if (mkdir(h.dir.c_str(), 0755) != 0) {
      *error += "mkdir " + h.dir + ": " + std::strerror(errno) + "; ";
      continue;
    }
    out.push_back(h);
  }
  return out;
}

std::optional<json> Snapshot(const std::vector<std::string>& extra, std::string* error) {
  std::vector<std::string> argv = {PIDSCOPE_BINARY, "snapshot", "--format", "json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunResult run = Run(argv);
  if (!run.ok()) {
    *error = "pidscope snapshot: " + run.Describe();
    return std::nullopt;
  }
  try {
    return json::parse(run.out);  // strict: invalid UTF-8 or a broken document throws
  } catch (const std::exception& e) {
    *error = std::string("pidscope's JSON does not parse: ") + e.what();
    return std::nullopt;
  }
}

std::unique_ptr<World> BuildWorld() {
  auto world = std::make_unique<World>();
  char dir[] = "/tmp/pidscope-it-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    world->error = "mkdtemp failed";
    return world;
  }
  world->work_dir = dir;
  std::string cgroup_error;
  world->cgroups = MakeCgroupDirs(&cgroup_error);
  if (!cgroup_error.empty()) {
    world->error = "cgroup setup: " + cgroup_error;
    return world;
  }
  StructureConfig config;
  config.work_dir = world->work_dir;
  for (const auto& cg : world->cgroups) config.cgroup_dirs.push_back(cg.dir);
  world->structure = ProcessStructure::Build(config, &world->error);
  if (!world->structure) return world;

  auto snapshot = Snapshot({}, &world->error);
  if (!snapshot) return world;
  world->snapshot = std::move(*snapshot);
  auto large = Snapshot({"--max-args-bytes", std::to_string(kLargeArgsLimit)}, &world->error);
  if (!large) return world;
  world->snapshot_large = std::move(*large);
  for (const auto& doc : world->snapshot) {
    world->docs[doc["process"]["pid"].get<int32_t>()] = &doc;
  }
  for (const auto& doc : world->snapshot_large) {
    world->docs_large[doc["process"]["pid"].get<int32_t>()] = &doc;
  }
  for (const char* by : {"pidns", "session"}) {
    RunResult tree = Run({PIDSCOPE_BINARY, "tree", "--by", by});
    if (!tree.ok()) {
      world->error = std::string("pidscope tree --by ") + by + ": " + tree.Describe();
      return world;
    }
    (std::string(by) == "pidns" ? world->tree_pidns : world->tree_session) = tree.out;
  }
  world->test_args = SplitNul(ReadFile("/proc/self/cmdline").value_or(""));
  world->test_exe = ReadLink("/proc/self/exe").value_or("");
  world->test_cwd = ReadLink("/proc/self/cwd").value_or("");
  return world;
}

class SnapshotStructures : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { world_.reset(); }

  // Builds the structure and takes the snapshots once for the whole suite.
  static const World* GetWorld() {
    if (!world_) world_ = BuildWorld();
    return world_->error.empty() ? world_.get() : nullptr;
  }
  static std::string WorldError() { return world_ ? world_->error : "no world"; }

  static std::vector<std::string> RoleNames() {
    std::vector<std::string> out;
    for (const auto& [name, truth] : world_->structure->roles()) out.push_back(name);
    return out;
  }

  static std::unique_ptr<World> world_;
};

std::unique_ptr<World> SnapshotStructures::world_;

#define GET_WORLD_OR_FAIL(w)   \
  PIDSCOPE_REQUIRE_ROOT();     \
  const World* w = GetWorld(); \
  ASSERT_NE(w, nullptr) << "building the structure: " << WorldError()

std::string Suffix(const std::string& role) { return role.substr(role.find('.') + 1); }
bool IsExecRole(const RoleTruth& truth) { return truth.self.contains("exec"); }

// ---------------------------------------------------------------------------------------------
// Identity.

TEST_F(SnapshotStructures, EveryProcessIsPresentWithItsKernelStartTime) {
  GET_WORLD_OR_FAIL(w);
  std::set<std::string> entity_ids;
  for (const auto& doc : w->snapshot) {
    EXPECT_TRUE(entity_ids.insert(doc["process"]["entity_id"].get<std::string>()).second)
        << "duplicate entity_id for pid " << doc["process"]["pid"];
  }
  const int64_t boot_wall_ns = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME);
  const int64_t tick_ns = 1'000'000'000 / sysconf(_SC_CLK_TCK);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name + " pid " + std::to_string(truth.pid()));
    const json& doc = w->Doc(truth.pid());
    ASSERT_FALSE(doc.is_null()) << "missing from the snapshot";
    const json& large = *w->docs_large.at(truth.pid());
    const uint64_t ticks = std::stoull(ReadStatFields(truth.pid()).at(22));
    EXPECT_EQ(doc["pidscope"]["start_ticks"].get<uint64_t>(), ticks);
    // The same process has the same entity id in every run.
    EXPECT_EQ(doc["process"]["entity_id"], large["process"]["entity_id"]);
    auto start = ParseRfc3339Ns(doc["process"]["start"].get<std::string>());
    ASSERT_TRUE(start.has_value()) << doc["process"]["start"];
    EXPECT_NEAR(static_cast<double>(*start),
                static_cast<double>(boot_wall_ns + static_cast<int64_t>(ticks) * tick_ns), 5e7);
    // It started before it reported (to the tick) and not long before.
    const int64_t reported = std::stoll(truth.Get("realtime_ns"));
    EXPECT_LE(*start, reported + tick_ns);
    EXPECT_GE(*start, reported - 10'000'000'000);
    if (Suffix(name) != "zleader") {
      EXPECT_FALSE(doc["pidscope"].contains("unreadable")) << doc["pidscope"]["unreadable"];
    }
  }
}

TEST_F(SnapshotStructures, PidsGroupsAndSessionsAtEveryNamespaceLevel) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name + " pid " + std::to_string(truth.pid()));
    const json& doc = w->Doc(truth.pid());
    ASSERT_FALSE(doc.is_null());
    const json& process = doc["process"];
    const json& ps = doc["pidscope"];
    EXPECT_EQ(process["pid"].get<int32_t>(), truth.pid());
    EXPECT_EQ(process["vpid"].get<int32_t>(), truth.ns_pid.back());
    EXPECT_EQ(IntArray(ps["ns_pid"]), truth.ns_pid);
    EXPECT_EQ(IntArray(ps["ns_pgid"]), truth.ns_pgid);
    EXPECT_EQ(IntArray(ps["ns_sid"]), truth.ns_sid);
    EXPECT_EQ(ps["pidns"]["level"].get<int>(), truth.level);
    EXPECT_EQ(ps["container_init"].get<bool>(), name == "L1.root" || name == "L2.root");
    EXPECT_EQ(process["group_leader"]["pid"].get<int32_t>(), truth.ns_pgid.front());
    EXPECT_EQ(process["session_leader"]["pid"].get<int32_t>(), truth.ns_sid.front());

    // The parent, by construction; the process's own getppid() agrees where the parent is in
    // its namespace (0 where it is not).
    const int32_t parent_pid = truth.parent.empty() ? getpid() : w->Role(truth.parent).pid();
    EXPECT_EQ(process["parent"]["pid"].get<int32_t>(), parent_pid);
    if (!truth.parent.empty()) {
      const RoleTruth& parent = w->Role(truth.parent);
      const int32_t expected_ppid = parent.level == truth.level ? parent.ns_pid.back() : 0;
      EXPECT_EQ(std::stoi(truth.Get("ppid")), expected_ppid);
    }
    // Relatives carry the entity id and start of their own documents.
    for (const char* relative : {"parent", "group_leader", "session_leader"}) {
      const json& ref = process[relative];
      const json& target = w->Doc(ref["pid"].get<int32_t>());
      if (target.is_null()) continue;
      EXPECT_EQ(ref["entity_id"], target["process"]["entity_id"]) << relative;
      EXPECT_EQ(ref["start"], target["process"]["start"]) << relative;
    }
  }
  // The level-1 init's session and group are not visible in its namespace: the kernel says 0.
  EXPECT_EQ(w->Role("L1.root").ns_sid.back(), 0);
  EXPECT_EQ(w->Role("L1.root").ns_pid.back(), 1);
  EXPECT_EQ(w->Role("L2.root").ns_pid.back(), 1);
}

TEST_F(SnapshotStructures, StateThreadsAndTracer) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name + " pid " + std::to_string(truth.pid()));
    const json& ps = w->Doc(truth.pid())["pidscope"];
    ASSERT_FALSE(ps.is_null());
    const std::string role = Suffix(name);
    std::string state = "S";
    if (role == "zombie" || role == "zleader") state = "Z";
    if (role == "stopped") state = "T";
    if (role == "tracee") state = "t";
    EXPECT_EQ(ps["state"].get<std::string>(), state);
    EXPECT_EQ(ps["state"].get<std::string>(), ReadStatFields(truth.pid()).at(3));
    int threads = truth.self.contains("threads") ? std::stoi(truth.Get("threads")) : 1;
    EXPECT_EQ(ps["threads"].get<int>(), threads);
    EXPECT_EQ(ps["zombie"].get<bool>(), role == "zombie");
    EXPECT_FALSE(ps["kernel_thread"].get<bool>());
    const int32_t tracer =
        role == "tracee" ? w->Role("L" + std::to_string(truth.level) + ".tracer").pid() : 0;
    EXPECT_EQ(ps["tracer_pid"].get<int32_t>(), tracer);
    EXPECT_EQ(std::to_string(ps["tracer_pid"].get<int32_t>()),
              ReadStatus(truth.pid())["TracerPid"]);
  }
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& zparent = w->Role("L" + std::to_string(level) + ".zparent");
    EXPECT_EQ(zparent.Get("zombie_exit_code"), std::to_string(ProcessStructure::kZombieExitCode));
  }
}

TEST_F(SnapshotStructures, ControllingTerminalIsThePtyOfTheSession) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& process = w->Doc(truth.pid())["process"];
    ASSERT_FALSE(process.is_null());
    const std::string role = Suffix(name);
    const bool in_pty_session = role == "pty" || role == "fg" || role == "fgkid" || role == "bg";
    if (!in_pty_session) {
      EXPECT_FALSE(process.contains("tty")) << process["tty"];
      EXPECT_FALSE(process["interactive"].get<bool>());
      continue;
    }
    const std::string tty = truth.Get("tty");
    ASSERT_TRUE(tty.starts_with("pts/")) << tty;
    ASSERT_TRUE(process.contains("tty"));
    EXPECT_EQ(process["tty"]["name"].get<std::string>(), tty);
    EXPECT_TRUE(process["interactive"].get<bool>());
    struct stat st {};
    ASSERT_EQ(stat(("/dev/" + tty).c_str(), &st), 0);
    EXPECT_EQ(process["tty"]["char_device"]["major"].get<uint32_t>(), major(st.st_rdev));
    EXPECT_EQ(process["tty"]["char_device"]["minor"].get<uint32_t>(), minor(st.st_rdev));
    // The terminal's session is the pty leader's, and its foreground group is fg's.
    const std::string prefix = "L" + std::to_string(truth.level) + ".";
    EXPECT_EQ(truth.Get("tty_sid"), std::to_string(w->Role(prefix + "pty").ns_pid.back()));
    EXPECT_EQ(truth.Get("tpgid"), std::to_string(w->Role(prefix + "fg").ns_pid.back()));
    EXPECT_EQ(truth.ns_sid.front(), w->Role(prefix + "pty").pid());
  }
}

// ---------------------------------------------------------------------------------------------
// Program.

TEST_F(SnapshotStructures, NameIsTheKernelCommAsText) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& process = w->Doc(truth.pid())["process"];
    ASSERT_FALSE(process.is_null());
    std::string comm = truth.Get("comm");
    if (IsExecRole(truth)) {
      // exec names the process after the last component of the path it was given (not of
      // what a symbolic link resolves to), cut to TASK_COMM_LEN - 1 bytes.
      const std::string exe = truth.Get("exec");
      comm = exe.substr(exe.rfind('/') + 1).substr(0, 15);
    }
    EXPECT_EQ(process["name"].get<std::string>(), AsJsonText(comm));
  }
  EXPECT_EQ(w->Doc("L1.comm")["process"]["name"].get<std::string>(), "a) b\nc");
  EXPECT_EQ(w->Doc("L2.zombie")["process"]["name"].get<std::string>(), "zomb\xEF\xBF\xBDie");
}

TEST_F(SnapshotStructures, ExecutableAndItsDeletion) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& doc = w->Doc(truth.pid());
    ASSERT_FALSE(doc.is_null());
    const std::string role = Suffix(name);
    if (role == "zombie") {
      EXPECT_FALSE(doc["process"].contains("executable"));  // an exited process has no image
      continue;
    }
    if (role == "zleader") continue;  // ExitedLeaderKeepsItsProgram
    if (role == "fakedel") continue;  // ExecutableNamedLikeADeletedOneIsNotDeleted
    std::string expected = w->test_exe;
    bool deleted = false;
    if (role == "deleted") {
      expected = ProcessStructure::DeletedExePath(w->work_dir, truth.level);
      deleted = true;
      struct stat st {};
      EXPECT_NE(stat(expected.c_str(), &st), 0) << "the copy should be gone";
    } else if (IsExecRole(truth)) {
      char* real = realpath(truth.Get("exec").c_str(), nullptr);
      ASSERT_NE(real, nullptr);
      expected = real;
      free(real);
    }
    ASSERT_TRUE(doc["process"].contains("executable"));
    EXPECT_EQ(doc["process"]["executable"].get<std::string>(), AsJsonText(expected));
    EXPECT_EQ(doc["pidscope"]["executable_deleted"].get<bool>(), deleted);
  }
}

// The kernel appends " (deleted)" to the exe link of an unlinked file; a file may also simply be
// called that. Only the file (its link count) tells them apart.
TEST_F(SnapshotStructures, ExecutableNamedLikeADeletedOneIsNotDeleted) {
  GET_WORLD_OR_FAIL(w);
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& truth = w->Role("L" + std::to_string(level) + ".fakedel");
    SCOPED_TRACE(truth.name);
    const std::string path = ProcessStructure::FakeDeletedExePath(w->work_dir, level);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0) << "the file still exists";
    EXPECT_EQ(ReadLink("/proc/" + std::to_string(truth.pid()) + "/exe"), path);
    const json& doc = w->Doc(truth.pid());
    EXPECT_EQ(doc["process"].value("executable", ""), AsJsonText(path));
    EXPECT_FALSE(doc["pidscope"]["executable_deleted"].get<bool>());
  }
}

TEST_F(SnapshotStructures, ArgumentsAreExactAndBounded) {
  GET_WORLD_OR_FAIL(w);
  const std::vector<std::string> hostile = ProcessStructure::HostileArgv();
  // Default bound (32 KiB): cut at the boundary before the 100 KiB argument.
  const std::vector<std::string> kept(hostile.begin(), hostile.begin() + 8);
  ASSERT_EQ(hostile[8].size(), 100u * 1024);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& process = w->Doc(truth.pid())["process"];
    const json& large = (*w->docs_large.at(truth.pid()))["process"];
    const json& ps = w->Doc(truth.pid())["pidscope"];
    const std::string role = Suffix(name);
    if (role == "zleader") continue;    // ExitedLeaderKeepsItsProgram
    if (role == "emptyargv") continue;  // LoneEmptyArgumentIsAnArgument
    std::vector<std::string> expected = w->test_args;
    if (role == "argv") expected = hostile;
    if (role == "deleted" || role == "fakedel") expected = {"sleep-copy", "infinity"};
    if (role == "zombie") expected = {};  // an exited process has no argv left

    ASSERT_TRUE(large.contains("args"));
    EXPECT_EQ(StringArray(large["args"]), AsJsonTexts(expected));
    EXPECT_EQ(large["args_count"].get<size_t>(), expected.size());
    EXPECT_FALSE((*w->docs_large.at(truth.pid()))["pidscope"]["args_truncated"].get<bool>());
    if (role == "argv") {
      EXPECT_EQ(StringArray(process["args"]), AsJsonTexts(kept));
      EXPECT_EQ(process["args_count"].get<size_t>(), kept.size());
      EXPECT_TRUE(ps["args_truncated"].get<bool>());
    } else {
      EXPECT_EQ(StringArray(process["args"]), AsJsonTexts(expected));
      EXPECT_FALSE(ps["args_truncated"].get<bool>());
    }
  }
}

// execve(path, {"", NULL}): /proc/<pid>/cmdline is one NUL byte, one empty argument. A process
// without a command line (a zombie, a kernel thread) has an empty file instead.
TEST_F(SnapshotStructures, LoneEmptyArgumentIsAnArgument) {
  GET_WORLD_OR_FAIL(w);
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& truth = w->Role("L" + std::to_string(level) + ".emptyargv");
    SCOPED_TRACE(truth.name);
    EXPECT_EQ(ReadFile("/proc/" + std::to_string(truth.pid()) + "/cmdline"), std::string(1, '\0'));
    const json& process = w->Doc(truth.pid())["process"];
    EXPECT_EQ(StringArray(process["args"]), std::vector<std::string>{""});
    EXPECT_EQ(process["args_count"].get<size_t>(), 1u);
  }
}

TEST_F(SnapshotStructures, WorkingDirectory) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& process = w->Doc(truth.pid())["process"];
    const std::string role = Suffix(name);
    if (role == "zombie") {
      EXPECT_FALSE(process.contains("working_directory"));
      continue;
    }
    if (role == "zleader") continue;  // ExitedLeaderKeepsItsProgram
    ASSERT_TRUE(process.contains("working_directory"));
    EXPECT_EQ(process["working_directory"].get<std::string>(), AsJsonText(truth.Get("cwd")));
    if (role == "cwd") {
      EXPECT_EQ(truth.Get("cwd"), ProcessStructure::OddCwd(w->work_dir));
    } else {
      EXPECT_EQ(truth.Get("cwd"), w->test_cwd);
    }
  }
}

// A thread-group leader that exited while another thread runs shows 'Z' but is alive: its
// program, arguments, directory and namespaces are those its live thread still has.
TEST_F(SnapshotStructures, ExitedLeaderKeepsItsProgram) {
  GET_WORLD_OR_FAIL(w);
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& truth = w->Role("L" + std::to_string(level) + ".zleader");
    SCOPED_TRACE(truth.name);
    const json& doc = w->Doc(truth.pid());
    ASSERT_FALSE(doc.is_null());
    EXPECT_EQ(doc["pidscope"]["state"], "Z");
    EXPECT_FALSE(doc["pidscope"]["zombie"].get<bool>());
    EXPECT_EQ(doc["process"].value("executable", ""), AsJsonText(w->test_exe));
    EXPECT_EQ(doc["process"].value("working_directory", ""), AsJsonText(truth.Get("cwd")));
    EXPECT_EQ(StringArray(doc["process"].value("args", json::array())), AsJsonTexts(w->test_args));
    for (const char* type : {"pid", "mnt", "net", "user", "uts", "ipc", "cgroup", "time"}) {
      EXPECT_EQ(doc["pidscope"]["namespaces"].value(type, uint64_t{0}),
                truth.GetU64(std::string("ns.") + type))
          << type;
    }
    // Its cgroups are those of the live thread (the exited leader was moved to the v1 roots).
    std::string live_tid;
    for (const auto& tid : Split(ReadTaskList(truth.pid()), ' ')) {
      if (tid != std::to_string(truth.pid())) live_tid = tid;
    }
    ASSERT_FALSE(live_tid.empty());
    std::vector<std::string> lines;
    for (const auto& cg : doc["pidscope"].value("cgroups", json::array())) {
      lines.push_back(std::to_string(cg["hierarchy_id"].get<uint32_t>()) + ":" +
                      cg["controllers"].get<std::string>() + ":" + cg["path"].get<std::string>());
    }
    auto task_cgroup =
        ReadFile("/proc/" + std::to_string(truth.pid()) + "/task/" + live_tid + "/cgroup");
    EXPECT_EQ(lines, Split(task_cgroup.value_or(""), '\n'));
    EXPECT_FALSE(doc["pidscope"].contains("unreadable")) << doc["pidscope"]["unreadable"];
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials.

void ExpectIdObject(const json& object, const std::string& id, bool user) {
  ASSERT_TRUE(object.is_object());
  EXPECT_EQ(object["id"].get<std::string>(), id);
  const uint32_t numeric = static_cast<uint32_t>(std::stoul(id));
  const char* name = nullptr;
  if (user) {
    if (passwd* pw = getpwuid(numeric)) name = pw->pw_name;
  } else {
    if (group* gr = getgrgid(numeric)) name = gr->gr_name;
  }
  if (name != nullptr) {
    EXPECT_EQ(object.value("name", ""), name);
  } else {
    EXPECT_FALSE(object.contains("name"));
  }
}

TEST_F(SnapshotStructures, CredentialsAndCapabilities) {
  GET_WORLD_OR_FAIL(w);
  // Construction.
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& creds = w->Role("L" + std::to_string(level) + ".creds");
    EXPECT_EQ(creds.Get("uid"), "1001,1002,1003,1004");
    EXPECT_EQ(creds.Get("gid"), "2001,2002,2003,2004");
    EXPECT_EQ(creds.Get("groups"), "1001,2002,3003");
    EXPECT_EQ(ParseHex(creds.Get("cap_eff")), uint64_t{1} << 5);                    // KILL
    EXPECT_EQ(ParseHex(creds.Get("cap_prm")), (1u << 0) | (1u << 5) | (1u << 10));  // +CHOWN,NBS
    EXPECT_EQ(ParseHex(creds.Get("cap_inh")), (1u << 5) | (1u << 10));
    EXPECT_EQ(ParseHex(creds.Get("cap_amb")), uint64_t{1} << 10);
    EXPECT_EQ(ParseHex(creds.Get("cap_bnd")) & ((1u << 22) | (1u << 13)), 0u);  // SYS_BOOT, NET_RAW
  }
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& doc = w->Doc(truth.pid());
    ASSERT_FALSE(doc.is_null());
    const json& process = doc["process"];
    const json& ps = doc["pidscope"];
    const auto uid = Split(truth.Get("uid"), ',');
    const auto gid = Split(truth.Get("gid"), ',');
    ASSERT_EQ(uid.size(), 4u);
    ASSERT_EQ(gid.size(), 4u);
    ExpectIdObject(process["real_user"], uid[0], true);
    ExpectIdObject(process["user"], uid[1], true);
    ExpectIdObject(process["saved_user"], uid[2], true);
    ExpectIdObject(ps["fs_user"], uid[3], true);
    ExpectIdObject(process["real_group"], gid[0], false);
    ExpectIdObject(process["group"], gid[1], false);
    ExpectIdObject(process["saved_group"], gid[2], false);
    ExpectIdObject(ps["fs_group"], gid[3], false);
    std::vector<std::string> groups;
    for (const auto& g : process["supplemental_groups"]) {
      ExpectIdObject(g, g["id"].get<std::string>(), false);
      groups.push_back(g["id"].get<std::string>());
    }
    EXPECT_EQ(groups, Split(truth.Get("groups"), ','));

    // Capabilities: the process's own capget()/prctl() view, except after exec, where the
    // kernel recomputed them; /proc is the reference for those and a second one for all.
    auto status = ReadStatus(truth.pid());
    struct Set {
      const json& names;
      const char* self_key;
      const char* status_key;
    };
    const Set sets[] = {{process["thread"]["capabilities"]["effective"], "cap_eff", "CapEff"},
                        {process["thread"]["capabilities"]["permitted"], "cap_prm", "CapPrm"},
                        {ps["capabilities"]["bounding"], "cap_bnd", "CapBnd"},
                        {ps["capabilities"]["inheritable"], "cap_inh", "CapInh"},
                        {ps["capabilities"]["ambient"], "cap_amb", "CapAmb"}};
    for (const Set& set : sets) {
      uint64_t mask = ParseHex(status[set.status_key]);
      if (!IsExecRole(truth)) {
        EXPECT_EQ(mask, ParseHex(truth.Get(set.self_key))) << set.self_key;
      }
      EXPECT_EQ(StringArray(set.names), CapabilityNames(mask)) << set.self_key;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Namespaces and cgroups.

TEST_F(SnapshotStructures, NamespaceInodes) {
  GET_WORLD_OR_FAIL(w);
  const char* kTypes[] = {"pid", "mnt", "net", "user", "uts", "ipc", "cgroup", "time"};
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& ps = w->Doc(truth.pid())["pidscope"];
    ASSERT_FALSE(ps.is_null());
    const std::string role = Suffix(name);
    if (role == "zleader") continue;  // ExitedLeaderKeepsItsProgram
    for (const char* type : kTypes) {
      const uint64_t self = truth.GetU64(std::string("ns.") + type);
      ASSERT_NE(self, 0u) << type;
      const auto on_disk = NsInode(truth.pid(), type);
      if (role == "zombie") {
        // An exited process has left most of its namespaces (the kernel still shows its PID
        // and user namespaces): what is gone is absent, and is not an unreadable part.
        if (on_disk) {
          EXPECT_EQ(ps["namespaces"].value(type, uint64_t{0}), self) << type;
        } else {
          EXPECT_FALSE(ps["namespaces"].contains(type)) << type;
        }
        continue;
      }
      EXPECT_EQ(ps["namespaces"].value(type, uint64_t{0}), self) << type;
      EXPECT_EQ(on_disk, self) << type;
    }
    EXPECT_EQ(ps["pidns"].value("inode", uint64_t{0}), truth.GetU64("ns.pid"));
  }
  // Construction: the unshare'd namespaces differ from the level below, the user one does not.
  const RoleTruth& l0 = w->Role("L0.root");
  const RoleTruth& unshare = w->Role("L0.unshare");
  const RoleTruth& l1 = w->Role("L1.root");
  const RoleTruth& l2 = w->Role("L2.root");
  for (const char* type : {"mnt", "net", "uts", "ipc", "cgroup"}) {
    const std::string key = std::string("ns.") + type;
    EXPECT_NE(unshare.Get(key), l0.Get(key)) << type;
    EXPECT_EQ(l1.Get(key), unshare.Get(key)) << type;
    EXPECT_EQ(l2.Get(key), l1.Get(key)) << type;
  }
  for (const char* type : {"pid", "time"}) {  // these apply to the children of unshare()
    const std::string key = std::string("ns.") + type;
    EXPECT_EQ(unshare.Get(key), l0.Get(key)) << type;
    EXPECT_NE(l1.Get(key), l0.Get(key)) << type;
  }
  EXPECT_NE(l2.Get("ns.pid"), l1.Get("ns.pid"));
  EXPECT_EQ(l2.Get("ns.user"), l0.Get("ns.user"));
}

std::vector<std::string> CgroupLines(int32_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  std::vector<std::string> out;
  std::istringstream in(text.value_or(""));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

TEST_F(SnapshotStructures, EveryCgroupLine) {
  GET_WORLD_OR_FAIL(w);
  ASSERT_FALSE(w->cgroups.empty()) << "no cgroup hierarchy to move the namespace into";
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    // An exited leader's own file shows the v1 roots; pidscope reads a live thread's instead
    // (checked by ExitedLeaderKeepsItsProgram).
    if (Suffix(name) == "zleader") continue;
    const json& ps = w->Doc(truth.pid())["pidscope"];
    ASSERT_TRUE(ps.contains("cgroups"));
    std::vector<std::string> lines;
    std::map<uint32_t, std::string> path_by_id;
    for (const auto& cg : ps["cgroups"]) {
      lines.push_back(std::to_string(cg["hierarchy_id"].get<uint32_t>()) + ":" +
                      cg["controllers"].get<std::string>() + ":" + cg["path"].get<std::string>());
      path_by_id[cg["hierarchy_id"].get<uint32_t>()] = cg["path"].get<std::string>();
    }
    EXPECT_EQ(lines, CgroupLines(truth.pid()));
    // Construction: L0.unshare joined the test's directories before it made the level-1
    // namespace, so everything below it is there too; the rest stayed where the test is.
    const bool joined = truth.level >= 1 || name == "L0.unshare";
    for (const auto& cg : w->cgroups) {
      // A task that exited is moved to the root of every v1 hierarchy (its /proc file, which
      // pidscope matched above, says "/"); v2 keeps it where it was.
      const std::string role = Suffix(name);
      if (cg.hierarchy_id != 0 && (role == "zombie" || role == "zleader")) continue;
      std::string base = cg.test_path == "/" ? "" : cg.test_path;
      std::string dir_name = cg.dir.substr(cg.dir.rfind('/') + 1);
      EXPECT_EQ(path_by_id[cg.hierarchy_id], joined ? base + "/" + dir_name : cg.test_path)
          << cg.controllers;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Signals.

TEST_F(SnapshotStructures, SignalMasksAndNames) {
  GET_WORLD_OR_FAIL(w);
  for (int level = 0; level < kLevels; ++level) {
    const RoleTruth& truth = w->Role("L" + std::to_string(level) + ".signals");
    const uint64_t blocked = ParseHex(truth.Get("sig_blk"));
    const uint64_t ignored = ParseHex(truth.Get("sig_ign"));
    const uint64_t caught = ParseHex(truth.Get("sig_cgt"));
    auto bit = [](int sig) { return uint64_t{1} << (sig - 1); };
    EXPECT_EQ(blocked & (bit(SIGUSR1) | bit(SIGRTMIN + 2)), bit(SIGUSR1) | bit(SIGRTMIN + 2));
    EXPECT_EQ(ignored & (bit(SIGUSR2) | bit(SIGPIPE)), bit(SIGUSR2) | bit(SIGPIPE));
    const uint64_t want = bit(SIGTERM) | bit(SIGHUP) | bit(64) | bit(32);
    EXPECT_EQ(caught & want, want);
  }
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& ps = w->Doc(truth.pid())["pidscope"];
    ASSERT_TRUE(ps.contains("signals"));
    auto status = ReadStatus(truth.pid());
    struct Set {
      const char* json_key;
      const char* self_key;
      const char* status_key;
    };
    for (const Set& set : {Set{"blocked", "sig_blk", "SigBlk"}, Set{"ignored", "sig_ign", "SigIgn"},
                           Set{"caught", "sig_cgt", "SigCgt"}}) {
      SCOPED_TRACE(set.json_key);
      const json& sig = ps["signals"][set.json_key];
      const uint64_t mask = ParseHex(status[set.status_key]);
      // Exec resets caught signals to the default; the self report predates the exec.
      if (!IsExecRole(truth) && Suffix(name) != "zombie") {
        EXPECT_EQ(mask, ParseHex(truth.Get(set.self_key)));
      }
      EXPECT_EQ(sig["mask"].get<std::string>(), status[set.status_key]);
      std::vector<std::string> names = StringArray(sig["names"]);
      ASSERT_EQ(names.size(), static_cast<size_t>(std::popcount(mask)));
      size_t i = 0;
      for (int signo = 1; signo <= 64; ++signo) {
        if (!(mask & (uint64_t{1} << (signo - 1)))) continue;
        const std::string& got = names[i++];
        if (signo < 32) {
          EXPECT_EQ(got, kSignalNames[signo]);
        } else if (signo >= SIGRTMIN) {
          EXPECT_TRUE(got.starts_with("SIGRT")) << got;
        }
      }
    }
  }
}

// Signals 32 and 33 are the kernel's first real-time signals; glibc keeps them for itself
// (thread cancellation, setxid) and its SIGRTMIN is 34, so every multi-threaded glibc program
// catches 33. Whatever they are called, the name must be a name: not negative, not shared.
TEST_F(SnapshotStructures, SignalsBelowGlibcRealtimeMinimumHaveNames) {
  GET_WORLD_OR_FAIL(w);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    const json& ps = w->Doc(truth.pid())["pidscope"];
    for (const char* set : {"blocked", "ignored", "caught"}) {
      const json& sig = ps["signals"][set];
      const uint64_t mask = ParseHex(sig["mask"].get<std::string>());
      std::vector<std::string> names = StringArray(sig["names"]);
      ASSERT_EQ(names.size(), static_cast<size_t>(std::popcount(mask)));
      std::set<std::string> unique(names.begin(), names.end());
      EXPECT_EQ(unique.size(), names.size()) << set << ": two signals share a name";
      size_t i = 0;
      for (int signo = 1; signo <= 64; ++signo) {
        if (!(mask & (uint64_t{1} << (signo - 1)))) continue;
        const std::string& got = names[i++];
        if (signo < 32 || signo >= SIGRTMIN) continue;
        EXPECT_TRUE(got.starts_with("SIG") && got.size() > 3) << got;
        EXPECT_EQ(got.find('-'), std::string::npos) << set << ": signal " << signo << " is " << got;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// pidscope tree.

std::map<int32_t, const TreeLine*> LinesByPid(const std::vector<TreeGroup>& groups) {
  std::map<int32_t, const TreeLine*> out;
  for (const auto& group : groups) {
    for (const auto& line : group.lines) out[line.pid] = &line;
  }
  return out;
}

TEST_F(SnapshotStructures, TreeByPidnsMarksInitsZombiesAndNamespacePids) {
  GET_WORLD_OR_FAIL(w);
  std::vector<std::string> bad;
  auto groups = ParseTree(w->tree_pidns, &bad);
  EXPECT_TRUE(bad.empty()) << "unparsable line: " << bad.front();
  auto lines = LinesByPid(groups);
  for (const auto& [name, truth] : w->structure->roles()) {
    SCOPED_TRACE(name);
    auto it = lines.find(truth.pid());
    ASSERT_NE(it, lines.end()) << "missing from the tree";
    const TreeLine& line = *it->second;
    EXPECT_EQ(line.ppid, w->Doc(truth.pid())["process"]["parent"]["pid"].get<int32_t>());
    EXPECT_EQ(line.pgid, truth.ns_pgid.front());
    EXPECT_EQ(line.sid, truth.ns_sid.front());
    EXPECT_EQ(line.nspid, JoinPids(truth.ns_pid));
    const std::string role = Suffix(name);
    const bool init = name == "L1.root" || name == "L2.root";
    const std::string marker = "[pidns-init L" + std::to_string(truth.level) + "]";
    EXPECT_EQ(line.command.starts_with(marker), init) << line.raw;
    if (!init) {
      EXPECT_EQ(line.command.find("[pidns-init"), std::string::npos) << line.raw;
    }
    EXPECT_EQ(line.command.ends_with(" <defunct>"), role == "zombie") << line.raw;
    if (truth.self.contains("tty")) {
      EXPECT_EQ(line.tty, truth.Get("tty"));
    }
  }
}

// Members of each of our PID namespaces, as the tree groups them, against the truth: every
// process whose NSpid says it lives there, zombies included.
void ExpectNamespaceGroups(const World& w, bool zombies) {
  std::vector<std::string> bad;
  auto groups = ParseTree(w.tree_pidns, &bad);
  for (int level = 1; level < kLevels; ++level) {
    const RoleTruth& init = w.Role("L" + std::to_string(level) + ".root");
    SCOPED_TRACE(init.name);
    const std::string inode = init.Get("ns.pid");
    const TreeGroup* group = nullptr;
    for (const auto& g : groups) {
      if (g.header.starts_with("== pidns " + inode + " ")) group = &g;
    }
    ASSERT_NE(group, nullptr) << "no group for pidns " << inode;
    EXPECT_NE(group->header.find("level " + std::to_string(level) + " init " +
                                 std::to_string(init.pid()) + " "),
              std::string::npos)
        << group->header;
    std::set<int32_t> expected, got;
    for (const auto& [name, truth] : w.structure->roles()) {
      const bool zombie = Suffix(name) == "zombie";
      if (truth.level == level && zombie == zombies) expected.insert(truth.pid());
    }
    for (const auto& line : group->lines) {
      const bool zombie = line.state == 'Z' && line.command.ends_with("<defunct>");
      if (zombie == zombies) got.insert(line.pid);
    }
    EXPECT_EQ(got, expected);
    if (zombies) {
      size_t total = 0;
      for (const auto& [name, truth] : w.structure->roles()) total += truth.level == level;
      EXPECT_NE(group->header.find("(" + std::to_string(total) + " processes)"), std::string::npos)
          << group->header;
    }
  }
}

TEST_F(SnapshotStructures, TreeByPidnsGroupsEachNamespace) {
  GET_WORLD_OR_FAIL(w);
  ExpectNamespaceGroups(*w, /*zombies=*/false);
}

TEST_F(SnapshotStructures, TreeByPidnsKeepsZombiesInTheirNamespace) {
  GET_WORLD_OR_FAIL(w);
  ExpectNamespaceGroups(*w, /*zombies=*/true);
}

TEST_F(SnapshotStructures, TreeBySessionGroupsEachSession) {
  GET_WORLD_OR_FAIL(w);
  std::vector<std::string> bad;
  auto groups = ParseTree(w->tree_session, &bad);
  EXPECT_TRUE(bad.empty()) << "unparsable line: " << bad.front();
  std::map<int32_t, std::set<int32_t>> expected;  // host sid -> members
  for (const auto& [name, truth] : w->structure->roles()) {
    expected[truth.ns_sid.front()].insert(truth.pid());
  }
  for (const auto& [sid, members] : expected) {
    SCOPED_TRACE("session " + std::to_string(sid));
    const TreeGroup* group = nullptr;
    for (const auto& g : groups) {
      if (g.header.starts_with("== session " + std::to_string(sid) + " ")) group = &g;
    }
    ASSERT_NE(group, nullptr);
    std::set<int32_t> got;
    for (const auto& line : group->lines) got.insert(line.pid);
    EXPECT_EQ(got, members);
    EXPECT_NE(group->header.find("(" + std::to_string(members.size()) + " processes)"),
              std::string::npos)
        << group->header;
  }
  for (int level = 0; level < kLevels; ++level) {
    const std::string prefix = "L" + std::to_string(level) + ".";
    const RoleTruth& pty = w->Role(prefix + "pty");
    for (const auto& g : groups) {
      if (!g.header.starts_with("== session " + std::to_string(pty.pid()) + " ")) continue;
      EXPECT_NE(g.header.find(" tty " + pty.Get("tty") + " "), std::string::npos) << g.header;
    }
    // The hostile comm is shown escaped: the header stays one line.
    const RoleTruth& comm = w->Role(prefix + "comm");
    for (const auto& g : groups) {
      if (!g.header.starts_with("== session " + std::to_string(comm.pid()) + " ")) continue;
      EXPECT_NE(g.header.find("leader a) b\\nc "), std::string::npos) << g.header;
    }
  }
}

TEST_F(SnapshotStructures, TreeShowsHostileBytesEscaped) {
  GET_WORLD_OR_FAIL(w);
  for (const std::string* text : {&w->tree_pidns, &w->tree_session}) {
    for (unsigned char c : *text) {
      EXPECT_TRUE(c == '\n' || c >= 0x20) << "raw control byte " << static_cast<int>(c);
      if (c != '\n' && c < 0x20) break;
    }
    std::vector<std::string> bad;
    const auto groups = ParseTree(*text, &bad);
    const auto lines = LinesByPid(groups);
    for (int level = 0; level < kLevels; ++level) {
      const std::string prefix = "L" + std::to_string(level) + ".";
      const TreeLine& argv = *lines.at(w->Role(prefix + "argv").pid());
      EXPECT_NE(argv.command.find("$0 line one\\nline two"), std::string::npos) << argv.raw;
      EXPECT_NE(argv.command.find("\\xff\\xfe not UTF-8"), std::string::npos) << argv.raw;
      EXPECT_NE(argv.command.find("caf\xc3\xa9 \xe2\x9c\x93"), std::string::npos) << argv.raw;
      EXPECT_TRUE(argv.command.ends_with("...")) << "a long command line is cut for display";
      const TreeLine& zombie = *lines.at(w->Role(prefix + "zombie").pid());
      EXPECT_EQ(zombie.command, "[zomb\\xffie] <defunct>");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The helpers the tests above stand on.

TEST(SubprocessSupport, RunCapturesOutputAndExitStatus) {
  RunResult run =
      pidscope::testing::Run({"sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3"});
  EXPECT_TRUE(run.started);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.out, "out\n");
  EXPECT_EQ(run.err, "err\n");
  EXPECT_FALSE(pidscope::testing::Run({"/nonexistent/program"}).started);
}

TEST(SubprocessSupport, RunKillsACommandThatOutlivesItsTimeout) {
  const auto start = std::chrono::steady_clock::now();
  RunOptions options;
  options.timeout = milliseconds(200);
  RunResult run = pidscope::testing::Run({"sleep", "60"}, options);
  EXPECT_TRUE(run.timed_out);
  EXPECT_FALSE(run.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A tree whose members left the child's process group and session, and one that ignores
// SIGTERM: Kill() leaves none of them, and no zombie, behind.
TEST(SubprocessSupport, ScopedChildLeavesNothingBehind) {
  ScopedChild::Options capture;
  capture.capture_stdout = true;
  ScopedChild child = ScopedChild::Fork(
      []() -> int {
        for (int i = 0; i < 3; ++i) {
          if (fork() == 0) {
            if (i == 0) setsid();
            if (i == 1) setpgid(0, 0);
            signal(SIGTERM, SIG_IGN);
            if (fork() == 0) _exit(0);  // a zombie nobody reaps
            while (true) pause();
          }
        }
        std::printf("ready\n");
        std::fflush(stdout);
        while (true) pause();
      },
      capture);
  ASSERT_EQ(child.ReadLine(milliseconds(10'000)), "ready");
  std::vector<pid_t> tree;
  ASSERT_TRUE(WaitUntil(
      [&] {
        tree = Descendants(child.pid());
        return tree.size() == 6;
      },
      milliseconds(10'000)));
  std::map<pid_t, uint64_t> ticks;
  for (pid_t pid : tree) ticks[pid] = StartTicks(pid).value_or(0);
  const pid_t root = child.pid();
  const uint64_t root_ticks = StartTicks(root).value_or(0);
  child.Kill();
  EXPECT_FALSE(child.running());
  EXPECT_NE(StartTicks(root), root_ticks);
  for (const auto& [pid, start] : ticks) EXPECT_NE(StartTicks(pid), start) << "pid " << pid;
}

}  // namespace
}  // namespace pidscope::testing
