// The JSON document of a process, parsed back with a strict parser (nlohmann::json): valid for
// hostile names and arguments, and with the ECS field paths the README documents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/process_json.hpp"
#include "model/entity_id.hpp"
#include "util/time_format.hpp"

namespace pidscope {
namespace {

using namespace std::string_literals;
using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

Process MakeProcess(int32_t pid, uint64_t start_ticks, int32_t ppid, std::string comm) {
  Process p;
  p.key = ProcessKey{pid, start_ticks};
  p.ppid = ppid;
  p.pgid = pid;
  p.sid = pid;
  p.state = 'S';
  p.threads = 1;
  p.comm = std::move(comm);
  p.ns_pid = {pid};
  p.args = p.comm;
  p.args_count = 1;
  return p;
}

// A session leader (4000) and a group leader (4100) whose child 4200 is the parent of 4242.
class ProcessJson : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.boot_id = "0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f0";
    ASSERT_TRUE(procfs::ParseUuid(host_.boot_id, &host_.boot_id_bytes));
    host_.host_pidns_inode = 4026531836;
    host_.clock_ticks_per_second = 100;
    host_.boot_wall_time_ns = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

    Process session = MakeProcess(4000, 1000, 1, "sshd");
    Process group = MakeProcess(4100, 2000, 4000, "bash");
    group.sid = 4000;
    Process parent = MakeProcess(4200, 3000, 4100, "make");
    parent.pgid = 4100;
    parent.sid = 4000;
    table_.Upsert(session);
    table_.Upsert(group);
    table_.Upsert(parent);

    target_ = MakeProcess(4242, 123456, 4200, "cc1plus");
    target_.pgid = 4100;
    target_.sid = 4000;
    target_.args = "cc1plus\0-O2\0main.cpp"s;
    target_.args_count = 3;
    target_.ns_inode[static_cast<size_t>(NsType::kPid)] = 4026531836;
    target_.ns_inode[static_cast<size_t>(NsType::kMnt)] = 4026531832;
    target_.cgroups = std::make_shared<const CgroupSet>(
        CgroupSet{Cgroup{0, "", "/user.slice/session-3.scope"}, Cgroup{9, "name=systemd", "/"}});
  }

  ProcessJsonContext Context() const { return ProcessJsonContext{&host_, &table_, nullptr}; }

  // Writes the document of `p` and parses it; fails the test if it is not valid JSON.
  Json Document(const Process& p) {
    std::string out;
    JsonWriter w(&out);
    WriteProcessDocument(&w, p, Context());
    Json parsed = Json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "invalid JSON: " << out.substr(0, 2000);
    return parsed;
  }

  procfs::HostInfo host_;
  ProcessTable table_;
  Process target_;
};

TEST_F(ProcessJson, EcsIdentityFields) {
  Json doc = Document(target_);
  const Json& process = doc["process"];
  EXPECT_EQ(process["pid"], 4242);
  EXPECT_EQ(process["vpid"], 4242);
  EXPECT_EQ(process["name"], "cc1plus");
  EXPECT_EQ(process["entity_id"], EntityId(host_, target_.key));
  EXPECT_EQ(process["entity_id"], "Atft-WtMd03lT7ZeJxe0bA");  // see hash_test
  // 123456 ticks at 100 Hz after boot.
  EXPECT_EQ(process["start"], "2023-11-14T22:33:54.560000000Z");
  EXPECT_EQ(doc["host"]["boot"]["id"], host_.boot_id);
  EXPECT_EQ(doc["host"]["pid_ns_ino"], 4026531836u);
}

TEST_F(ProcessJson, RelativesCarryPidStartAndEntityId) {
  Json process = Document(target_)["process"];
  struct Relative {
    const char* field;
    ProcessKey key;
  };
  for (const Relative& r :
       {Relative{"parent", {4200, 3000}}, Relative{"group_leader", {4100, 2000}},
        Relative{"session_leader", {4000, 1000}}}) {
    SCOPED_TRACE(r.field);
    ASSERT_TRUE(process.contains(r.field));
    EXPECT_EQ(process[r.field]["pid"], r.key.pid);
    EXPECT_EQ(process[r.field]["entity_id"], EntityId(host_, r.key));
    EXPECT_EQ(process[r.field]["start"], FormatRfc3339Ns(host_.StartWallTimeNs(r.key.start_ticks)));
  }
}

