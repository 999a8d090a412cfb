// `pidscope snapshot` against the tools everyone trusts: ps(1) and lsns(8), on a busy machine.
//
// For every process alive through both reads (the same PID with the same start time before the
// first ps and after the second), pid, ppid, pgid, sid, tty, stat and comm from pidscope equal
// `ps -eo pid,ppid,pgid,sid,tty,stat,comm`, and namespace inodes equal `lsns` and stat(2) of
// /proc/<pid>/ns/*. All of them: one disagreement fails the test.
//
// ps and lsns run before and after pidscope. A process that changed between the two reads
// (it was reparented, changed its name, ...) may legitimately show either value: pidscope must
// equal one of them. A value both reads agree on, pidscope must equal.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstring>
#include <iostream>
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

constexpr int kHostSleepers = 200;
constexpr int kNamespaceSleepers = 100;
constexpr const char* kNsTypes[] = {"pid", "mnt", "net", "user", "uts", "ipc", "cgroup", "time"};

// ---------------------------------------------------------------------------------------------
// Reading the machine.

// A row of `ps -eo pid,ppid,pgid,sid,tty,stat,comm`.
struct PsRow {
  int32_t ppid = 0, pgid = 0, sid = 0;
  std::string tty, stat, comm;
  friend bool operator==(const PsRow&, const PsRow&) = default;
};

// Runs ps in the C locale with columns wide enough never to overflow, so COMMAND starts at the
// same offset on every line (a comm may contain spaces). In the C locale ps shows a control
// byte of a comm as '.' and any byte >= 0x80 as '?'.
std::map<int32_t, PsRow> RunPs(std::string* error) {
  RunResult run = Run({"ps", "-eo", "pid:12,ppid:12,pgid:12,sid:12,tty:12,stat:12,comm"},
                      {.env = {"LC_ALL=C", "PATH=/usr/bin:/bin"}});
  std::map<int32_t, PsRow> rows;
  if (!run.ok()) {
    *error = "ps: " + run.Describe();
    return rows;
  }
  std::istringstream in(run.out);
  std::string line;
  std::getline(in, line);
  const size_t comm_at = line.find("COMMAND");
  if (comm_at == std::string::npos) {
    *error = "ps header without COMMAND: " + line;
    return rows;
  }
  while (std::getline(in, line)) {
    if (line.size() < comm_at || line[comm_at - 1] != ' ') {
      *error = "ps line does not have COMMAND at column " + std::to_string(comm_at) + ": " + line;
      return rows;
    }
    std::istringstream columns(line.substr(0, comm_at));
    int32_t pid = 0;
    PsRow row;
    if (!(columns >> pid >> row.ppid >> row.pgid >> row.sid >> row.tty >> row.stat)) {
      *error = "unparsable ps line: " + line;
      return rows;
    }
    row.comm = line.substr(comm_at);
    rows[pid] = row;
  }
  return rows;
}

// (type, inode) -> the representative PID lsns names.
using LsnsEntries = std::map<std::pair<std::string, uint64_t>, int32_t>;

// lsns (util-linux 2.38) gives up, with status 1 and no message, when a process it is reading
// exits under it; on a machine where processes come and go, ask again (boundedly).
LsnsEntries RunLsns(std::string* error) {
  RunResult run;
  for (int attempt = 0; attempt < 50 && !run.ok(); ++attempt) {
    run = Run({"lsns", "--json", "-o", "NS,TYPE,PID"});
  }
  LsnsEntries entries;
  if (!run.ok()) {
    *error = "lsns failed 50 times: " + run.Describe();
    return entries;
  }
  try {
    const json parsed = json::parse(run.out);
    for (const auto& ns : parsed.at("namespaces")) {
      int32_t pid = ns["pid"].is_number() ? ns["pid"].get<int32_t>() : 0;
      entries[{ns["type"].get<std::string>(), ns["ns"].get<uint64_t>()}] = pid;
    }
  } catch (const std::exception& e) {
    *error = std::string("lsns output: ") + e.what();
  }
  return entries;
}

