// The Kubernetes pod directory against a kubelet stand-in on loopback HTTPS
// (helpers/kubelet_stub.py): names resolve from the kubelet's and the API server's pod lists,
// verified against a CA the stub made, with the service-account token; when the endpoint is
// forbidden, down, slow or answers nonsense, the last good names stay, lookups never wait, the
// log says so once, and Stop() returns at once.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "resolve/kubernetes.hpp"
#include "support/subprocess.hpp"

namespace pidscope {
namespace {

using std::chrono::milliseconds;
using testing::ScopedChild;
using testing::WaitUntil;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kWait{10'000};

// What helpers/kubelet_stub.py serves.
constexpr const char* kWebUid = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
constexpr const char* kEtcdHash = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";
constexpr const char* kEtcdMirrorUid = "77777777-8888-4999-aaaa-bbbbbbbbbbbb";
constexpr const char* kPendingUid = "c0ffee00-1234-4abc-8def-001122334455";
constexpr const char* kExtraUid = "e1e2e3e4-f5f6-4a7b-8c9d-0a1b2c3d4e5f";
constexpr const char* kUnknownUid = "00000000-0000-4000-8000-000000000000";

// The stub's container ids: "%064x" of a number.
std::string Id(unsigned n) {
  char buffer[65];
  std::snprintf(buffer, sizeof buffer, "%064x", n);
  return buffer;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(temporary, path);  // the stub never reads half a file
}

// The stub: started in a directory of its own, killed (bounded) when it goes away.
class KubeletStub {
 public:
  bool Start(const std::string& dir, int port, std::string* error) {
    dir_ = dir;
    ScopedChild::Options options;
    options.capture_stdout = true;
    child_ = ScopedChild::Spawn({"python3", std::string(PIDSCOPE_TEST_HELPERS) + "/kubelet_stub.py",
                                 "--dir", dir, "--port", std::to_string(port)},
                                options);
    std::optional<std::string> line = child_.ReadLine(milliseconds(30'000));
    if (!line || line->rfind("PORT ", 0) != 0) {
      *error = "kubelet_stub.py did not start: " + line.value_or("(no output)");
      return false;
    }
    port_ = std::stoi(line->substr(5));
    return true;
  }
  void Stop() { child_.Kill(); }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  void SetMode(const std::string& mode) const { WriteFile(dir_ + "/mode", mode); }
  void ExpectToken(const std::string& token) const { WriteFile(dir_ + "/expected_token", token); }
  // The lines of requests.log: "<path> auth=<ok|missing|wrong> mode=<mode>".
  std::vector<std::string> Requests() const {
    std::vector<std::string> lines;
    std::ifstream in(dir_ + "/requests.log");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  size_t RequestCount() const { return Requests().size(); }

 private:
  std::string dir_;
  ScopedChild child_;
  int port_ = 0;
};

// Collects what the directory logs.
class LogCapture {
 public:
  KubernetesLogFunction Function() {
    return [this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(level, std::string(message));
    };
  }
  std::vector<std::string> Lines() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> lines;
    for (const auto& [level, message] : lines_) lines.push_back(message);
    return lines;
  }
  size_t Count(const std::string& needle) const {
    std::vector<std::string> lines = Lines();
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(needle) != std::string::npos;
    });
  }
  std::string Dump() const {
    std::string all;
    for (const std::string& line : Lines()) all += "  " + line + "\n";
    return all;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

class KubernetesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/pidscope-k8s-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    WriteFile(dir_ + "/token", "token-1\n");  // as a projected token file may end
    std::string error;
    ASSERT_TRUE(stub_.Start(dir_, 0, &error)) << error;
  }
  void TearDown() override {
    stub_.Stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Short periods, so that refreshes, backoff and recovery happen within a test.
  KubernetesConfig Config(const std::string& path = "/pods") const {
    KubernetesConfig config;
    config.endpoint = KubernetesEndpoint::kKubelet;
    config.url = stub_.Url(path);
    config.token_file = dir_ + "/token";
    config.ca_file = dir_ + "/ca.crt";
    config.refresh_interval = milliseconds(300);
    config.request_timeout = milliseconds(1'000);
    config.connect_timeout = milliseconds(500);
    config.initial_backoff = milliseconds(100);
    config.min_request_interval = milliseconds(100);
    config.max_response_bytes = 256 * 1024;
    return config;
  }

  static bool WaitAvailable(const PodDirectory& directory) {
    return WaitUntil([&] { return directory.Stats().available; }, kWait);
  }
  // Waits for `n` more failed refreshes than `stats` counted.
  static bool WaitFailures(const PodDirectory& directory, uint64_t n) {
    return WaitUntil([&] { return directory.Stats().refreshes_failed >= n; }, kWait);
  }
  static bool WaitRequestWithMode(const KubeletStub& stub, const std::string& mode) {
    return WaitUntil(
        [&] {
          for (const std::string& line : stub.Requests()) {
            if (line.find("mode=" + mode) != std::string::npos) return true;
          }
          return false;
        },
        kWait);
  }

  // The web pod's nginx container resolves to its names.
  static void ExpectWebNames(const PodDirectory& directory) {
    std::optional<KubernetesNames> names = directory.Lookup(kWebUid, Id(0x1001));
    ASSERT_TRUE(names.has_value());
    EXPECT_EQ(names->pod_namespace, "shop");
    EXPECT_EQ(names->pod_name, "web-7d4b9c8f6-x2k9p");
    EXPECT_EQ(names->container_name, "nginx");
  }

  std::string dir_;
  KubeletStub stub_;
  LogCapture log_;
};

// ---------------------------------------------------------------------------------------------
// Names.

TEST_F(KubernetesTest, ResolvesKubeletPodListVerifiedAgainstCa) {
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;

  std::optional<KubernetesNames> web = directory.Lookup(kWebUid, Id(0x1001));
  ASSERT_TRUE(web.has_value());
  EXPECT_EQ(web->pod_uid, kWebUid);
  EXPECT_EQ(web->pod_namespace, "shop");
  EXPECT_EQ(web->pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_EQ(web->node_name, "node-1");
  EXPECT_EQ(web->container_name, "nginx");
  EXPECT_EQ(web->container_image, "docker.io/library/nginx:1.25");
  // Only the chosen labels, in the configured order.
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(web->labels, (Labels{{"app.kubernetes.io/name", "web"},
                                 {"app.kubernetes.io/instance", "web-prod"}}));

  // Sidecar, init and ephemeral containers; the id may come with its scheme.
  EXPECT_EQ(directory.Lookup(kWebUid, Id(0x1002))->container_name, "log-shipper");
  EXPECT_EQ(directory.Lookup(kWebUid, Id(0x1000))->container_name, "init-config");
  EXPECT_EQ(directory.Lookup(kWebUid, Id(0x1003))->container_name, "debugger-abcde");
  EXPECT_EQ(directory.Lookup(kWebUid, "containerd://" + Id(0x1001))->container_name, "nginx");

  // A static pod by its config hash, as its cgroups name it.
  std::optional<KubernetesNames> etcd = directory.Lookup(kEtcdHash, Id(0x2001));
  ASSERT_TRUE(etcd.has_value());
  EXPECT_EQ(etcd->pod_namespace, "kube-system");
  EXPECT_EQ(etcd->pod_name, "etcd-node-1");
  EXPECT_EQ(etcd->container_name, "etcd");
  EXPECT_TRUE(etcd->labels.empty());

  // The pod sandbox (no status names it) and a pod whose container has not started: pod names,
  // no container name. An unknown pod: nothing, the caller keeps its ids.
  std::optional<KubernetesNames> sandbox = directory.Lookup(kWebUid, Id(0xfeed));
  ASSERT_TRUE(sandbox.has_value());
  EXPECT_EQ(sandbox->pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_EQ(sandbox->container_name, "");
  std::optional<KubernetesNames> pending = directory.Lookup(kPendingUid, "");
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->pod_name, "worker-0");
  EXPECT_EQ(pending->labels, (Labels{{"app", "worker"}}));
  EXPECT_FALSE(directory.Lookup(kUnknownUid, Id(0x1001)).has_value());

  PodDirectoryStats stats = directory.Stats();
  EXPECT_EQ(stats.pods, 3u);
  EXPECT_GE(stats.refreshes_ok, 1u);
  EXPECT_EQ(stats.refreshes_failed, 0u);
  EXPECT_GT(stats.last_success_unix, 0);
  EXPECT_EQ(log_.Count("kubernetes metadata available: 3 pods from " + stub_.Url("/pods")), 1u)
      << log_.Dump();
}

TEST_F(KubernetesTest, ResolvesApiServerListWithMirrorPod) {
  KubernetesConfig config = Config();
  config.endpoint = KubernetesEndpoint::kApiServer;
  config.url = DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "node-1", "127.0.0.1",
                                    std::to_string(stub_.port()));
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  ExpectWebNames(directory);
  // The static pod, by the UID its cgroups carry and by its mirror pod's.
  EXPECT_EQ(directory.Lookup(kEtcdHash, Id(0x2001))->pod_name, "etcd-node-1");
  EXPECT_EQ(directory.Lookup(kEtcdMirrorUid, Id(0x2001))->container_name, "etcd");
  EXPECT_EQ(directory.Stats().pods, 3u);

  // The API server refuses with a Status object; its message reaches the log.
  stub_.SetMode("forbidden");
  ASSERT_TRUE(WaitFailures(directory, 1));
  EXPECT_NE(directory.Stats().last_error.find("403 Forbidden from " + config.url +
                                              ": pods is forbidden: User"),
            std::string::npos)
      << directory.Stats().last_error;
}

TEST_F(KubernetesTest, EmptyKubeletListIsAvailableWithNoPods) {
  stub_.SetMode("empty");  // "items": null
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  EXPECT_EQ(directory.Stats().pods, 0u);
  EXPECT_FALSE(directory.Lookup(kWebUid, Id(0x1001)).has_value());
}

// ---------------------------------------------------------------------------------------------
// Token and certificates.

TEST_F(KubernetesTest, SendsTokenAsBearerAndRereadsItOnEveryRefresh) {
  stub_.ExpectToken("token-1");
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  for (const std::string& line : stub_.Requests()) EXPECT_NE(line.find("auth=ok"), line.npos);

  // The server now wants a rotated token the file does not hold yet: 401.
  stub_.ExpectToken("token-2");
  ASSERT_TRUE(WaitUntil([&] { return !directory.Stats().available; }, kWait));
  EXPECT_NE(directory.Stats().last_error.find("401 Unauthorized from " + stub_.Url("/pods")),
            std::string::npos)
      << directory.Stats().last_error;
  ExpectWebNames(directory);  // the last good snapshot stays

  // The kubelet rotates the projected token: the next refresh reads it.
  WriteFile(dir_ + "/token", "token-2");
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  EXPECT_EQ(log_.Count("kubernetes metadata unavailable: 401 Unauthorized"), 1u) << log_.Dump();
  EXPECT_EQ(log_.Count("kubernetes metadata available again"), 1u) << log_.Dump();
}

TEST_F(KubernetesTest, MissingTokenFileIsAFailureNotAnAnonymousRequest) {
  KubernetesConfig config = Config();
  config.token_file = dir_ + "/no-such-token";
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitFailures(directory, 1));
  EXPECT_NE(directory.Stats().last_error.find("read token file " + config.token_file),
            std::string::npos)
      << directory.Stats().last_error;
  EXPECT_EQ(stub_.RequestCount(), 0u);
}

TEST_F(KubernetesTest, RefusesServerItCannotVerifyUnlessTold) {
  KubernetesConfig config = Config();
  config.ca_file.clear();  // the system's CA store does not know the stub's CA
  {
    PodDirectory directory(config, log_.Function());
    directory.Start();
    ASSERT_TRUE(WaitFailures(directory, 1));
    EXPECT_NE(directory.Stats().last_error.find("certificate"), std::string::npos)
        << directory.Stats().last_error;
    EXPECT_FALSE(directory.Lookup(kWebUid, Id(0x1001)).has_value());
  }
  config.insecure_skip_verify = true;
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  ExpectWebNames(directory);
}

// ---------------------------------------------------------------------------------------------
// Degrading.

TEST_F(KubernetesTest, ForbiddenKeepsIdsLogsOnceAndRecoveryLogsOnce) {
  stub_.SetMode("forbidden");
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitFailures(directory, 4));

  PodDirectoryStats stats = directory.Stats();
  EXPECT_FALSE(stats.available);
  EXPECT_EQ(stats.refreshes_ok, 0u);
  EXPECT_GE(stats.consecutive_failures, 4u);
  // The kubelet's own words say which permission is missing.
  EXPECT_NE(stats.last_error.find("403 Forbidden from " + stub_.Url("/pods") +
                                  ": Forbidden (user=system:serviceaccount:monitoring:pidscope, "
                                  "verb=get, resource=nodes, subresource(s)=[proxy])"),
            std::string::npos)
      << stats.last_error;
  // Ids only: nothing to look up, however many processes ask.
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(directory.Lookup(kWebUid, Id(0x1001)).has_value());
  EXPECT_EQ(log_.Lines().size(), 1u) << log_.Dump();
  EXPECT_EQ(log_.Count("kubernetes metadata unavailable: 403 Forbidden from "), 1u);
  EXPECT_EQ(log_.Count("; pods will show ids only"), 1u);

  stub_.SetMode("pods");
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  ExpectWebNames(directory);
  ASSERT_TRUE(WaitUntil([&] { return directory.Stats().refreshes_ok >= 3; }, kWait));
  EXPECT_EQ(log_.Lines().size(), 2u) << log_.Dump();
  EXPECT_EQ(log_.Count("kubernetes metadata available again: 3 pods from "), 1u);
  EXPECT_EQ(directory.Stats().consecutive_failures, 0u);
}

TEST_F(KubernetesTest, FailuresAfterSuccessKeepTheLastSnapshot) {
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;

  // One state change, whatever the failures in between: forbidden, 500, not JSON, not a list,
  // too large. Each keeps the names of the last good list.
  uint64_t failed = 0;
  const std::pair<std::string, std::string> kCases[] = {
      {"forbidden", "403 Forbidden"},
      {"error",
       "500 Internal Server Error from " + stub_.Url("/pods") + ": etcdserver: request timed out"},
      {"malformed", "malformed pod list from " + stub_.Url("/pods") + ": not JSON"},
      {"not-a-list", "malformed pod list from " + stub_.Url("/pods") + ": no \"items\""},
      {"oversize", "answer from " + stub_.Url("/pods") + " exceeds 262144 bytes"},
  };
  for (const auto& [mode, error] : kCases) {
    SCOPED_TRACE(mode);
    stub_.SetMode(mode);
    ASSERT_TRUE(WaitUntil(
        [&, &error = error] {
          PodDirectoryStats stats = directory.Stats();
          return stats.refreshes_failed > failed &&
                 stats.last_error.find(error) != std::string::npos;
        },
        kWait))
        << directory.Stats().last_error;
    failed = directory.Stats().refreshes_failed;
    EXPECT_FALSE(directory.Stats().available);
    EXPECT_EQ(directory.Stats().pods, 3u);
    ExpectWebNames(directory);
  }
  EXPECT_EQ(log_.Count("kubernetes metadata unavailable: "), 1u) << log_.Dump();
  EXPECT_EQ(log_.Count("; pods not seen before will show ids only"), 1u) << log_.Dump();
  EXPECT_EQ(log_.Lines().size(), 2u) << log_.Dump();  // available, unavailable
}

TEST_F(KubernetesTest, ServerDownKeepsSnapshotAndRecoversWhenBack) {
  PodDirectory directory(Config(), log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;

  stub_.Stop();
  ASSERT_TRUE(WaitFailures(directory, 3));
  EXPECT_NE(directory.Stats().last_error.find("request to " + stub_.Url("/pods") + " failed: "),
            std::string::npos)
      << directory.Stats().last_error;
  ExpectWebNames(directory);
  EXPECT_EQ(log_.Count("kubernetes metadata unavailable: request to "), 1u) << log_.Dump();

  // Back on the same port (the CA and certificate are kept in the directory).
  std::string error;
  ASSERT_TRUE(stub_.Start(dir_, stub_.port(), &error)) << error;
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  EXPECT_EQ(log_.Count("kubernetes metadata available again"), 1u) << log_.Dump();
  EXPECT_EQ(log_.Lines().size(), 3u) << log_.Dump();
}

TEST_F(KubernetesTest, RepeatedFailuresBackOff) {
  stub_.SetMode("error");
  KubernetesConfig config = Config();  // 100 ms doubling, capped at 4 * 300 ms
  PodDirectory directory(config, log_.Function());
  directory.Start();
  std::this_thread::sleep_for(milliseconds(3'000));
  directory.Stop();
  // Attempts at about 0, 0.1, 0.3, 0.7, 1.5 and 2.7 s (up to 10% later each): 6, where a
  // fixed 100 ms would make 30.
  size_t requests = stub_.RequestCount();
  EXPECT_GE(requests, 4u);
  EXPECT_LE(requests, 7u);
  EXPECT_EQ(log_.Lines().size(), 1u) << log_.Dump();
}

// ---------------------------------------------------------------------------------------------
// Nothing stalls.

TEST_F(KubernetesTest, HangingServerNeverBlocksLookupAndStopReturnsPromptly) {
  KubernetesConfig config = Config();
  config.request_timeout = milliseconds(30'000);  // the request hangs for the whole test
  auto directory = std::make_unique<PodDirectory>(config, log_.Function());
  directory->Start();
  ASSERT_TRUE(WaitAvailable(*directory)) << directory->Stats().last_error;

  stub_.SetMode("hang");
  directory->RequestRefresh();
  ASSERT_TRUE(WaitRequestWithMode(stub_, "hang"));

  // Lookups while the refresh hangs: hits, misses (which ask for a refresh) and container misses.
  std::vector<int64_t> nanos;
  const std::string nginx = Id(0x1001);
  const std::string sandbox = Id(0xfeed);
  for (int i = 0; i < 30'000; ++i) {
    auto start = Clock::now();
    switch (i % 3) {
      case 0:
        EXPECT_TRUE(directory->Lookup(kWebUid, nginx).has_value());
        break;
      case 1:
        EXPECT_FALSE(directory->Lookup(kUnknownUid, nginx).has_value());
        break;
      default:
        EXPECT_TRUE(directory->Lookup(kWebUid, sandbox).has_value());
        break;
    }
    nanos.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
  }
  std::sort(nanos.begin(), nanos.end());
  int64_t median = nanos[nanos.size() / 2];
  int64_t p99 = nanos[nanos.size() * 99 / 100];
  int64_t max = nanos.back();
  RecordProperty("lookup_median_ns", std::to_string(median));
  RecordProperty("lookup_p99_ns", std::to_string(p99));
  RecordProperty("lookup_max_ns", std::to_string(max));
  EXPECT_LT(median, 100'000) << "median " << median << " ns";
  EXPECT_LT(p99, 1'000'000) << "p99 " << p99 << " ns";
  EXPECT_LT(max, 1'000'000'000) << "max " << max << " ns";  // scheduling noise, not the network
  EXPECT_TRUE(directory->Stats().available);  // nothing failed yet: the request still hangs

  auto start = Clock::now();
  directory->Stop();
  auto stop = Clock::now() - start;
  EXPECT_LT(stop, milliseconds(2'000))
      << std::chrono::duration_cast<milliseconds>(stop).count() << " ms";
  ExpectWebNames(*directory);  // still answering after Stop()
  start = Clock::now();
  directory.reset();
  EXPECT_LT(Clock::now() - start, milliseconds(500));
}

TEST_F(KubernetesTest, HangingServerTimesOutAndKeepsSnapshot) {
  KubernetesConfig config = Config();
  config.request_timeout = milliseconds(700);
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;

  stub_.SetMode("hang");
  ASSERT_TRUE(WaitFailures(directory, 1));
  EXPECT_NE(directory.Stats().last_error.find("timed out"), std::string::npos)
      << directory.Stats().last_error;
  ExpectWebNames(directory);
  EXPECT_EQ(log_.Count("kubernetes metadata unavailable: request to "), 1u) << log_.Dump();

  auto start = Clock::now();
  directory.Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(2'000));
}

// ---------------------------------------------------------------------------------------------
// New pods.

TEST_F(KubernetesTest, NewPodResolvesSoonAfterALookupMisses) {
  KubernetesConfig config = Config();
  config.refresh_interval = milliseconds(60'000);  // no periodic refresh during the test
  config.min_request_interval = milliseconds(200);
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;

  stub_.SetMode("pods-extra");  // a pod started after the last refresh
  EXPECT_FALSE(directory.Lookup(kExtraUid, Id(0x3001)).has_value());
  ASSERT_TRUE(WaitUntil([&] { return directory.Lookup(kExtraUid, Id(0x3001)).has_value(); },
                        milliseconds(3'000)));
  std::optional<KubernetesNames> names = directory.Lookup(kExtraUid, Id(0x3001));
  EXPECT_EQ(names->pod_name, "api-5c6d7e8f9-q8w7e");
  EXPECT_EQ(names->container_name, "api");
  EXPECT_EQ(names->container_image, "ghcr.io/example/api:1.4");
  EXPECT_EQ(directory.Stats().pods, 4u);
}

TEST_F(KubernetesTest, MissesAskForFewRefreshes) {
  KubernetesConfig config = Config();
  config.refresh_interval = milliseconds(60'000);
  config.min_request_interval = milliseconds(100);
  PodDirectory directory(config, log_.Function());
  directory.Start();
  ASSERT_TRUE(WaitAvailable(directory)) << directory.Stats().last_error;
  size_t before = stub_.RequestCount();

  // A pod that no list will name, and a pod sandbox, looked up over and over for 2 s: each miss
  // asks at most three times, and refreshes come at most every 100 ms.
  auto end = Clock::now() + milliseconds(2'000);
  while (Clock::now() < end) {
    directory.Lookup(kUnknownUid, Id(0x1001));
    directory.Lookup(kWebUid, Id(0xfeed));
    std::this_thread::sleep_for(milliseconds(1));
  }
  size_t asked = stub_.RequestCount() - before;
  EXPECT_GE(asked, 1u);
  EXPECT_LE(asked, 6u);
}

// ---------------------------------------------------------------------------------------------
// Configuration and parsing.

TEST_F(KubernetesTest, OffMakesNoRequests) {
  KubernetesConfig config = Config();
  config.endpoint = KubernetesEndpoint::kOff;
  PodDirectory directory(config, log_.Function());
  directory.Start();
  EXPECT_FALSE(directory.Lookup(kWebUid, Id(0x1001)).has_value());
  std::this_thread::sleep_for(milliseconds(300));
  directory.Stop();
  EXPECT_EQ(stub_.RequestCount(), 0u);
  EXPECT_FALSE(directory.Stats().available);
  EXPECT_TRUE(log_.Lines().empty()) << log_.Dump();
}

TEST(KubernetesUrl, Defaults) {
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kKubelet, "", "", ""),
            "https://127.0.0.1:10250/pods");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kKubelet, "node-1", "10.96.0.1", "443"),
            "https://node-1:10250/pods");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "node-1", "10.96.0.1", "443"),
            "https://10.96.0.1:443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1"
            "&resourceVersion=0");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "node-1", "fd00::1", "443"),
            "https://[fd00::1]:443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1"
            "&resourceVersion=0");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "", "10.96.0.1", "443"), "");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "node-1", "", ""), "");
  EXPECT_EQ(DefaultKubernetesUrl(KubernetesEndpoint::kOff, "node-1", "10.96.0.1", "443"), "");
}

TEST(KubernetesUrl, ApiServerWithoutAddressLogsOnceAndStaysOff) {
  std::vector<std::string> lines;
  KubernetesConfig config;
  config.endpoint = KubernetesEndpoint::kApiServer;
  config.url = DefaultKubernetesUrl(KubernetesEndpoint::kApiServer, "node-1", "", "");
  PodDirectory directory(config, [&](LogLevel, std::string_view m) { lines.emplace_back(m); });
  directory.Start();
  directory.Start();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("kubernetes metadata disabled"), std::string::npos) << lines[0];
  EXPECT_FALSE(directory.Lookup(kWebUid, "").has_value());
}

const std::vector<std::string> kLabels = {"app.kubernetes.io/name", "app"};

TEST(KubernetesParse, RuntimeSchemesStatusKindsAndLabels) {
  Result<PodSnapshot> snapshot = ParsePodList(R"({
    "kind": "PodList", "apiVersion": "v1", "metadata": {},
    "items": [
      {"metadata": {"uid": "u1", "name": "a", "namespace": "n",
                    "labels": {"app": "x", "secret-ish": "y", "app.kubernetes.io/name": "z"}},
       "spec": {"nodeName": "node-1", "containers": [{"name": "ignored"}]},
       "status": {
         "initContainerStatuses": [{"name": "init", "image": "i", "containerID": "cri-o://11"}],
         "containerStatuses": [{"name": "main", "image": "m", "containerID": "docker://22"},
                               {"name": "waiting", "image": "w"}],
         "ephemeralContainerStatuses": [{"name": "dbg", "containerID": "containerd://33"}]}},
      {"metadata": {"name": "no-uid"}},
      "not an object",
      {"metadata": {"uid": "u1", "name": "duplicate"}}
    ]})",
                                              kLabels);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().Message();
  ASSERT_EQ(snapshot->pods.size(), 1u);
  const KubePod* pod = snapshot->Find("u1");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->name, "a");
  EXPECT_EQ(pod->node_name, "node-1");
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(pod->labels, (Labels{{"app.kubernetes.io/name", "z"}, {"app", "x"}}));
  ASSERT_EQ(pod->containers.size(), 3u);
  EXPECT_EQ(pod->containers.at("11").name, "init");
  EXPECT_EQ(pod->containers.at("22").name, "main");
  EXPECT_EQ(pod->containers.at("22").image, "m");
  EXPECT_EQ(pod->containers.at("33").name, "dbg");
}

TEST(KubernetesParse, MirrorPodFoundByItsStaticPodUid) {
  Result<PodSnapshot> snapshot = ParsePodList(
      R"({"items": [{"metadata": {"uid": "mirror", "name": "etcd-n", "annotations":
          {"kubernetes.io/config.mirror": "hash", "kubernetes.io/config.hash": "hash"}}}]})",
      kLabels);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().Message();
  ASSERT_NE(snapshot->Find("hash"), nullptr);
  EXPECT_EQ(snapshot->Find("hash"), snapshot->Find("mirror"));
}