TEST_F(ProcessJson, RelativeMissingFromTheTableHasOnlyItsPid) {
  Process orphan = target_;
  orphan.ppid = 999;
  Json parent = Document(orphan)["process"]["parent"];
  EXPECT_EQ(parent["pid"], 999);
  EXPECT_FALSE(parent.contains("entity_id"));
  EXPECT_FALSE(parent.contains("start"));
}

TEST_F(ProcessJson, KernelThreadParentPidZeroHasNoEntityId) {
  Process kthread = MakeProcess(2, 24, 0, "kthreadd");
  kthread.kernel_thread = true;
  kthread.args.clear();
  kthread.args_count = 0;
  Json doc = Document(kthread);
  EXPECT_EQ(doc["process"]["parent"]["pid"], 0);
  EXPECT_FALSE(doc["process"]["parent"].contains("entity_id"));
  EXPECT_FALSE(doc["process"].contains("args"));
  EXPECT_EQ(doc["pidscope"]["kernel_thread"], true);
}

TEST_F(ProcessJson, ArgsAsAnArray) {
  Json doc = Document(target_);
  EXPECT_EQ(doc["process"]["args"], Json::array({"cc1plus", "-O2", "main.cpp"}));
  EXPECT_EQ(doc["process"]["args_count"], 3);
  EXPECT_EQ(doc["pidscope"]["args_truncated"], false);
}

TEST_F(ProcessJson, TruncatedArgsAreFlagged) {
  target_.args_truncated = true;
  target_.args_count = 2;
  target_.args = "cc1plus\0-O2"s;
  Json doc = Document(target_);
  EXPECT_EQ(doc["pidscope"]["args_truncated"], true);
  EXPECT_EQ(doc["process"]["args"].size(), 2u);
}

TEST_F(ProcessJson, UnreadableCmdlineLeavesArgsOutAndSaysWhy) {
  target_.unreadable = kUnreadableCmdline | kUnreadableExe;
  Json doc = Document(target_);
  EXPECT_FALSE(doc["process"].contains("args"));
  EXPECT_EQ(doc["pidscope"]["unreadable"], Json::array({"cmdline", "exe"}));
}

TEST_F(ProcessJson, HostileCommAndArgsStayValidJson) {
  std::string big(100 * 1024, 'a');
  big[50000] = '"';
  std::vector<std::string> args = {
      "say \"hi\"",   "back\\slash", "new\nline\r\n", "tab\t", "esc\x1b[31mred",
      "\x01\x02\x7f", "\xff\xfe",    "trunc\xe2\x82", "",      "caf\xc3\xa9 \xf0\x9f\x98\x80",
      "\xed\xa0\x80", big,
  };
  target_.comm = "a) Z 1 (b\n)\"\\";
  target_.args.clear();
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) target_.args.push_back('\0');
    target_.args += args[i];
  }
  target_.args_count = static_cast<uint32_t>(args.size());
  target_.executable = std::make_shared<const std::string>("/tmp/x\ny\xff");
  target_.cwd = std::make_shared<const std::string>("/tmp/\"q\"");

  Json doc = Document(target_);
  ASSERT_TRUE(doc.is_object());
  const Json& process = doc["process"];
  EXPECT_EQ(process["name"], target_.comm);
  EXPECT_EQ(process["executable"], "/tmp/x\ny"s + std::string(kReplacement));
  EXPECT_EQ(process["working_directory"], "/tmp/\"q\"");
  ASSERT_EQ(process["args"].size(), args.size());
  const std::string r(kReplacement);
  // Valid UTF-8, controls included, comes back byte for byte; invalid bytes become U+FFFD.
  EXPECT_EQ(process["args"][0], args[0]);
  EXPECT_EQ(process["args"][1], args[1]);
  EXPECT_EQ(process["args"][2], args[2]);
  EXPECT_EQ(process["args"][3], args[3]);
  EXPECT_EQ(process["args"][4], args[4]);
  EXPECT_EQ(process["args"][5], args[5]);
  EXPECT_EQ(process["args"][6], r + r);
  EXPECT_EQ(process["args"][7], "trunc" + r + r);
  EXPECT_EQ(process["args"][8], "");
  EXPECT_EQ(process["args"][9], args[9]);
  EXPECT_EQ(process["args"][10], r + r + r);
  EXPECT_EQ(process["args"][11], big);
  EXPECT_EQ(process["args_count"], args.size());
}