std::vector<int32_t> AllPids() {
  std::vector<int32_t> pids;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* entry = readdir(dir)) {
      int32_t pid = 0;
      const char* name = entry->d_name;
      auto [end, ec] = std::from_chars(name, name + std::strlen(name), pid);
      if (ec == std::errc{} && *end == '\0') pids.push_back(pid);
    }
    closedir(dir);
  }
  return pids;
}

std::map<int32_t, uint64_t> AllStartTicks() {
  std::map<int32_t, uint64_t> out;
  for (int32_t pid : AllPids()) {
    if (auto ticks = StartTicks(pid)) out[pid] = *ticks;
  }
  return out;
}

// stat(2) of every /proc/<pid>/ns/<type>: (pid, type) -> inode, absent when it fails.
std::map<std::pair<int32_t, std::string>, uint64_t> AllNsInodes() {
  std::map<std::pair<int32_t, std::string>, uint64_t> out;
  for (int32_t pid : AllPids()) {
    for (const char* type : kNsTypes) {
      struct stat st {};
      if (stat(("/proc/" + std::to_string(pid) + "/ns/" + type).c_str(), &st) == 0) {
        out[{pid, type}] = st.st_ino;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pidscope's values in ps's terms.

// Text of process.name as ps shows the comm bytes in the C locale. JSON carries text, and the
// contract turns each invalid byte into U+FFFD; ps shows such a byte as one '?'. (A comm that
// truly contains U+FFFD would read as "???" in ps: none of ours does.)
std::string AsPsComm(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (name.compare(i, 3, "\xEF\xBF\xBD") == 0) {
      out.push_back('?');
      i += 2;
    } else if (c >= 0x80) {
      out.push_back('?');
    } else if (c < 0x20 || c == 0x7f) {
      out.push_back('.');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// Workqueue workers are named by the kernel at read time after the work they run or ran last:
// "kworker/0:1+events" while busy, "kworker/0:1-events" when idle. The worker is the part before
// that suffix; the suffix describes a moment, not the process.
std::string WorkerIdentity(const std::string& comm) {
  if (!comm.starts_with("kworker/")) return comm;
  size_t cut = comm.find_first_of("+-", std::strlen("kworker/"));
  return cut == std::string::npos ? comm : comm.substr(0, cut);
}

// The foreground process group of the process's terminal, if pidscope exports it.
std::optional<int32_t> ForegroundGroup(const json& doc) {
  const json& ps = doc["pidscope"];
  if (ps.contains("tpgid") && ps["tpgid"].is_number()) return ps["tpgid"].get<int32_t>();
  return std::nullopt;
}

// ps's STAT is the state letter followed by flags (procps pr_stat()):
//   '<' nice < 0, 'N' nice > 0, 'L' pages locked in memory, 's' session leader (sid == pid),
//   'l' multi-threaded, '+' in the foreground process group of its terminal (pgid == tpgid).
// pidscope has the data for the letter, 's' and 'l' (state, session_leader.pid, threads): those
// are compared strictly. '+' needs the terminal's foreground group (tpgid), which pidscope reads
// but does not export: ForegroundFlagAgreesWithPs checks it on its own. pidscope keeps neither
// the nice value nor VmLck (nor does the issue ask for them), so '<', 'N' and 'L' are dropped.
std::string DerivableStat(const std::string& ps_stat) {
  std::string out;
  for (char c : ps_stat) {
    if (c != '<' && c != 'N' && c != 'L' && c != '+') out.push_back(c);
  }
  return out;
}

std::string StatFromPidscope(const json& doc) {
  const json& ps = doc["pidscope"];
  std::string stat = ps["state"].get<std::string>();
  if (doc["process"]["session_leader"]["pid"] == doc["process"]["pid"]) stat.push_back('s');
  if (ps["threads"].get<int>() > 1) stat.push_back('l');
  return stat;
}

PsRow RowFromPidscope(const json& doc) {
  const json& process = doc["process"];
  PsRow row;
  row.ppid = process["parent"]["pid"].get<int32_t>();
  row.pgid = process["group_leader"]["pid"].get<int32_t>();
  row.sid = process["session_leader"]["pid"].get<int32_t>();
  row.tty = process.contains("tty") ? process["tty"]["name"].get<std::string>() : "?";
  row.stat = StatFromPidscope(doc);
  row.comm = AsPsComm(process["name"].get<std::string>());
  return row;
}

// A sleeping or idle process may be running, or waiting for I/O, at the instant pidscope reads
// it even though both ps reads saw it asleep (and the other way round): R, S, D and I are moments
// of the scheduler. Stopped, traced and zombie states do not come and go between two reads.
bool SchedulerMoment(char state) {
  return state == 'R' || state == 'S' || state == 'D' || state == 'I';
}

// ---------------------------------------------------------------------------------------------
// The busy machine and the reads.

struct Reads {
  std::map<int32_t, uint64_t> ticks_before, ticks_after;
  std::map<std::pair<int32_t, std::string>, uint64_t> ns_before, ns_after;
  std::map<int32_t, PsRow> ps_before, ps_after;
  LsnsEntries lsns_before, lsns_after;
  json snapshot;
  std::map<int32_t, const json*> docs;
  std::set<int32_t> stable;  // alive, as the same process, through both reads
};

// lsns (util-linux 2.38) exits with status 1, and no message, while any process has a newline
// in its comm. So the machine is read twice: with the hostile comm "a) b\nc" for ps (which shows
// the newline as '.'), then, with that structure replaced by one whose comm is "a) b c", for lsns.
constexpr const char* kLsnsSafeComm = "a) b c";

struct Machine {
  std::string work_dir;
  std::unique_ptr<ProcessStructure> structure;
  ScopedChild host_sleepers;
  ScopedChild namespace_sleepers;
  std::set<int32_t> sleepers;  // the processes of host_sleepers and namespace_sleepers
  int32_t churn = 0;           // the loop that keeps forking: it runs, unlike the others
  std::set<int32_t> ours_ps;   // every process the test started, for the ps read
  std::set<int32_t> ours_ns;   // ... for the lsns read
  Reads ps_reads;              // with ps
  Reads ns_reads;              // with lsns and stat(2) of /proc/<pid>/ns/*
  std::string error;

  ~Machine() {
    namespace_sleepers.Kill();
    host_sleepers.Kill();
    if (structure) structure->Kill();
    if (!work_dir.empty()) Run({"rm", "-rf", "--", work_dir});
  }
};

// Forks kHostSleepers processes in new sessions, new process groups, with positive and negative
// nice values, with locked memory, mostly exec'ing sleep; prints "ready" once every exec is done.
int SpawnHostSleepers() {
  for (int i = 0; i < kHostSleepers; ++i) {
    int exec_done[2];
    if (pipe2(exec_done, O_CLOEXEC) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // kept across exec: dies with the spawner
      switch (i % 6) {
        case 0:
          setsid();
          break;
        case 1:
          setpgid(0, 0);
          break;
        case 2:
          setpriority(PRIO_PROCESS, 0, 5);
          break;
        case 3:
          setpriority(PRIO_PROCESS, 0, -5);
          break;
        case 4:
          // Locked pages do not survive exec: this one stays the test program.
          mlockall(MCL_CURRENT);
          close(exec_done[1]);
          while (true) pause();
        default:
          break;
      }
      execl("/bin/sleep", "sleep", "1000000", nullptr);
      _exit(127);
    }
    close(exec_done[1]);
    char c;
    while (read(exec_done[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(exec_done[0]);
  }
  std::puts("ready");
  std::fflush(stdout);
  while (true) pause();
}

// Reads the machine with ps (or lsns) before and after pidscope; start times around everything.
void ReadEverything(Reads* r, bool with_lsns, std::string* error) {
  r->ticks_before = AllStartTicks();
  if (with_lsns) {
    r->ns_before = AllNsInodes();
    r->lsns_before = RunLsns(error);
  } else {
    r->ps_before = RunPs(error);
  }
  if (!error->empty()) return;

  RunResult run = Run({PIDSCOPE_BINARY, "snapshot", "--format", "json"});
  if (!run.ok()) {
    *error = "pidscope snapshot: " + run.Describe();
    return;
  }
  if (with_lsns) {
    r->lsns_after = RunLsns(error);
    r->ns_after = AllNsInodes();
  } else {
    r->ps_after = RunPs(error);
  }
  if (!error->empty()) return;
  r->ticks_after = AllStartTicks();

  try {
    r->snapshot = json::parse(run.out);
  } catch (const std::exception& e) {
    *error = std::string("pidscope's JSON does not parse: ") + e.what();
    return;
  }
  for (const auto& doc : r->snapshot) r->docs[doc["process"]["pid"].get<int32_t>()] = &doc;
  for (const auto& [pid, ticks] : r->ticks_before) {
    auto after = r->ticks_after.find(pid);
    if (after == r->ticks_after.end() || after->second != ticks) continue;
    if (!with_lsns && !(r->ps_before.contains(pid) && r->ps_after.contains(pid))) continue;
    r->stable.insert(pid);
  }
}

// Every odd state: sessions with ptys, groups, zombies, stopped, traced, threads, nested PID
// namespaces, a hostile comm. Replaces the machine's structure.
bool BuildStructure(Machine* m, const std::string& comm) {
  if (m->structure) m->structure->Kill();
  m->structure.reset();
  StructureConfig config;
  config.work_dir = m->work_dir;
  config.comm = comm;
  m->structure = ProcessStructure::Build(config, &m->error);
  return m->structure != nullptr;
}

std::unique_ptr<Machine> BuildMachine() {
  auto m = std::make_unique<Machine>();
  char dir[] = "/tmp/pidscope-oracle-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    m->error = "mkdtemp failed";
    return m;
  }
  m->work_dir = dir;

  ScopedChild::Options capture;
  capture.capture_stdout = true;
  m->host_sleepers = ScopedChild::Fork(SpawnHostSleepers, capture);
  // A PID namespace made by the real tool, with sleepers and a loop that keeps forking
  // short-lived processes while everything is read.
  const std::string script = "i=0; while [ $i -lt " + std::to_string(kNamespaceSleepers) +
                             " ]; do sleep 1000000 & i=$((i+1)); done; "
                             "(while :; do /bin/true; done) & echo ready; wait";
  m->namespace_sleepers = ScopedChild::Spawn(
      {"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "/bin/sh", "-c", script},
      capture);
  for (ScopedChild* child : {&m->host_sleepers, &m->namespace_sleepers}) {
    auto line = child->ReadLine(milliseconds(60'000));
    if (line != "ready") {
      m->error = "sleepers of pid " + std::to_string(child->pid()) + " did not get ready";
      return m;
    }
    m->sleepers.insert(child->pid());
  }
  // Every sleeper has exec'd: the children of the host spawner are final; in the namespace, wait
  // until every sleeper runs sleep (the churn loop's children come and go and are not ours).
  const int32_t ns_parent = m->namespace_sleepers.pid();
  bool settled = WaitUntil(
      [&] {
        int sleeping = 0;
        for (int32_t pid : Descendants(ns_parent)) {
          auto comm = ReadFile("/proc/" + std::to_string(pid) + "/comm");
          sleeping += comm == "sleep\n";
        }
        return sleeping == kNamespaceSleepers;
      },
      milliseconds(30'000));
  if (!settled) {
    m->error = "the namespace sleepers did not all start";
    return m;
  }
  // Ours: the host spawner's children; in the namespace, unshare's child (the namespace's init,
  // a shell) and that shell's children (the sleepers and the churn loop), not the churn loop's
  // short-lived children.
  for (pid_t pid : Children(m->host_sleepers.pid())) m->sleepers.insert(pid);
  for (pid_t init : Children(ns_parent)) {
    m->sleepers.insert(init);
    for (pid_t pid : Children(init)) {
      m->sleepers.insert(pid);
      if (ReadFile("/proc/" + std::to_string(pid) + "/comm") != "sleep\n") m->churn = pid;
    }
  }

  if (!BuildStructure(m.get(), kHostileComm)) return m;
  m->ours_ps = m->sleepers;
  for (int32_t pid : m->structure->pids()) m->ours_ps.insert(pid);
  ReadEverything(&m->ps_reads, /*with_lsns=*/false, &m->error);
  if (!m->error.empty()) return m;

  if (!BuildStructure(m.get(), kLsnsSafeComm)) return m;
  m->ours_ns = m->sleepers;
  for (int32_t pid : m->structure->pids()) m->ours_ns.insert(pid);
  ReadEverything(&m->ns_reads, /*with_lsns=*/true, &m->error);
  return m;
}

class SnapshotOracle : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { machine_.reset(); }
  static const Machine* GetMachine() {
    if (!machine_) machine_ = BuildMachine();
    return machine_->error.empty() ? machine_.get() : nullptr;
  }
  static std::string MachineError() { return machine_ ? machine_->error : "no machine"; }
  static std::unique_ptr<Machine> machine_;
};

std::unique_ptr<Machine> SnapshotOracle::machine_;

#define GET_MACHINE_OR_FAIL(m)     \
  PIDSCOPE_REQUIRE_ROOT();         \
  const Machine* m = GetMachine(); \
  ASSERT_NE(m, nullptr) << "preparing the machine: " << MachineError()

std::string Describe(const PsRow& row) {
  std::ostringstream out;
  out << "ppid " << row.ppid << " pgid " << row.pgid << " sid " << row.sid << " tty " << row.tty
      << " stat " << row.stat << " comm '" << row.comm << "'";
  return out.str();
}

// ---------------------------------------------------------------------------------------------

TEST_F(SnapshotOracle, TheMachineIsBusyAndEveryProcessOfOursIsCompared) {
  GET_MACHINE_OR_FAIL(m);
  const size_t structure = ProcessStructure::FamilyRoles().size() * 3 + 4;
  for (const auto& [reads, ours] :
       {std::pair{&m->ps_reads, &m->ours_ps}, std::pair{&m->ns_reads, &m->ours_ns}}) {
    // The spawner, unshare, the namespace's shell and its churn loop, and the sleepers.
    EXPECT_EQ(ours->size(), kHostSleepers + kNamespaceSleepers + 4 + structure);
    for (int32_t pid : *ours) {
      EXPECT_TRUE(reads->stable.contains(pid)) << "pid " << pid << " changed during the reads";
    }
  }
  std::cout << m->ps_reads.stable.size() << " processes alive through both ps reads (of "
            << m->ps_reads.ps_before.size() << " and " << m->ps_reads.ps_after.size() << "), "
            << m->ns_reads.stable.size() << " through both lsns reads\n";
}

TEST_F(SnapshotOracle, EveryProcessAliveThroughBothReadsIsInTheSnapshot) {
  GET_MACHINE_OR_FAIL(m);
  for (const Reads* r : {&m->ps_reads, &m->ns_reads}) {
    for (int32_t pid : r->stable) {
      auto it = r->docs.find(pid);
      ASSERT_NE(it, r->docs.end()) << "pid " << pid << " is missing from the snapshot";
      EXPECT_EQ((*it->second)["pidscope"]["start_ticks"].get<uint64_t>(), r->ticks_before.at(pid))
          << "pid " << pid;
    }
  }
}

TEST_F(SnapshotOracle, PidPpidPgidSidTtyStatCommEqualPs) {
  GET_MACHINE_OR_FAIL(m);
  const Reads& r = m->ps_reads;
  int compared = 0, changed_between_reads = 0, scheduler_moments = 0;
  for (int32_t pid : r.stable) {
    auto it = r.docs.find(pid);
    if (it == r.docs.end()) continue;  // EveryProcessAliveThroughBothReadsIsInTheSnapshot
    const json& doc = *it->second;
    const bool kernel_thread = doc["pidscope"]["kernel_thread"].get<bool>();
    PsRow got = RowFromPidscope(doc);
    PsRow before = r.ps_before.at(pid);
    PsRow after = r.ps_after.at(pid);
    for (PsRow* row : {&before, &after}) {
      row->stat = DerivableStat(row->stat);
      if (kernel_thread) row->comm = WorkerIdentity(row->comm);
    }
    if (kernel_thread) got.comm = WorkerIdentity(got.comm);
    ++compared;
    if (before != after) ++changed_between_reads;
    const std::string context = "pid " + std::to_string(pid) + "\n  pidscope " + Describe(got) +
                                "\n  ps before " + Describe(before) + "\n  ps after  " +
                                Describe(after);
    auto one_of = [](const auto& v, const auto& a, const auto& b) { return v == a || v == b; };
    EXPECT_TRUE(one_of(got.ppid, before.ppid, after.ppid)) << context;
    EXPECT_TRUE(one_of(got.pgid, before.pgid, after.pgid)) << context;
    EXPECT_TRUE(one_of(got.sid, before.sid, after.sid)) << context;
    EXPECT_TRUE(one_of(got.tty, before.tty, after.tty)) << context;
    EXPECT_TRUE(one_of(got.comm, before.comm, after.comm)) << context;
    if (!one_of(got.stat, before.stat, after.stat)) {
      // Only the state letter may differ, and only between scheduler moments.
      const bool moment = SchedulerMoment(got.stat[0]) && SchedulerMoment(before.stat[0]) &&
                          SchedulerMoment(after.stat[0]) &&
                          (got.stat.substr(1) == before.stat.substr(1) ||
                           got.stat.substr(1) == after.stat.substr(1));
      EXPECT_TRUE(moment) << context;
      scheduler_moments += moment;
      // Our processes (but the churn loop) never run: their state is exact.
      EXPECT_FALSE(m->ours_ps.contains(pid) && pid != m->churn) << context;
    }
  }
  EXPECT_GE(compared, static_cast<int>(m->ours_ps.size()));
  std::cout << compared << " processes compared; " << changed_between_reads
            << " changed between the two ps reads; " << scheduler_moments
            << " caught by pidscope in another scheduler state\n";
}

TEST_F(SnapshotOracle, ForegroundFlagAgreesWithPs) {
  GET_MACHINE_OR_FAIL(m);
  const Reads& r = m->ps_reads;
  int foreground = 0;
  for (int32_t pid : r.stable) {
    auto it = r.docs.find(pid);
    if (it == r.docs.end()) continue;
    const json& doc = *it->second;
    const bool before = r.ps_before.at(pid).stat.find('+') != std::string::npos;
    const bool after = r.ps_after.at(pid).stat.find('+') != std::string::npos;
    foreground += before && after;
    auto tpgid = ForegroundGroup(doc);
    ASSERT_TRUE(tpgid.has_value())
        << "pidscope does not export the terminal's foreground process group (stat field 8, "
           "tpgid): ps's '+' flag cannot be derived from its snapshot, e.g. pid "
        << pid << " has STAT " << r.ps_before.at(pid).stat;
    const bool got = *tpgid == doc["process"]["group_leader"]["pid"].get<int32_t>();
    EXPECT_TRUE(got == before || got == after) << "pid " << pid;
  }
  EXPECT_GE(foreground, 6) << "the structure has two foreground processes per level";
}

TEST_F(SnapshotOracle, NamespaceInodesEqualLsnsAndProc) {
  GET_MACHINE_OR_FAIL(m);
  const Reads& r = m->ns_reads;
  // Every namespace both lsns reads list, with a representative alive through both reads, is
  // that process's namespace in pidscope.
  std::set<std::pair<std::string, uint64_t>> from_lsns;
  for (const auto& [key, pid] : r.lsns_before) {
    auto after = r.lsns_after.find(key);
    if (after == r.lsns_after.end() || after->second != pid || !r.stable.contains(pid)) continue;
    auto it = r.docs.find(pid);
    if (it == r.docs.end()) continue;
    from_lsns.insert(key);
    EXPECT_EQ((*it->second)["pidscope"]["namespaces"].value(key.first, uint64_t{0}), key.second)
        << key.first << " namespace of pid " << pid << " (lsns)";
  }
  // That covers the namespaces of every process we started (the host's, the structure's
  // levels 1 and 2, unshare(1)'s).
  for (int32_t pid : m->ours_ns) {
    auto it = r.docs.find(pid);
    if (it == r.docs.end()) continue;
    for (const auto& [type, inode] : (*it->second)["pidscope"]["namespaces"].items()) {
      EXPECT_TRUE(from_lsns.contains({type, inode.get<uint64_t>()}))
          << type << ":[" << inode << "] of pid " << pid << " was not compared with lsns";
    }
  }

  // Every process's inodes equal stat(2) of its /proc/<pid>/ns/* (absent where that fails),
  // and every namespace pidscope reports is one lsns lists.
  std::set<std::pair<std::string, uint64_t>> from_pidscope;
  for (int32_t pid : r.stable) {
    auto it = r.docs.find(pid);
    if (it == r.docs.end()) continue;
    const json& namespaces = (*it->second)["pidscope"]["namespaces"];
    // An exited leader whose threads live on: its own links are gone, pidscope reads them
    // through a live thread (SnapshotStructures.ExitedLeaderKeepsItsProgram checks that).
    const json& ps = (*it->second)["pidscope"];
    if (ps["state"] == "Z" && ps["threads"].get<int>() > 1) continue;
    for (const char* type : kNsTypes) {
      auto before = r.ns_before.find({pid, type});
      auto after = r.ns_after.find({pid, type});
      const bool in_before = before != r.ns_before.end();
      const bool in_after = after != r.ns_after.end();
      if (in_before != in_after || (in_before && before->second != after->second)) continue;
      if (in_before) {
        EXPECT_EQ(namespaces.value(type, uint64_t{0}), before->second)
            << type << " namespace of pid " << pid;
      } else if (std::string_view(type) == "pid" && ps["ns_pid"].size() == 1) {
        // An unreadable pid link of a process at the top level is inferred: it can only be the
        // root PID namespace of this /proc, the one pidscope itself runs in here.
        struct stat own {};
        ASSERT_EQ(stat("/proc/self/ns/pid", &own), 0);
        EXPECT_EQ(namespaces.value(type, uint64_t{0}), own.st_ino) << "pid namespace of " << pid;
      } else {
        EXPECT_FALSE(namespaces.contains(type)) << type << " namespace of pid " << pid;
      }
      if (namespaces.contains(type)) {
        from_pidscope.insert({type, namespaces[type].get<uint64_t>()});
      }
    }
  }
  for (const auto& key : from_lsns) {
    EXPECT_TRUE(from_pidscope.contains(key)) << key.first << ":[" << key.second << "]";
  }
  for (const auto& key : from_pidscope) {
    EXPECT_TRUE(r.lsns_before.contains(key) || r.lsns_after.contains(key))
        << key.first << ":[" << key.second << "] is not known to lsns";
  }
}

}  // namespace
}  // namespace pidscope::testing
