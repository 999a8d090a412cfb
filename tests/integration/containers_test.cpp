// Containers on a real kernel: cgroups with the exact names a Kubernetes node, Docker, Podman or
// systemd-nspawn would make, in the v1 hierarchies of this host (pids, memory, name=systemd) and
// in a cgroup2 hierarchy the test mounts itself; real processes in new PID namespaces moved into
// them; the resolved identity checked in `pidscope snapshot`, `tree --by container` and
// `containers`. Then the reaping health of container inits (`sleep`, which never reaps, against
// tini, dumb-init and catatonit), and a prctl sub-reaper inside a container seen by the live
// model (`pidscope events --source bpf`).
//
// Every expectation comes from construction (the names the test chose) or from the kernel (stat
// of /proc/<pid>/ns/*, /proc/<pid>/stat), never from pidscope's code. Everything the test makes
// (processes, cgroup directories, the mount, temporary files) is undone by destructors, also when
// an assertion fails.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pidscope/unique_fd.hpp"
#include "support/privilege.hpp"
#include "support/subprocess.hpp"

namespace pidscope::testing {
namespace {

using nlohmann::json;

constexpr milliseconds kSettle{10'000};  // for processes to fork, exec, die, be reaped

// ---------------------------------------------------------------------------------------------
// Small helpers.

std::string RandomHex(size_t length) {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

// A random version-4 UUID, lowercase, with dashes (as the API server prints a pod's UID).
std::string RandomUuid() {
  std::string hex = RandomHex(32);
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) out.push_back(item);
  return out;
}

uint64_t InodeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

uint64_t NsInode(pid_t pid, const char* type) {
  return InodeOf("/proc/" + std::to_string(pid) + "/ns/" + type);
}

std::string Comm(pid_t pid) {
  std::string comm = ReadFile("/proc/" + std::to_string(pid) + "/comm").value_or("");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

std::string Cmdline(pid_t pid) {
  return ReadFile("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
}

// State (field 3) and parent (field 4) from /proc/<pid>/stat; {'?', 0} when gone.
std::pair<char, pid_t> StateAndParent(pid_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return {'?', 0};
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 4 >= text->size()) return {'?', 0};
  std::istringstream in(text->substr(close + 2));
  char state = '?';
  pid_t ppid = 0;
  in >> state >> ppid;
  return {state, ppid};
}

bool WriteText(const std::string& path, const std::string& text, std::string* error) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    *error = "write '" + text + "' to " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::optional<json> RunJson(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {PIDSCOPE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult run = Run(argv);
  if (!run.ok()) {
    *error = "pidscope " + args.front() + ": " + run.Describe();
    return std::nullopt;
  }
  try {
    return json::parse(run.out);
  } catch (const std::exception& e) {
    *error = "pidscope " + args.front() + " printed JSON that does not parse: " + e.what();
    return std::nullopt;
  }
}

// A JSON value at a dotted path ("pidscope.init.pid"), or null.
const json& At(const json& doc, const std::string& dotted) {
  static const json kNull;
  const json* at = &doc;
  for (const std::string& key : Split(dotted, '.')) {
    if (!at->is_object() || !at->contains(key)) return kNull;
    at = &(*at)[key];
  }
  return *at;
}

// The `pidscope containers` entry of the container with this id (its PID namespace is merged
// into it), or null.
const json* FindGroup(const json& groups, const std::string& id) {
  for (const json& g : groups) {
    if (At(g, "container.id") == id) return &g;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Cgroup hierarchies.

// A cgroup2 hierarchy mounted by the test. On a hybrid host the kernel has one cgroup2
// hierarchy: this mount shows the same one as /sys/fs/cgroup/unified, so directories made here
// appear in every process's "0::" line all the same.
class Cgroup2Mount {
 public:
  Cgroup2Mount() {
    char dir[] = "/tmp/pidscope-cgroup2-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      error_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    dir_ = dir;
    if (mount("none", dir_.c_str(), "cgroup2", 0, nullptr) != 0) {
      error_ = "mount -t cgroup2 none " + dir_ + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~Cgroup2Mount() {
    if (mounted_ && umount2(dir_.c_str(), 0) != 0) {
      std::fprintf(stderr, "umount %s: %s; detaching\n", dir_.c_str(), std::strerror(errno));
      umount2(dir_.c_str(), MNT_DETACH);
    }
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  Cgroup2Mount(const Cgroup2Mount&) = delete;
  Cgroup2Mount& operator=(const Cgroup2Mount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
  std::string error_;
  bool mounted_ = false;
};

struct Hierarchy {
  std::string name;  // "pids", "memory", "name=systemd", "cgroup2"
  std::string root;  // where it is mounted
};

// The v1 hierarchies a container runtime places containers in (and that IdentifyCgroups reads
// first), as mounted on this host with their root at "/".
std::vector<Hierarchy> V1Hierarchies() {
  std::vector<Hierarchy> out;
  std::istringstream in(ReadFile("/proc/self/mountinfo").value_or(""));
  std::string line;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    std::vector<std::string> f = Split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4 || f[3] != "/") continue;
    if (*(dash + 1) != "cgroup") continue;
    for (const std::string& option : Split(*(dash + 3), ',')) {
      if ((option == "pids" || option == "memory" || option == "name=systemd") &&
          seen.insert(option).second) {
        out.push_back({option, f[4]});
      }
    }
  }
  return out;
}

bool HasSubdirectory(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return false;
  while (dirent* entry = readdir(d.get())) {
    std::string name = entry->d_name;
    if (entry->d_type == DT_DIR && name != "." && name != "..") return true;
  }
  return false;
}

// A cgroup path (e.g. "/kubepods.slice/.../cri-containerd-<id>.scope") made in several
// hierarchies. The destructor removes, leaf first, the directories it created (directories that
// existed before, or that another test fills meanwhile, stay).
class CgroupDirs {
 public:
  CgroupDirs(const std::vector<Hierarchy>& hierarchies, const std::string& path) {
    for (const Hierarchy& h : hierarchies) {
      std::string dir = h.root;
      for (const std::string& component : Split(path, '/')) {
        if (component.empty()) continue;
        dir += "/" + component;
        if (mkdir(dir.c_str(), 0755) == 0) {
          created_.push_back(dir);
        } else if (errno != EEXIST) {
          error_ += "mkdir " + dir + ": " + std::strerror(errno) + "; ";
          return;
        }
      }
      leaves_.push_back(dir);
    }
  }
  ~CgroupDirs() {
    // Normally the processes are gone by now; if a failure left some behind, they are the
    // test's own (the leaves are named with random ids): kill them so the cgroup can go.
    for (const std::string& leaf : leaves_) {
      for (const std::string& pid : Split(ReadFile(leaf + "/cgroup.procs").value_or(""), '\n')) {
        if (!pid.empty()) kill(std::stoi(pid), SIGKILL);
      }
    }
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      const std::string& dir = *it;
      // A cgroup goes once its last process has left (asynchronously) and it has no child
      // cgroup (EBUSY either way). A parent that holds another test's cgroup stays.
      bool gone = WaitUntil(
          [&] {
            if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
            int saved = errno;
            bool shared = HasSubdirectory(dir);
            errno = saved;
            return shared;
          },
          milliseconds(5000));
      if (!gone) std::fprintf(stderr, "rmdir %s: %s\n", dir.c_str(), std::strerror(errno));
    }
  }
  CgroupDirs(const CgroupDirs&) = delete;
  CgroupDirs& operator=(const CgroupDirs&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Moves `pid` (only that process) into the path in every hierarchy.
  bool Move(pid_t pid, std::string* error) const {
    for (const std::string& leaf : leaves_) {
      if (!WriteText(leaf + "/cgroup.procs", std::to_string(pid), error)) return false;
    }
    return true;
  }

 private:
  std::vector<std::string> created_;
  std::vector<std::string> leaves_;
  std::string error_;
};

// The hierarchies of a test: the v1 ones of the host and a cgroup2 the test mounts.
struct Hierarchies {
  Cgroup2Mount cgroup2;
  std::vector<Hierarchy> v1 = V1Hierarchies();

  std::vector<Hierarchy> All() const {
    std::vector<Hierarchy> all = v1;
    all.push_back({"cgroup2", cgroup2.path()});
    return all;
  }
};

// ---------------------------------------------------------------------------------------------
// Containers: a process in a new PID namespace (the container's init) under an outer process
// that stays outside the container, as a runtime's shim does. The test moves the init into the
// cgroups while it waits, before it runs `init_body` (and forks anything), so the whole
// container is inside from its first child on.

class Container {
 public:
  // Starts the container; on failure says why in `error` and kills what was started.
  static std::unique_ptr<Container> Start(const CgroupDirs& cgroups,
                                          const std::function<int()>& init_body,
                                          std::string* error) {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) {
      *error = std::string("pipe: ") + std::strerror(errno);
      return nullptr;
    }
    UniqueFd go_read(go[0]);
    UniqueFd go_write(go[1]);
    auto container = std::make_unique<Container>();
    container->shim_ = ScopedChild::Fork([&]() -> int {
      go_write.reset();
      if (unshare(CLONE_NEWPID) != 0) return 10;
      pid_t init = fork();
      if (init < 0) return 11;
      if (init == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        char byte = 0;
        ssize_t n;
        do {
          n = read(go_read.get(), &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) _exit(12);  // the test gave up
        go_read.reset();
        _exit(init_body());
      }
      int status = 0;
      while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    });
    go_read.reset();
    pid_t shim = container->shim_.pid();
    if (!WaitUntil([&] { return Children(shim).size() == 1; }, kSettle)) {
      *error = "the container's init did not appear";
      return nullptr;
    }
    container->init_ = Children(shim).front();
    if (NsInode(container->init_, "pid") == NsInode(getpid(), "pid")) {
      *error = "the init is not in a new PID namespace";
      return nullptr;
    }
    if (!cgroups.Move(container->init_, error)) return nullptr;
    if (write(go_write.get(), "g", 1) != 1) {
      *error = std::string("cannot release the init: ") + std::strerror(errno);
      return nullptr;
    }
    return container;
  }

  pid_t shim() const { return shim_.pid(); }
  pid_t init() const { return init_; }
  // The init and everything below it.
  std::vector<pid_t> Members() const {
    std::vector<pid_t> members = Descendants(init_);
    members.insert(members.begin(), init_);
    return members;
  }

 private:
  ScopedChild shim_;
  pid_t init_ = 0;
};

// argv for execvp, built in the (single-threaded) forked process that uses it.
[[noreturn]] void Exec(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const std::string& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  execvp(pointers[0], pointers.data());
  std::fprintf(stderr, "exec %s: %s\n", pointers[0], std::strerror(errno));
  _exit(127);
}

// ---------------------------------------------------------------------------------------------
// a. Identity: realistic cgroup names, v1 and v2, every member of the container.

struct Layout {
  std::string name;     // test name suffix
  std::string pattern;  // cgroup path: {id} the 64-hex id, {pod_} / {pod-} the pod UID
  std::string runtime;  // expected container.runtime
  std::string id;       // expected container.id; empty: the 64-hex id
  bool kubernetes = false;
  std::string qos;       // expected pidscope.container.qos_class
  bool v1_only = false;  // the unified line stays at the test's own cgroup (cgroupfs runtimes)
};

void PrintTo(const Layout& layout, std::ostream* os) { *os << layout.name; }

std::vector<Layout> Layouts() {
  return {
      {"systemd_burstable_containerd",
       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/"
       "cri-containerd-{id}.scope",
       "containerd", "", true, "burstable"},
      {"systemd_besteffort_crio",
       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_}.slice/"
       "crio-{id}.scope",
       "cri-o", "", true, "besteffort"},
      {"systemd_guaranteed_containerd",
       "/kubepods.slice/kubepods-pod{pod_}.slice/cri-containerd-{id}.scope", "containerd", "", true,
       "guaranteed"},
      {"cgroupfs_burstable", "/kubepods/burstable/pod{pod-}/{id}", "unknown", "", true,
       "burstable"},
      {"cgroupfs_guaranteed", "/kubepods/pod{pod-}/{id}", "unknown", "", true, "guaranteed"},
      {"docker_systemd", "/system.slice/docker-{id}.scope", "docker", "", false, ""},
      {"docker_cgroupfs", "/docker/{id}", "docker", "", false, ""},
      {"docker_cgroupfs_v1_only", "/docker/{id}", "docker", "", false, "", true},
      {"podman", "/machine.slice/libpod-{id}.scope", "podman", "", false, ""},
      {"nspawn", "/machine.slice/machine-my\\x2dbox.scope", "systemd-nspawn", "my-box", false, ""},
  };
}

class ContainersIdentityTest : public ::testing::TestWithParam<Layout> {};

TEST_P(ContainersIdentityTest, EveryMemberResolvesToTheContainer) {
  PIDSCOPE_REQUIRE_ROOT();
  const Layout& layout = GetParam();
  const std::string hex = RandomHex(64);
  const std::string pod_uid = RandomUuid();
  const std::string path =
      Replace(Replace(Replace(layout.pattern, "{id}", hex), "{pod_}", Replace(pod_uid, "-", "_")),
              "{pod-}", pod_uid);
  const std::string id = layout.id.empty() ? hex : layout.id;
  const std::string label = layout.runtime + ":" + (id.size() == 64 ? id.substr(0, 12) : id);

  Hierarchies hierarchies;
  ASSERT_TRUE(hierarchies.cgroup2.ok()) << hierarchies.cgroup2.error();
  std::vector<Hierarchy> where = layout.v1_only ? hierarchies.v1 : hierarchies.All();
  if (layout.v1_only && where.empty()) GTEST_SKIP() << "no cgroup v1 hierarchy on this host";
  CgroupDirs cgroups(where, path);
  ASSERT_TRUE(cgroups.ok()) << cgroups.error();

  // The init forks two children, one of which forks a grandchild; all of them, the init
  // included, then run sleep.
  std::string error;
  auto container = Container::Start(
      cgroups,
      []() -> int {
        if (fork() == 0) Exec({"sleep", "120"});
        if (fork() == 0) {
          if (fork() == 0) Exec({"sleep", "120"});
          Exec({"sleep", "120"});
        }
        Exec({"sleep", "120"});
      },
      &error);
  ASSERT_NE(container, nullptr) << error;
  const pid_t init = container->init();
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto members = container->Members();
        return members.size() == 4 && std::all_of(members.begin(), members.end(),
                                                  [](pid_t p) { return Comm(p) == "sleep"; });
      },
      kSettle))
      << "the container's processes did not start";
  const std::vector<pid_t> members = container->Members();

  // The construction itself: every member is in the path in every hierarchy it was made in.
  for (pid_t pid : members) {
    std::string cgroup = ReadFile("/proc/" + std::to_string(pid) + "/cgroup").value_or("");
    for (const Hierarchy& h : where) {
      std::string expected = h.name == "cgroup2" ? "0::" + path + "\n" : ":" + path + "\n";
      EXPECT_NE(cgroup.find(expected), std::string::npos) << pid << " " << h.name << "\n" << cgroup;
    }
  }
  const uint64_t container_pidns = NsInode(init, "pid");
  const uint64_t host_pidns = NsInode(getpid(), "pid");
  const uint64_t host_userns = NsInode(getpid(), "user");

  // snapshot: container.*, orchestrator.*, pidscope.container.* for every member.
  auto snapshot = RunJson({"snapshot", "--format", "json"}, &error);
  ASSERT_TRUE(snapshot.has_value()) << error;
  std::map<pid_t, const json*> docs;
  for (const json& doc : *snapshot) docs[At(doc, "process.pid").get<pid_t>()] = &doc;
  for (pid_t pid : members) {
    SCOPED_TRACE("member " + std::to_string(pid) + (pid == init ? " (init)" : ""));
    ASSERT_TRUE(docs.contains(pid));
    const json& doc = *docs[pid];
    EXPECT_EQ(At(doc, "container.id"), id);
    EXPECT_EQ(At(doc, "container.runtime"), layout.runtime);
    EXPECT_EQ(At(doc, "pidscope.container.role"), "container");
    EXPECT_EQ(At(doc, "pidscope.container.nesting_depth"), 0);
    EXPECT_EQ(At(doc, "pidscope.container.cgroup_path"), path);
    if (layout.kubernetes) {
      EXPECT_EQ(At(doc, "orchestrator.type"), "kubernetes");
      EXPECT_EQ(At(doc, "orchestrator.resource.type"), "pod");
      EXPECT_EQ(At(doc, "orchestrator.resource.id"), pod_uid);
      EXPECT_EQ(At(doc, "pidscope.container.qos_class"), layout.qos);
      EXPECT_EQ(At(doc, "pidscope.container.pod_uid"), pod_uid);
    } else {
      EXPECT_FALSE(doc.contains("orchestrator"));
      EXPECT_TRUE(At(doc, "pidscope.container.qos_class").is_null());
    }
    EXPECT_EQ(At(doc, "pidscope.pidns.level"), 1);
    EXPECT_EQ(At(doc, "pidscope.pidns.inode"), container_pidns);
    EXPECT_EQ(At(doc, "pidscope.container_init"), pid == init);
  }
  // The shim outside is not in the container.
  ASSERT_TRUE(docs.contains(container->shim()));
  EXPECT_NE(At(*docs[container->shim()], "container.id"), id);

  // tree --by container: the container's header, its whole tree, the marker on its init only.
  RunResult tree = pidscope::testing::Run({PIDSCOPE_BINARY, "tree", "--by", "container"});
  ASSERT_TRUE(tree.ok()) << tree.Describe();
  std::string header = "== container " + layout.runtime + " " + id;
  if (layout.kubernetes) header += " pod " + pod_uid + " qos " + layout.qos;
  header += " (4 processes)";
  std::vector<std::string> lines = Split(tree.out, '\n');
  auto start = std::find(lines.begin(), lines.end(), header);
  ASSERT_NE(start, lines.end()) << "no line '" << header << "' in\n" << tree.out;
  auto end = std::find_if(start + 1, lines.end(),
                          [](const std::string& l) { return l.starts_with("== "); });
  std::map<pid_t, std::string> section;  // pid -> line
  for (auto it = start + 1; it != end; ++it) {
    std::istringstream fields(*it);
    std::string user;
    pid_t pid = 0;
    if (fields >> user >> pid) section[pid] = *it;
  }
  EXPECT_EQ(section.size(), 4u) << tree.out;
  int markers = 0;
  for (pid_t pid : members) {
    ASSERT_TRUE(section.contains(pid)) << pid << " not under " << header << "\n" << tree.out;
    if (section[pid].find("{" + label + "}") != std::string::npos) ++markers;
  }
  EXPECT_NE(section[init].find("{" + label + "} [pidns-init L1] sleep 120"), std::string::npos)
      << section[init];
  EXPECT_EQ(markers, 1) << tree.out;
  EXPECT_FALSE(section.contains(container->shim()));

  // containers: one entry for the container, with its PID namespace's place in the tree.
  auto groups = RunJson({"containers", "--format", "json", "--observe", "0"}, &error);
  ASSERT_TRUE(groups.has_value()) << error;
  const json* group = FindGroup(*groups, id);
  ASSERT_NE(group, nullptr) << groups->dump(1);
  const json& g = *group;
  EXPECT_EQ(At(g, "pidscope.kind"), "container");
  EXPECT_EQ(At(g, "container.runtime"), layout.runtime);
  if (layout.kubernetes) {
    EXPECT_EQ(At(g, "orchestrator.resource.id"), pod_uid);
    EXPECT_EQ(At(g, "pidscope.container.qos_class"), layout.qos);
  } else {
    EXPECT_FALSE(g.contains("orchestrator"));
  }
  EXPECT_EQ(At(g, "pidscope.container.cgroup_path"), path);
  EXPECT_EQ(At(g, "pidscope.pidns.inode"), container_pidns);
  EXPECT_EQ(At(g, "pidscope.pidns.level"), 1);
  EXPECT_EQ(At(g, "pidscope.pidns.parent"), host_pidns);
  EXPECT_EQ(At(g, "pidscope.pidns.owner_user_ns"), host_userns);
  EXPECT_EQ(At(g, "pidscope.init.pid"), init);
  EXPECT_EQ(At(g, "pidscope.init.name"), "sleep");
  EXPECT_EQ(At(g, "pidscope.processes"), 4);
  EXPECT_EQ(At(g, "pidscope.zombies"), 0);
  // Its PID namespace is not listed a second time.
  for (const json& other : *groups) {
    if (&other == group) continue;
    EXPECT_NE(At(other, "pidscope.pidns.inode"), container_pidns) << other.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ContainersIdentityTest, ::testing::ValuesIn(Layouts()),
                         [](const ::testing::TestParamInfo<Layout>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// b. Reaping: orphans that die under an init that never reaps stay zombies ("failing"); real
// container inits reap them ("ok").

struct InitCase {
  std::string name;
  std::vector<std::string> argv;  // runs the workload below as its child
  std::string known_reaper;       // expected pidscope.init.known_reaper ("" absent)
  std::string comm;               // the init's comm once it settled
  bool reaps = true;
};

void PrintTo(const InitCase& init, std::ostream* os) { *os << init.name; }

// Two orphans that die 0.2 s later (their parents, subshells, are gone at once), then a
// long-running main process.
constexpr const char* kWorkload = "(sleep 0.2 &); (sleep 0.2 &); exec sleep 300";

std::vector<InitCase> InitCases() {
  return {
      {"sleep", {"sh", "-c", kWorkload}, "", "sleep", false},
      {"tini", {"tini", "-s", "--", "sh", "-c", kWorkload}, "tini", "tini"},
      {"dumb_init", {"dumb-init", "sh", "-c", kWorkload}, "dumb-init", "dumb-init"},
      {"catatonit", {"catatonit", "--", "sh", "-c", kWorkload}, "catatonit", "catatonit"},
  };
}

class ContainersReapingTest : public ::testing::TestWithParam<InitCase> {};

TEST_P(ContainersReapingTest, InitReapsOrphansOrIsFailing) {
  PIDSCOPE_REQUIRE_ROOT();
  const InitCase& c = GetParam();
  const std::string id = RandomHex(64);
  Hierarchies hierarchies;
  ASSERT_TRUE(hierarchies.cgroup2.ok()) << hierarchies.cgroup2.error();
  CgroupDirs cgroups(hierarchies.All(), "/system.slice/docker-" + id + ".scope");
  ASSERT_TRUE(cgroups.ok()) << cgroups.error();

  std::string error;
  auto container = Container::Start(
      cgroups, [&]() -> int { Exec(c.argv); }, &error);
  ASSERT_NE(container, nullptr) << error;
  const pid_t init = container->init();

  if (c.reaps) {
    // Settled: the orphans died and were reaped; only `sleep 300` is left below the init.
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto below = Descendants(init);
          return Comm(init) == c.comm && below.size() == 1 &&
                 Cmdline(below[0]) == std::string(
                                          "sleep\0"
                                          "300\0",
                                          10) &&
                 StateAndParent(below[0]).first != 'Z';
        },
        kSettle))
        << c.name << " did not settle";
  } else {
    // Settled: the init is `sleep 300` with both orphans as its zombie children.
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto children = Children(init);
          return Cmdline(init) == std::string(
                                      "sleep\0"
                                      "300\0",
                                      10) &&
                 children.size() == 2 && std::all_of(children.begin(), children.end(), [](pid_t p) {
                   return StateAndParent(p).first == 'Z';
                 });
        },
        kSettle))
        << "the orphans did not become zombies of the init";
  }

  auto groups = RunJson({"containers", "--observe", "2", "--format", "json"}, &error);
  ASSERT_TRUE(groups.has_value()) << error;
  const json* group = FindGroup(*groups, id);
  ASSERT_NE(group, nullptr) << groups->dump(1);
  const json& g = *group;
  EXPECT_EQ(At(g, "container.runtime"), "docker");
  EXPECT_EQ(At(g, "pidscope.pidns.inode"), NsInode(init, "pid"));
  EXPECT_EQ(At(g, "pidscope.init.pid"), init);
  EXPECT_EQ(At(g, "pidscope.init.name"), c.comm);
  if (c.known_reaper.empty()) {
    EXPECT_TRUE(At(g, "pidscope.init.known_reaper").is_null()) << g.dump();
  } else {
    EXPECT_EQ(At(g, "pidscope.init.known_reaper"), c.known_reaper) << g.dump();
  }
  if (c.reaps) {
    EXPECT_EQ(At(g, "pidscope.reaping.state"), "ok") << g.dump();
    EXPECT_EQ(At(g, "pidscope.zombies"), 0);
    EXPECT_EQ(At(g, "pidscope.reaping.zombie_children"), 0);
    EXPECT_EQ(At(g, "pidscope.processes"), 2);
  } else {
    EXPECT_EQ(At(g, "pidscope.reaping.state"), "failing") << g.dump();
    EXPECT_EQ(At(g, "pidscope.zombies"), 2);
    EXPECT_EQ(At(g, "pidscope.reaping.zombie_children"), 2);
    EXPECT_EQ(At(g, "pidscope.processes"), 3);
    EXPECT_TRUE(
        At(g, "pidscope.reaping.reason").get<std::string>().starts_with("2 zombie children"))
        << g.dump();
    EXPECT_GE(At(g, "pidscope.oldest_zombie_age_seconds").get<int>(), 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Inits, ContainersReapingTest, ::testing::ValuesIn(InitCases()),
                         [](const ::testing::TestParamInfo<InitCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// c. A prctl sub-reaper inside a container adopts an orphan; procfs cannot see the flag, so the
// live model (BPF) must tell.

// `pidscope events` with standard output and error in files.
class EventsProcess {
 public:
  EventsProcess(const std::string& dir, const std::vector<std::string>& args)
      : out_(dir + "/events.out"), err_(dir + "/events.err") {
    std::vector<std::string> argv = {PIDSCOPE_BINARY, "events"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out = out_, err = err_;
    child_ = ScopedChild::Fork([argv, out, err]() -> int {
      int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (out_fd < 0 || err_fd < 0) return 126;
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      Exec(argv);
    });
  }
  std::string Out() const { return ReadFile(out_).value_or(""); }
  std::string Err() const { return ReadFile(err_).value_or(""); }
  // SIGINT (drain and exit 0); the wait status, nullopt if it did not stop in time.
  std::optional<int> Stop() {
    kill(child_.pid(), SIGINT);
    return child_.Wait(kSettle);
  }
  // The JSON documents written so far (lines that do not parse are kept as errors).
  std::vector<json> Documents(std::vector<std::string>* bad) const {
    std::vector<json> docs;
    for (const std::string& line : Split(Out(), '\n')) {
      if (line.empty()) continue;
      try {
        docs.push_back(json::parse(line));
      } catch (const std::exception&) {
        bad->push_back(line);
      }
    }
    return docs;
  }

 private:
  std::string out_;
  std::string err_;
  ScopedChild child_;
};

TEST(ContainersSubreaperTest, SubreaperInsideAContainerAdoptsTheOrphan) {
  PIDSCOPE_REQUIRE_ROOT();
  const std::string id = RandomHex(64);
  pidscope::testing::TempDir temp("pidscope-containers-");
  ASSERT_FALSE(temp.path().empty());
  Hierarchies hierarchies;
  ASSERT_TRUE(hierarchies.cgroup2.ok()) << hierarchies.cgroup2.error();
  CgroupDirs cgroups(hierarchies.All(), "/docker/" + id);
  ASSERT_TRUE(cgroups.ok()) << cgroups.error();

  // init ── subreaper; on a byte from `trigger` the sub-reaper sets the flag and forks the
  // orphaner, which forks the grandchild and exits: the grandchild goes to the sub-reaper, not
  // to the init.
  int trigger[2];
  ASSERT_EQ(pipe2(trigger, O_CLOEXEC), 0);
  UniqueFd trigger_read(trigger[0]);
  UniqueFd trigger_write(trigger[1]);
  std::string error;
  auto container = Container::Start(
      cgroups,
      [&]() -> int {
        trigger_write.reset();
        pid_t subreaper = fork();
        if (subreaper == 0) {
          prctl(PR_SET_NAME, "subreaper", 0, 0, 0);
          char byte = 0;
          if (read(trigger_read.get(), &byte, 1) != 1) _exit(20);
          if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) _exit(21);
          pid_t orphaner = fork();
          if (orphaner == 0) {
            prctl(PR_SET_NAME, "orphaner", 0, 0, 0);
            if (fork() == 0) {
              prctl(PR_SET_NAME, "grandchild", 0, 0, 0);
              for (;;) pause();
            }
            _exit(0);
          }
          int status = 0;
          waitpid(orphaner, &status, 0);  // the sub-reaper reaps its own child only
          for (;;) pause();
        }
        trigger_read.reset();
        for (;;) pause();
      },
      &error);
  ASSERT_NE(container, nullptr) << error;
  trigger_read.reset();
  auto find = [&](const std::string& comm) -> pid_t {
    for (pid_t pid : container->Members()) {
      if (Comm(pid) == comm) return pid;
    }
    return 0;
  };
  pid_t subreaper = 0;
  ASSERT_TRUE(WaitUntil([&] { return (subreaper = find("subreaper")) != 0; }, kSettle));

  // The live model starts with the container in place; it is told about the flag by events.
  EventsProcess events(
      temp.path(), {"--source", "bpf", "--container", id.substr(0, 12), "--log-format", "text"});
  ASSERT_TRUE(WaitUntil([&] { return events.Err().find("bootstrapped") != std::string::npos; },
                        milliseconds(20'000)))
      << "pidscope events did not start:\n"
      << events.Err();

  ASSERT_EQ(write(trigger_write.get(), "g", 1), 1);
  trigger_write.reset();
  pid_t grandchild = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        grandchild = find("grandchild");
        return grandchild != 0 && find("orphaner") == 0 &&
               StateAndParent(grandchild).second == subreaper;
      },
      kSettle))
      << "the grandchild was not adopted by the sub-reaper";
  // The kernel's truth: the sub-reaper is the parent, not the init (PID 1 inside).
  EXPECT_EQ(StateAndParent(grandchild).second, subreaper);
  EXPECT_NE(StateAndParent(grandchild).second, container->init());

  // Wait for both events to be written (the events command flushes every 250 ms), then stop.
  auto has = [](const std::vector<json>& docs, const std::string& action, pid_t pid) {
    return std::any_of(docs.begin(), docs.end(), [&](const json& d) {
      return At(d, "event.action") == action && At(d, "process.pid") == pid;
    });
  };
  std::vector<std::string> bad;
  WaitUntil(
      [&] {
        bad.clear();
        auto docs = events.Documents(&bad);
        return has(docs, "subreaper", subreaper) && has(docs, "reparent", grandchild);
      },
      kSettle);
  auto status = events.Stop();
  ASSERT_TRUE(status.has_value()) << "pidscope events did not stop on SIGINT";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << events.Err();
  bad.clear();
  std::vector<json> docs = events.Documents(&bad);
  EXPECT_TRUE(bad.empty()) << bad.front();

  const json* subreaper_event = nullptr;
  const json* reparent_event = nullptr;
  for (const json& d : docs) {
    // --container: only this container's processes.
    EXPECT_EQ(At(d, "container.id"), id) << d.dump();
    if (At(d, "event.action") == "subreaper" && At(d, "process.pid") == subreaper) {
      subreaper_event = &d;
    }
    if (At(d, "event.action") == "reparent" && At(d, "process.pid") == grandchild) {
      reparent_event = &d;
    }
  }
  ASSERT_NE(subreaper_event, nullptr) << "no subreaper event for " << subreaper << "\n"
                                      << events.Out() << events.Err();
  EXPECT_EQ(At(*subreaper_event, "pidscope.event.subreaper"), true);
  EXPECT_EQ(At(*subreaper_event, "pidscope.subreaper"), true);
  EXPECT_EQ(At(*subreaper_event, "pidscope.pidns.level"), 1);
  EXPECT_EQ(At(*subreaper_event, "container.runtime"), "docker");

  ASSERT_NE(reparent_event, nullptr) << "no reparent event for " << grandchild << "\n"
                                     << events.Out() << events.Err();
  EXPECT_EQ(At(*reparent_event, "pidscope.event.reaper_kind"), "subreaper");
  EXPECT_EQ(At(*reparent_event, "pidscope.event.new_ppid"), subreaper);
  EXPECT_EQ(At(*reparent_event, "process.parent.pid"), subreaper);
  EXPECT_EQ(At(*reparent_event, "pidscope.orphan"), true);
  EXPECT_EQ(At(*reparent_event, "pidscope.reaper_kind"), "subreaper");
  // The orphaner, its parent before, has exited: it is the old parent in the event.
  const json& old_ppid = At(*reparent_event, "pidscope.event.old_ppid");
  EXPECT_TRUE(old_ppid.is_number() && old_ppid != subreaper && old_ppid != 0) << old_ppid;
  EXPECT_EQ(At(*reparent_event, "pidscope.original_ppid"), old_ppid);
}

}  // namespace
}  // namespace pidscope::testing