TEST_F(ProcessJson, EveryByteValueInCommKeepsTheDocumentValid) {
  for (int c = 0; c < 256; ++c) {
    target_.comm = "x" + std::string(1, static_cast<char>(c)) + "y";
    target_.args = target_.comm;
    Json doc = Document(target_);
    ASSERT_TRUE(doc.is_object()) << "byte " << c;
    std::string name = doc["process"]["name"];
    if (c < 0x80) {
      EXPECT_EQ(name, target_.comm) << "byte " << c;
    } else {
      EXPECT_EQ(name, "x" + std::string(kReplacement) + "y") << "byte " << c;
    }
  }
}

TEST_F(ProcessJson, ContainerInitAndNamespacePids) {
  target_.ns_pid = {4242, 1};
  target_.ns_pgid = {4100, 0};
  target_.ns_sid = {4000, 0};
  Json doc = Document(target_);
  EXPECT_EQ(doc["process"]["pid"], 4242);
  EXPECT_EQ(doc["process"]["vpid"], 1);
  EXPECT_EQ(doc["pidscope"]["container_init"], true);
  EXPECT_EQ(doc["pidscope"]["ns_pid"], Json::array({4242, 1}));
  EXPECT_EQ(doc["pidscope"]["ns_pgid"], Json::array({4100, 0}));
  EXPECT_EQ(doc["pidscope"]["ns_sid"], Json::array({4000, 0}));
  EXPECT_EQ(doc["pidscope"]["pidns"]["level"], 1);
  EXPECT_EQ(doc["pidscope"]["pidns"]["inode"], 4026531836u);
}

TEST_F(ProcessJson, ThreeLevelsDeepButNotInit) {
  target_.ns_pid = {4242, 3, 2};
  Json doc = Document(target_);
  EXPECT_EQ(doc["pidscope"]["container_init"], false);
  EXPECT_EQ(doc["pidscope"]["pidns"]["level"], 2);
  EXPECT_EQ(doc["process"]["vpid"], 2);
}

TEST_F(ProcessJson, HostProcessIsNotAContainerInit) {
  Process init = MakeProcess(1, 3, 0, "init");
  Json doc = Document(init);
  EXPECT_EQ(doc["pidscope"]["container_init"], false);
  EXPECT_EQ(doc["pidscope"]["pidns"]["level"], 0);
}

TEST_F(ProcessJson, NamespacesAndCgroups) {
  Json pidscope = Document(target_)["pidscope"];
  EXPECT_EQ(pidscope["namespaces"]["pid"], 4026531836u);
  EXPECT_EQ(pidscope["namespaces"]["mnt"], 4026531832u);
  EXPECT_FALSE(pidscope["namespaces"].contains("net"));  // unknown: left out, not 0
  ASSERT_EQ(pidscope["cgroups"].size(), 2u);
  EXPECT_EQ(pidscope["cgroups"][0]["hierarchy_id"], 0);
  EXPECT_EQ(pidscope["cgroups"][0]["controllers"], "");
  EXPECT_EQ(pidscope["cgroups"][0]["path"], "/user.slice/session-3.scope");
  EXPECT_EQ(pidscope["cgroups"][1]["controllers"], "name=systemd");
}

