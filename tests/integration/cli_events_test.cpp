// `pidscope events` and `pidscope run` as an operator runs them: the binary is started as a
// subprocess, the test's own children do things, and what comes out is parsed with a JSON parser
// that is not pidscope's own (nlohmann::json, strict about UTF-8): every stdout line an ECS event,
// every stderr line a JSON log record. Only the events about the test's processes are checked
// in detail; the machine keeps running meanwhile.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pidscope/unique_fd.hpp"
#include "support/privilege.hpp"
#include "support/subprocess.hpp"

namespace pidscope {
namespace {

using std::chrono::milliseconds;
using testing::ScopedChild;
using Json = nlohmann::json;
using namespace std::string_literals;

constexpr milliseconds kStartTimeout{30'000};
constexpr milliseconds kEventTimeout{20'000};
constexpr milliseconds kStopTimeout{15'000};

// The comm a hostile process gives itself: a quote and a newline.
constexpr const char* kHostileName = "a\"b\nc";

// The value at a JSON pointer ("/process/parent/pid"), null when absent: operator[] on a const
// document is undefined for a missing key.
Json At(const Json& doc, const std::string& pointer) {
  const Json::json_pointer path(pointer);
  return doc.contains(path) ? doc.at(path) : Json();
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

// Child side: blocks for one byte (or end of file).
void Await(int fd) {
  char byte;
  while (::read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

void PutPid(int fd, char tag, pid_t pid) {
  struct {
    char tag;
    pid_t pid;
  } note{tag, pid};
  while (::write(fd, &note, sizeof note) < 0 && errno == EINTR) {
  }
}

// Test side: the PIDs the children reported, by tag, within the timeout.
std::map<char, pid_t> ReadPids(int fd, const std::string& tags, milliseconds timeout) {
  std::map<char, pid_t> pids;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pids.size() < tags.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) != 1) continue;
    struct {
      char tag;
      pid_t pid;
    } note{};
    if (::read(fd, &note, sizeof note) == sizeof note) pids[note.tag] = note.pid;
  }
  return pids;
}

ScopedChild::Options Plain() {
  ScopedChild::Options options;
  options.new_process_group = false;  // no setpgid events of its own
  return options;
}

// The complete lines of a small file (a last line without its newline is still being written).
std::vector<std::string> CompleteLines(const std::string& path) {
  std::vector<std::string> lines;
  const std::string text = testing::ReadFile(path).value_or("");
  size_t start = 0;
  for (size_t eol; (eol = text.find('\n', start)) != std::string::npos; start = eol + 1) {
    lines.push_back(text.substr(start, eol - start));
  }
  return lines;
}

// Every line parsed; a line that is not valid JSON fails the test and is left out.
std::vector<Json> ParseLines(const std::vector<std::string>& lines, const char* what) {
  std::vector<Json> docs;
  for (const std::string& line : lines) {
    try {
      docs.push_back(Json::parse(line));
    } catch (const Json::exception& e) {
      ADD_FAILURE() << what << " line is not valid JSON (" << e.what() << "): " << line;
    }
  }
  return docs;
}

// Reads a growing file line by line: each complete line once.
class LineReader {
 public:
  explicit LineReader(std::string path) : path_(std::move(path)) {}

  void ReadNew(const std::function<void(std::string_view)>& fn) {
    if (!fd_) fd_.reset(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) return;
    char buf[1 << 16];
    for (ssize_t n; (n = ::read(fd_.get(), buf, sizeof buf)) > 0;) {
      pending_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t eol; (eol = pending_.find('\n', start)) != std::string::npos; start = eol + 1) {
        fn(std::string_view(pending_).substr(start, eol - start));
      }
      pending_.erase(0, start);
    }
  }
  // Bytes after the last newline.
  const std::string& pending() const { return pending_; }

 private:
  std::string path_;
  UniqueFd fd_;
  std::string pending_;
};

// The events about the test's own process tree (followed through fork events), from a JSON-lines
// file that also holds the rest of the machine's events: those are skipped unparsed while the
// test waits (a busy machine writes tens of MB a second), and ValidateAll() parses every line.
class TreeEvents {
 public:
  explicit TreeEvents(std::string path) : path_(path), reader_(std::move(path)) { Add(getpid()); }

  void Update() {
    reader_.ReadNew([this](std::string_view line) {
      if (!Mentions(line)) return;
      Json doc;
      try {
        doc = Json::parse(line);
      } catch (const Json::exception&) {
        return;  // ValidateAll() reports it
      }
      const Json& process = doc["process"];
      const int32_t pid = process.value("pid", -1);
      if (doc["event"]["action"] == "fork" && process.contains("parent") &&
          tree_.contains(process["parent"].value("pid", -1))) {
        Add(pid);
      }
      if (tree_.contains(pid)) docs_.push_back(std::move(doc));
    });
  }
  bool WaitFor(const std::function<bool()>& done, milliseconds timeout) {
    return testing::WaitUntil(
        [&] {
          Update();
          return done();
        },
        timeout);
  }
  std::vector<Json> About(pid_t pid) const {
    std::vector<Json> out;
    for (const Json& d : docs_) {
      if (At(d, "/process/pid") == pid) out.push_back(d);
    }
    return out;
  }
  const std::vector<Json>& docs() const { return docs_; }

  // Parses every line of the file (once the writer is done): each must be valid JSON, with
  // nothing after the last newline. Returns the number of lines.
  size_t ValidateAll() const {
    LineReader all(path_);
    size_t lines = 0, invalid = 0;
    all.ReadNew([&](std::string_view line) {
      ++lines;
      try {
        const Json doc = Json::parse(line);
        if (!doc.is_object() || !doc.contains("event")) ++invalid;
      } catch (const Json::exception& e) {
        if (++invalid <= 5) {
          ADD_FAILURE() << "line " << lines << " is not valid JSON (" << e.what()
                        << "): " << line.substr(0, 2000);
        }
      }
    });
    EXPECT_EQ(invalid, 0u) << "of " << lines << " lines";
    EXPECT_EQ(all.pending(), "") << "an unfinished last line";
    return lines;
  }

 private:
  void Add(pid_t pid) {
    if (!tree_.insert(pid).second) return;
    needles_.push_back("\"pid\":" + std::to_string(pid) + ",");
    needles_.push_back("\"pid\":" + std::to_string(pid) + "}");
  }
  bool Mentions(std::string_view line) const {
    for (const std::string& needle : needles_) {
      if (line.find(needle) != std::string_view::npos) return true;
    }
    return false;
  }

  std::string path_;
  LineReader reader_;
  std::set<int32_t> tree_;
  std::vector<std::string> needles_;
  std::vector<Json> docs_;
};

// pidscope running with its standard output and error in files.
class Pidscope {
 public:
  Pidscope(const std::string& dir, const std::vector<std::string>& args)
      : out_path_(dir + "/stdout"), err_path_(dir + "/stderr") {
    std::vector<std::string> argv = {PIDSCOPE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = out_path_, err = err_path_;
    child_ = ScopedChild::Fork([argv, out, err] {
      const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out_fd < 0 || err_fd < 0) return 126;
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      std::vector<char*> c_argv;
      for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
      c_argv.push_back(nullptr);
      execv(c_argv[0], c_argv.data());
      return 127;
    });
  }

  pid_t pid() const { return child_.pid(); }
  const std::string& stdout_path() const { return out_path_; }
  std::vector<std::string> StderrLines() const { return CompleteLines(err_path_); }
  std::string Stderr() const { return testing::ReadFile(err_path_).value_or(""); }

  // Waits until a log line contains `text`.
  bool WaitForLog(const std::string& text, milliseconds timeout) {
    return testing::WaitUntil(
               [&] { return Stderr().find(text) != std::string::npos || !Running(); }, timeout) &&
           Stderr().find(text) != std::string::npos;
  }
  // Sends `signal` and waits for the exit; the wait status, or nullopt.
  std::optional<int> Stop(int signal) {
    kill(child_.pid(), signal);
    return child_.Wait(kStopTimeout);
  }

 private:
  bool Running() {
    siginfo_t info{};
    return !(waitid(P_PID, child_.pid(), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
             info.si_pid == child_.pid());
  }

  std::string out_path_;
  std::string err_path_;
  ScopedChild child_;
};

std::vector<std::string> Actions(const std::vector<Json>& docs) {
  std::vector<std::string> out;
  for (const Json& d : docs) out.push_back(At(d, "/event/action").get<std::string>());
  return out;
}

std::string Joined(const std::vector<std::string>& actions) {
  std::string out;
  for (const auto& a : actions) out += (out.empty() ? "" : " ") + a;
  return out;
}

const Json* First(const std::vector<Json>& docs, const std::string& action) {
  for (const Json& d : docs) {
    if (At(d, "/event/action") == action) return &d;
  }
  return nullptr;
}

size_t IndexOf(const std::vector<Json>& docs, const std::string& action) {
  for (size_t i = 0; i < docs.size(); ++i) {
    if (At(docs[i], "/event/action") == action) return i;
  }
  return docs.size();
}

// Checks the stderr log: JSON records, the source line, capabilities dropped after attaching.
void ExpectCleanLog(const Pidscope& pidscope, const std::string& source_line) {
  const std::vector<Json> log = ParseLines(pidscope.StderrLines(), "stderr");
  ASSERT_FALSE(log.empty());
  bool saw_source = false, saw_caps = false, saw_stop = false;
  for (const Json& record : log) {
    EXPECT_TRUE(record.contains("ts") && record.contains("level") && record.contains("msg"))
        << record.dump();
    const std::string msg = record.value("msg", "");
    EXPECT_NE(record.value("level", ""), "error") << msg;
    if (msg.find(source_line) != std::string::npos) saw_source = true;
    if (msg.rfind("capabilities now: ", 0) == 0) {
      saw_caps = true;
      // Attaching needed CAP_BPF, CAP_PERFMON or CAP_NET_ADMIN (and root has all the rest):
      // reading /proc needs only these two.
      EXPECT_EQ(msg, "capabilities now: CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE");
    }
    if (msg.rfind("stopped source=", 0) == 0) saw_stop = true;
  }
  EXPECT_TRUE(saw_source) << "no log line with '" << source_line << "': " << pidscope.Stderr();
  EXPECT_TRUE(saw_caps) << pidscope.Stderr();
  EXPECT_TRUE(saw_stop) << "the final statistics line: " << pidscope.Stderr();
}

class CliEventsTest : public ::testing::Test {
 protected:
  void SetUp() override { PIDSCOPE_REQUIRE_ROOT(); }
};

// ---------------------------------------------------------------------------------------------

TEST_F(CliEventsTest, BpfEventsAreEcsDocumentsForEveryKindOfChange) {
  pidscope::testing::TempDir dir("pidscope-cli-");
  // A link named like the hostile comm: exec'ing it gives the process that name.
  const std::string hostile_link = dir.path() + "/" + kHostileName;
  ASSERT_EQ(symlink("/usr/bin/true", hostile_link.c_str()), 0);

  Pidscope pidscope(dir.path(), {"events", "--source", "bpf", "--log-format", "json"});
  ASSERT_TRUE(pidscope.WaitForLog("capabilities now:", kStartTimeout)) << pidscope.Stderr();

  Pipe notes, hold;
  const int notes_fd = notes.write.get();
  const int hold_fd = hold.read.get();
  // S, a sub-reaper, runs the scenario one step after the other and reports each PID.
  ScopedChild s = ScopedChild::Fork(
      [=] {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 1;
        // fork, exec, exit 3.
        const pid_t e = fork();
        if (e == 0) {
          const char* argv[] = {"dash", "-c", "exit 3", "cli-marker", nullptr};
          execv("/usr/bin/dash", const_cast<char**>(argv));
          _exit(127);
        }
        PutPid(notes_fd, 'e', e);
        waitpid(e, nullptr, 0);
        // A zombie for a while, then reaped.
        const pid_t z = fork();
        if (z == 0) _exit(0);
        PutPid(notes_fd, 'z', z);
        std::this_thread::sleep_for(milliseconds(300));
        waitpid(z, nullptr, 0);
        // A session leader.
        const pid_t l = fork();
        if (l == 0) {
          setsid();
          _exit(0);
        }
        PutPid(notes_fd, 'l', l);
        waitpid(l, nullptr, 0);
        // An orphan: B forks C and exits; C comes to S.
        const pid_t b = fork();
        if (b == 0) {
          const pid_t c = fork();
          if (c == 0) {
            Await(hold_fd);
            _exit(0);
          }
          PutPid(notes_fd, 'c', c);
          _exit(0);
        }
        PutPid(notes_fd, 'b', b);
        waitpid(b, nullptr, 0);
        // Hostile names: a comm with a quote and a newline, argv that is not UTF-8.
        const pid_t h = fork();
        if (h == 0) {
          prctl(PR_SET_NAME, kHostileName);
          std::this_thread::sleep_for(milliseconds(50));
          const char* argv[] = {kHostileName, "ok", "bad\xff\xfe", "x\xc3", nullptr};
          execv(hostile_link.c_str(), const_cast<char**>(argv));
          _exit(127);
        }
        PutPid(notes_fd, 'h', h);
        waitpid(h, nullptr, 0);
        Await(hold_fd);
        return 0;
      },
      Plain());
  const auto pids = ReadPids(notes.read.get(), "ezlbch", kEventTimeout);
  ASSERT_EQ(pids.size(), 6u);
  const pid_t e = pids.at('e'), z = pids.at('z'), l = pids.at('l'), b = pids.at('b'),
              c = pids.at('c'), h = pids.at('h');

  TreeEvents events(pidscope.stdout_path());
  const bool seen = events.WaitFor(
      [&] {
        return First(events.About(h), "exit") != nullptr &&
               First(events.About(c), "reparent") != nullptr &&
               First(events.About(z), "reap") != nullptr;
      },
      kEventTimeout);
  std::this_thread::sleep_for(milliseconds(300));  // the last reaps, an RCU grace period later
  const auto status = pidscope.Stop(SIGINT);
  ASSERT_TRUE(status.has_value()) << "pidscope did not stop on SIGINT";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  events.Update();
  EXPECT_GT(events.ValidateAll(), 0u);
  ASSERT_TRUE(seen) << "h: " << Joined(Actions(events.About(h)))
                    << "; c: " << Joined(Actions(events.About(c)))
                    << "; z: " << Joined(Actions(events.About(z)));

  // A reap may be missing on the VM this was written on: see live_model_test.cpp, ExpectGone.
  auto lifecycle = [](const std::vector<std::string>& actions,
                      const std::vector<std::string>& expected) {
    std::vector<std::string> without_reap = actions;
    if (!without_reap.empty() && without_reap.back() == "reap") without_reap.pop_back();
    return without_reap == expected;
  };
  const std::vector<Json>& docs = events.docs();
  for (const Json& d : docs) {
    ASSERT_TRUE(d.contains("@timestamp") && d.contains("event") && d.contains("process") &&
                d.contains("host"))
        << d.dump();
    EXPECT_EQ(At(d, "/event/kind"), "event");
    EXPECT_EQ(At(d, "/event/category"), Json::array({"process"}));
    EXPECT_EQ(At(d, "/event/dataset"), "pidscope.process");
    EXPECT_EQ(At(d, "/pidscope/event/source"),
              At(d, "/event/action") == "reparent" ? "model" : "bpf");
  }

  {
    SCOPED_TRACE("fork, exec, exit 3");
    const auto about = events.About(e);
    EXPECT_TRUE(lifecycle(Actions(about), {"fork", "exec", "exit"})) << Joined(Actions(about));
    const Json* fork = First(about, "fork");
    ASSERT_NE(fork, nullptr);
    EXPECT_EQ(At(*fork, "/process/parent/pid"), s.pid());
    EXPECT_EQ(At(*fork, "/event/type"), Json::array({"start"}));
    const Json* exec = First(about, "exec");
    ASSERT_NE(exec, nullptr);
    EXPECT_EQ(At(*exec, "/process/executable"), "/usr/bin/dash");
    EXPECT_EQ(At(*exec, "/process/args"), Json::array({"dash", "-c", "exit 3", "cli-marker"}));
    EXPECT_EQ(At(*exec, "/process/args_count"), 4);
    EXPECT_EQ(At(*exec, "/process/name"), "dash");
    EXPECT_EQ(At(*exec, "/process/parent/pid"), s.pid());
    const Json* exit = First(about, "exit");
    ASSERT_NE(exit, nullptr);
    EXPECT_EQ(At(*exit, "/pidscope/event/exit_code"), 3);
    EXPECT_EQ(At(*exit, "/pidscope/event/exit_signal"), 0);
    EXPECT_EQ(At(*exit, "/process/exit_code"), 3);
    EXPECT_TRUE(At(*exit, "/pidscope/zombie").get<bool>());
    EXPECT_EQ(At(*exit, "/event/type"), Json::array({"end"}));
  }
  {
    SCOPED_TRACE("zombie, then reaped");
    const auto about = events.About(z);
    EXPECT_EQ(Actions(about), (std::vector<std::string>{"fork", "exit", "reap"}))
        << Joined(Actions(about));
    const Json* exit = First(about, "exit");
    const Json* reap = First(about, "reap");
    ASSERT_TRUE(exit && reap);
    EXPECT_EQ(At(*exit, "/pidscope/event/exit_code"), 0);
    // RFC 3339 times of one format compare as strings: the reap came after the wait.
    EXPECT_LT(At(*exit, "/@timestamp").get<std::string>(),
              At(*reap, "/@timestamp").get<std::string>());
  }
  {
    SCOPED_TRACE("setsid");
    const auto about = events.About(l);
    const Json* setsid = First(about, "setsid");
    ASSERT_NE(setsid, nullptr) << Joined(Actions(about));
    EXPECT_EQ(At(*setsid, "/process/session_leader/pid"), l);
    EXPECT_EQ(At(*setsid, "/process/group_leader/pid"), l);
    EXPECT_LT(IndexOf(about, "fork"), IndexOf(about, "setsid"));
  }
  {
    SCOPED_TRACE("reparent");
    const auto about = events.About(c);
    const Json* reparent = First(about, "reparent");
    ASSERT_NE(reparent, nullptr) << Joined(Actions(about));
    EXPECT_EQ(At(*reparent, "/pidscope/event/old_ppid"), b);
    EXPECT_EQ(At(*reparent, "/pidscope/event/new_ppid"), s.pid());
    EXPECT_EQ(At(*reparent, "/pidscope/event/reaper_kind"), "subreaper");
    EXPECT_EQ(At(*reparent, "/process/parent/pid"), s.pid());
    EXPECT_TRUE(At(*reparent, "/pidscope/orphan").get<bool>());
    EXPECT_EQ(At(*reparent, "/pidscope/reaper_kind"), "subreaper");
    EXPECT_EQ(At(*reparent, "/pidscope/original_ppid"), b);
    const auto about_b = events.About(b);
    const Json* exit_b = First(about_b, "exit");
    ASSERT_NE(exit_b, nullptr);
    EXPECT_EQ(At(*reparent, "/@timestamp"), At(*exit_b, "/@timestamp")) << "derived from B's exit";
  }
  {
    SCOPED_TRACE("hostile names");
    const auto about = events.About(h);
    EXPECT_TRUE(lifecycle(Actions(about), {"fork", "comm", "exec", "exit"}))
        << Joined(Actions(about));
    const Json* rename = First(about, "comm");
    ASSERT_NE(rename, nullptr) << Joined(Actions(about));
    EXPECT_EQ(At(*rename, "/process/name"), kHostileName);
    const Json* exec = First(about, "exec");
    ASSERT_NE(exec, nullptr) << Joined(Actions(about));
    EXPECT_EQ(At(*exec, "/process/name"), kHostileName) << "the basename of the link";
    // Invalid UTF-8 becomes U+FFFD, byte by byte; the rest is kept.
    EXPECT_EQ(At(*exec, "/process/args"),
              Json::array({kHostileName, "ok", "bad\xEF\xBF\xBD\xEF\xBF\xBD", "x\xEF\xBF\xBD"}));
    const Json* exit = First(about, "exit");
    ASSERT_NE(exit, nullptr);
    EXPECT_EQ(At(*exit, "/pidscope/event/exit_code"), 0);
  }
  ExpectCleanLog(pidscope, "source bpf: requested with --source bpf");
}

TEST_F(CliEventsTest, AutoChoosesBpfAndActionFilterKeepsOnlyExecs) {
  pidscope::testing::TempDir dir("pidscope-cli-");
  Pidscope pidscope(dir.path(), {"events", "--source", "auto", "--action", "exec"});
  ASSERT_TRUE(pidscope.WaitForLog("capabilities now:", kStartTimeout)) << pidscope.Stderr();
  ScopedChild child = ScopedChild::Spawn({"/usr/bin/true", "filtered-marker"}, Plain());
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  // Only execs are written: the child's exec is found by its argv, not through its fork.
  LineReader reader(pidscope.stdout_path());
  std::vector<Json> execs;
  size_t lines = 0;
  auto read = [&] {
    reader.ReadNew([&](std::string_view line) {
      ++lines;
      if (line.find("filtered-marker") != std::string_view::npos)
        execs.push_back(Json::parse(line));
    });
  };
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        read();
        return !execs.empty();
      },
      kEventTimeout));
  // Whatever else the child did (fork, exit, reap) must stay out.
  std::this_thread::sleep_for(milliseconds(500));
  const auto status = pidscope.Stop(SIGINT);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  read();

  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(At(execs[0], "/event/action"), "exec");
  EXPECT_EQ(At(execs[0], "/process/pid"), child.pid());
  EXPECT_EQ(At(execs[0], "/process/args"), Json::array({"/usr/bin/true", "filtered-marker"}));
  // Every line of the output is an exec.
  LineReader all(pidscope.stdout_path());
  size_t others = 0;
  all.ReadNew([&](std::string_view line) {
    const Json doc = Json::parse(line);
    if (At(doc, "/event/action") != "exec" && ++others <= 3) ADD_FAILURE() << doc.dump();
  });
  EXPECT_EQ(others, 0u) << "of " << lines << " lines";
  ExpectCleanLog(pidscope, "source bpf: auto chose bpf");
}

TEST_F(CliEventsTest, RunReloadsTheActionFilterOnSighup) {
  pidscope::testing::TempDir dir("pidscope-cli-");
  const std::string config = dir.path() + "/pidscope.conf";
  const std::string events = dir.path() + "/events.jsonl";
  std::ofstream(config) << "# every event\nsource = bpf\n";
  Pidscope pidscope(dir.path(), {"run", "--events", events, "--config", config});
  ASSERT_TRUE(pidscope.WaitForLog("capabilities now:", kStartTimeout)) << pidscope.Stderr();
  TreeEvents written(events);

  ScopedChild before = ScopedChild::Spawn({"/usr/bin/true", "before-reload"}, Plain());
  ASSERT_TRUE(before.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(written.WaitFor([&] { return First(written.About(before.pid()), "exit") != nullptr; },
                              kEventTimeout))
      << Joined(Actions(written.About(before.pid())));
  // Its reap too (an RCU grace period later), unless it never comes (see live_model_test.cpp).
  written.WaitFor([&] { return First(written.About(before.pid()), "reap") != nullptr; },
                  milliseconds(2'000));

  std::ofstream(config, std::ios::trunc) << "source = bpf\naction = exec\n";
  ASSERT_EQ(kill(pidscope.pid(), SIGHUP), 0);
  ASSERT_TRUE(pidscope.WaitForLog("reloaded " + config, kEventTimeout)) << pidscope.Stderr();

  // After the reload no fork is written: the child is found by its argv.
  ScopedChild after = ScopedChild::Spawn({"/usr/bin/true", "after-reload"}, Plain());
  ASSERT_TRUE(after.Wait(kEventTimeout).has_value());
  LineReader reader(events);
  bool reloaded = false;
  std::vector<std::string> after_actions;
  size_t later_lines = 0, later_non_exec = 0;
  auto read = [&] {
    reader.ReadNew([&](std::string_view line) {
      const bool mentions =
          line.find("after-reload") != std::string_view::npos ||
          line.find("\"pid\":" + std::to_string(after.pid()) + ",") != std::string_view::npos;
      if (!reloaded && !mentions) return;
      const Json doc = Json::parse(line);
      if (At(doc, "/process/pid") == after.pid()) {
        reloaded = true;
        after_actions.push_back(At(doc, "/event/action").get<std::string>());
      }
      if (!reloaded) return;
      // From the first event about `after` on (written after the reload), only execs.
      ++later_lines;
      if (At(doc, "/event/action") != "exec" && ++later_non_exec <= 3) ADD_FAILURE() << doc.dump();
    });
  };
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        read();
        return !after_actions.empty();
      },
      kEventTimeout));
  std::this_thread::sleep_for(milliseconds(500));  // its exit and reap would come by now
  const auto status = pidscope.Stop(SIGTERM);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  read();
  written.Update();
  written.ValidateAll();

  const auto before_actions = Actions(written.About(before.pid()));
  EXPECT_TRUE(before_actions == (std::vector<std::string>{"fork", "exec", "exit", "reap"}) ||
              before_actions == (std::vector<std::string>{"fork", "exec", "exit"}))
      << Joined(before_actions);
  EXPECT_EQ(after_actions, (std::vector<std::string>{"exec"}));
  EXPECT_EQ(later_non_exec, 0u) << "of " << later_lines << " lines after the reload";
  EXPECT_EQ(testing::ReadFile(pidscope.stdout_path()).value_or("?"), "")
      << "run writes events to --events only";

  ExpectCleanLog(pidscope, "source bpf: requested with --source bpf");
}

class CliEventsBySource : public CliEventsTest,
                          public ::testing::WithParamInterface<std::string> {};

TEST_P(CliEventsBySource, EventsStreamFromThisSourceToo) {
  const std::string source = GetParam();
  pidscope::testing::TempDir dir("pidscope-cli-");
  Pidscope pidscope(dir.path(), {"events", "--source", source});
  ASSERT_TRUE(pidscope.WaitForLog("capabilities now:", kStartTimeout)) << pidscope.Stderr();
  // Long enough for procfs polling (one scan a second) to see it running and as a zombie.
  ScopedChild child = ScopedChild::Spawn({"/usr/bin/sleep", "1.5"}, Plain());
  const pid_t pid = child.pid();
  siginfo_t info{};
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
      },
      kEventTimeout));
  TreeEvents events(pidscope.stdout_path());
  ASSERT_TRUE(
      events.WaitFor([&] { return First(events.About(pid), "exit") != nullptr; }, kEventTimeout))
      << Joined(Actions(events.About(pid)));
  ASSERT_TRUE(child.Wait(kEventTimeout).has_value());
  ASSERT_TRUE(
      events.WaitFor([&] { return First(events.About(pid), "reap") != nullptr; }, kEventTimeout))
      << Joined(Actions(events.About(pid)));
  const auto status = pidscope.Stop(SIGINT);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  events.Update();
  events.ValidateAll();

  const auto about = events.About(pid);
  EXPECT_EQ(Actions(about), (std::vector<std::string>{"fork", "exec", "exit", "reap"}))
      << Joined(Actions(about));
  const Json* exec = First(about, "exec");
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(At(*exec, "/process/executable"), "/usr/bin/sleep");
  EXPECT_EQ(At(*exec, "/process/args"), Json::array({"/usr/bin/sleep", "1.5"}));
  EXPECT_EQ(At(*exec, "/process/parent/pid"), getpid());
  EXPECT_EQ(At(*exec, "/pidscope/event/source"), source);
  const Json* exit = First(about, "exit");
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(At(*exit, "/pidscope/event/exit_code"), 0);
  ExpectCleanLog(pidscope, "source " + source + ": requested with --source " + source);
}

INSTANTIATE_TEST_SUITE_P(Sources, CliEventsBySource, ::testing::Values("netlink", "procfs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pidscope