TEST(KubernetesParse, RejectsWhatIsNotAPodList) {
  EXPECT_FALSE(ParsePodList("", kLabels).ok());
  EXPECT_FALSE(ParsePodList(R"({"items": [{"metadata": )", kLabels).ok());
  EXPECT_FALSE(ParsePodList("[]", kLabels).ok());
  EXPECT_FALSE(ParsePodList(R"({"kind": "Status"})", kLabels).ok());
  EXPECT_FALSE(ParsePodList(R"({"items": {}})", kLabels).ok());
  Result<PodSnapshot> empty = ParsePodList(R"({"items": null})", kLabels);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->pods.empty());
  // Deep nesting where nothing is kept: parsed without recursion, dropped.
  std::string deep =
      R"({"items": [{"spec": )" + std::string(100'000, '[') + std::string(100'000, ']') + "}]}";
  EXPECT_TRUE(ParsePodList(deep, kLabels).ok());
}

TEST(KubernetesParse, StripContainerIdScheme) {
  EXPECT_EQ(StripContainerIdScheme("containerd://abc"), "abc");
  EXPECT_EQ(StripContainerIdScheme("cri-o://abc"), "abc");
  EXPECT_EQ(StripContainerIdScheme("docker://abc"), "abc");
  EXPECT_EQ(StripContainerIdScheme("abc"), "abc");
  EXPECT_EQ(StripContainerIdScheme(""), "");
}

}  // namespace
}  // namespace pidscope