TEST_F(ProcessJson, CredentialsAsEcsUsersAndCapabilities) {
  target_.credentials_known = true;
  target_.credentials.uid = {1000, 0, 1001, 1002};  // real, effective, saved, fs
  target_.credentials.gid = {100, 101, 102, 103};
  target_.credentials.groups = {27, 1000};
  target_.credentials.cap_effective = uint64_t{1} << 10;  // CAP_NET_BIND_SERVICE
  target_.credentials.cap_permitted = (uint64_t{1} << 10) | (uint64_t{1} << 21);
  target_.credentials.cap_ambient = uint64_t{1} << 10;
  Json doc = Document(target_);
  const Json& process = doc["process"];
  EXPECT_EQ(process["user"]["id"], "0");  // effective; ECS ids are strings
  EXPECT_EQ(process["real_user"]["id"], "1000");
  EXPECT_EQ(process["saved_user"]["id"], "1001");
  EXPECT_EQ(process["group"]["id"], "101");
  EXPECT_EQ(process["real_group"]["id"], "100");
  EXPECT_EQ(process["saved_group"]["id"], "102");
  ASSERT_EQ(process["supplemental_groups"].size(), 2u);
  EXPECT_EQ(process["supplemental_groups"][1]["id"], "1000");
  EXPECT_FALSE(process["user"].contains("name"));  // no NameCache given
  EXPECT_EQ(process["thread"]["capabilities"]["effective"], Json::array({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(process["thread"]["capabilities"]["permitted"],
            Json::array({"CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"}));
  EXPECT_EQ(doc["pidscope"]["fs_user"]["id"], "1002");
  EXPECT_EQ(doc["pidscope"]["capabilities"]["ambient"], Json::array({"CAP_NET_BIND_SERVICE"}));
}

TEST_F(ProcessJson, UnknownCredentialsAreLeftOut) {
  Json doc = Document(target_);
  EXPECT_FALSE(doc["process"].contains("user"));
  EXPECT_FALSE(doc["process"].contains("thread"));
  EXPECT_FALSE(doc["pidscope"].contains("capabilities"));
}

TEST_F(ProcessJson, ControllingTerminal) {
  target_.tty_nr = 34819;  // 136:3
  Json process = Document(target_)["process"];
  EXPECT_EQ(process["interactive"], true);
  EXPECT_EQ(process["tty"]["name"], "pts/3");
  EXPECT_EQ(process["tty"]["char_device"]["major"], 136);
  EXPECT_EQ(process["tty"]["char_device"]["minor"], 3);

  target_.tty_nr = 0;
  process = Document(target_)["process"];
  EXPECT_EQ(process["interactive"], false);
  EXPECT_FALSE(process.contains("tty"));
}

TEST_F(ProcessJson, ZombieState) {
  target_.state = 'Z';
  Json pidscope = Document(target_)["pidscope"];
  EXPECT_EQ(pidscope["state"], "Z");
  EXPECT_EQ(pidscope["zombie"], true);
  EXPECT_EQ(pidscope["start_ticks"], 123456u);
}

TEST_F(ProcessJson, SignalSetsByName) {
  target_.sig_blocked = uint64_t{1} << (SIGCHLD - 1);
  target_.sig_caught = (uint64_t{1} << (SIGTERM - 1)) | (uint64_t{1} << (SIGINT - 1));
  Json signals = Document(target_)["pidscope"]["signals"];
  EXPECT_EQ(signals["blocked"]["mask"], "0000000000010000");
  EXPECT_EQ(signals["blocked"]["names"], Json::array({"SIGCHLD"}));
  EXPECT_EQ(signals["caught"]["names"], Json::array({"SIGINT", "SIGTERM"}));
  EXPECT_EQ(signals["ignored"]["names"], Json::array());
}

TEST_F(ProcessJson, GlibcReservedSignalsAreNotNamedWithNegativeNumbers) {
  // Threaded programs built on older glibc catch signals 32 and 33 (SIGCANCEL, SIGSETXID):
  // "SigCgt: 0000000180000000" is common. They lie below glibc's SIGRTMIN (34).
  target_.sig_caught = 0x0000000180000000;
  Json names = Document(target_)["pidscope"]["signals"]["caught"]["names"];
  ASSERT_EQ(names.size(), 2u);
  for (const auto& name : names) EXPECT_THAT(name.get<std::string>(), Not(HasSubstr("-"))) << name;
  EXPECT_NE(names[0], names[1]);
}

TEST_F(ProcessJson, SnapshotIsAnArraySortedByPid) {
  table_.Upsert(target_);
  std::string out;
  WriteSnapshotJson(&out, table_, Context());
  Json parsed = Json::parse(out);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 4u);
  std::vector<int> pids;
  for (const auto& doc : parsed) pids.push_back(doc["process"]["pid"]);
  EXPECT_EQ(pids, (std::vector<int>{4000, 4100, 4200, 4242}));
  EXPECT_EQ(parsed[3]["process"]["parent"]["entity_id"], parsed[2]["process"]["entity_id"]);
}

TEST_F(ProcessJson, EmptySnapshotIsAnEmptyArray) {
  std::string out;
  WriteSnapshotJson(&out, ProcessTable{}, Context());
  EXPECT_EQ(Json::parse(out), Json::array());
}

}  // namespace
}  // namespace pidscope
