// Kubernetes names for the ids that cgroup paths give (resolve/cgroup_identity.hpp): the pod's
// name, namespace and node, a few well-known labels, and the container's name and image. They
// come from the node's kubelet (GET https://<node>:10250/pods) or from the API server (the pods
// with spec.nodeName=<node>), asked with the service-account token and CA a DaemonSet pod has.
//
// A PodDirectory fetches the node's pod list on a thread of its own, every refresh interval and
// soon after a lookup misses, and answers lookups from the last list it parsed. A lookup copies
// a pointer under a mutex that no I/O ever holds: it never waits for the network. When the
// endpoint is down, slow, forbidden, or answers with something that is not a pod list, the last
// good list stays in use (pods it does not know show ids only), retries back off, and the change
// of state is logged once, not per process; Stats() feeds the metrics.
//
// Permissions. The API server needs `list` on `pods`. The kubelet authorises GET /pods as
// `get` on `nodes/proxy`, which also opens the kubelet's exec and attach endpoints; from
// Kubernetes 1.36 (beta from 1.33 behind KubeletFineGrainedAuthz) `nodes/pods` suffices. Prefer
// the API server where granting `nodes/proxy` is not acceptable.
//
// Certificates. Unless the cluster enables kubelet serverTLSBootstrap, each kubelet's serving
// certificate is self-signed by that kubelet: the service account's ca.crt (the cluster CA) does
// not verify it, and it names the node's host names and addresses, not 127.0.0.1. The choices
// are a CA file that did sign it, or insecure_skip_verify: the connection is then encrypted but
// not authenticated, and the bearer token goes to whoever answers on that address.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pidscope/result.hpp"
#include "runtime/log.hpp"

namespace pidscope {

enum class KubernetesEndpoint { kOff, kKubelet, kApiServer };

inline constexpr std::string_view kServiceAccountTokenFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr std::string_view kServiceAccountCaFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
inline constexpr uint16_t kKubeletPort = 10250;

// The labels a pod keeps (where it has them): a bounded set of well-known keys, so that what
// reaches metrics and events stays small whatever the pods carry.
inline constexpr std::string_view kDefaultPodLabels[] = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/version",
    "app",
    "k8s-app",
};

struct KubernetesConfig {
  KubernetesEndpoint endpoint = KubernetesEndpoint::kKubelet;
  // Empty: DefaultKubernetesUrl(endpoint) from the environment.
  std::string url;
  // Read before every request (projected service-account tokens rotate); empty sends no token.
  // A token is only ever sent over https.
  std::string token_file{kServiceAccountTokenFile};
  // PEM bundle to verify the server with; empty uses the system's CA store.
  std::string ca_file{kServiceAccountCaFile};
  // Do not verify the server's certificate nor its name (see the header comment). Off.
  bool insecure_skip_verify = false;
  // Use http_proxy/https_proxy/no_proxy from the environment. Off: the node's kubelet and the
  // in-cluster API server are reached directly even where a cluster-wide proxy is set.
  bool use_proxy_environment = false;
  std::chrono::milliseconds refresh_interval{30'000};
  std::chrono::milliseconds request_timeout{5'000};  // the whole request, connect included
  std::chrono::milliseconds connect_timeout{2'000};
  // After a failure the next attempt waits initial_backoff, then twice as long each time, up to
  // refresh_interval * 4.
  std::chrono::milliseconds initial_backoff{1'000};
  // A lookup that misses asks for a refresh at most this often (and never while failing).
  std::chrono::milliseconds min_request_interval{5'000};
  size_t max_response_bytes = size_t{64} << 20;
  std::vector<std::string> labels{std::begin(kDefaultPodLabels), std::end(kDefaultPodLabels)};
};

// The default URL for `endpoint`, from the variables a pod has:
//   kubelet:   https://<node_name or 127.0.0.1>:10250/pods
//   apiserver: https://<service_host>:<service_port>/api/v1/pods?fieldSelector=
//              spec.nodeName%3D<node_name>&resourceVersion=0  (served from the watch cache)
// Empty when the endpoint is off, or is the API server and service_host or node_name is empty.
std::string DefaultKubernetesUrl(KubernetesEndpoint endpoint, std::string_view node_name,
                                 std::string_view service_host, std::string_view service_port);
// The same with NODE_NAME, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from the
// environment (NODE_NAME set in the DaemonSet from spec.nodeName through the downward API).
std::string DefaultKubernetesUrl(KubernetesEndpoint endpoint);

// ---------------------------------------------------------------------------------------------
// The pod list.

struct KubeContainer {
  std::string name;
  std::string image;
};

struct KubePod {
  std::string uid;
  std::string namespace_name;
  std::string name;
  std::string node_name;
  std::vector<std::pair<std::string, std::string>> labels;  // KubernetesConfig::labels only
  // Containers, init and ephemeral containers included, by id without the runtime's scheme
  // ("containerd://", "cri-o://", "docker://"): the id the cgroup path shows. A container that
  // has not started yet has no id and is absent.
  std::unordered_map<std::string, KubeContainer> containers;
};

struct PodSnapshot {
  std::vector<KubePod> pods;
  // Pod UID -> index in `pods`. A static pod is also found by the UID its cgroups carry, which
  // the API server shows in the mirror pod's kubernetes.io/config.mirror annotation.
  std::unordered_map<std::string, size_t> by_uid;

  const KubePod* Find(std::string_view uid) const;
};

// Parses a PodList (the kubelet's /pods and the API server's list answer alike). Fields other
// than the ones kept are dropped while parsing, so memory follows what is kept, not the size of
// the answer. A document that is not JSON or has no "items" array is an error.
Result<PodSnapshot> ParsePodList(std::string_view json, const std::vector<std::string>& labels);

// "containerd://abc" -> "abc"; an id without a scheme is returned as is.
std::string_view StripContainerIdScheme(std::string_view container_id);

// ---------------------------------------------------------------------------------------------
// The directory.

// What a lookup finds (ECS: orchestrator.namespace, orchestrator.resource.name, container.name,
// container.image.name).
struct KubernetesNames {
  std::string pod_uid;
  std::string pod_namespace;
  std::string pod_name;
  std::string node_name;
  std::vector<std::pair<std::string, std::string>> labels;
  // Empty when the container id is empty or not in the pod's list (a pod sandbox, or a container
  // started after the last refresh).
  std::string container_name;
  std::string container_image;
};

struct PodDirectoryStats {
  uint64_t refreshes_ok = 0;
  uint64_t refreshes_failed = 0;
  uint64_t consecutive_failures = 0;
  std::string last_error;         // of the latest failed refresh; kept after recovery
  bool available = false;         // the latest refresh succeeded
  uint64_t pods = 0;              // in the snapshot in use
  int64_t last_success_unix = 0;  // seconds; 0: never
};

// Where the directory reports its changes of state. The default is the process log.
using KubernetesLogFunction = std::function<void(LogLevel, std::string_view)>;

class PodDirectory {
 public:
  explicit PodDirectory(KubernetesConfig config, KubernetesLogFunction log = nullptr);
  ~PodDirectory();  // Stop()
  PodDirectory(const PodDirectory&) = delete;
  PodDirectory& operator=(const PodDirectory&) = delete;

  // Starts the refresh thread; the first refresh begins at once. Does nothing when the
  // endpoint is off or no URL can be made (logged once), or after the first call.
  void Start();
  // Stops the thread, aborting a request in flight; returns within milliseconds whatever the
  // server does. Lookups keep answering from the last snapshot.
  void Stop();

  // The names of a pod and of one of its containers from the last good snapshot; nullopt when
  // the pod is unknown (the caller shows ids). Never waits for I/O. A miss, of the pod or of a
  // container id in a known pod, asks for a refresh (RequestRefresh()); the same miss asks again
  // at most a few times, so that a pod sandbox (whose id no pod list names) or a pod that is
  // gone does not keep the directory polling.
  std::optional<KubernetesNames> Lookup(std::string_view pod_uid,
                                        std::string_view container_id) const;
  // Asks for a refresh soon: honoured at most once per min_request_interval, and ignored while
  // the endpoint is failing (the backoff decides then). Never waits.
  void RequestRefresh() const;

  std::shared_ptr<const PodSnapshot> Snapshot() const;
  PodDirectoryStats Stats() const;
  const std::string& url() const { return url_; }

 private:
  struct Http;  // libcurl handles, known only to the .cpp

  void Run();
  Result<std::shared_ptr<const PodSnapshot>> Refresh();
  void Report(LogLevel level, const std::string& message) const;

  const KubernetesConfig config_;
  const std::string url_;
  KubernetesLogFunction log_;
  std::unique_ptr<Http> http_;
  std::thread thread_;

  mutable std::mutex snapshot_mutex_;  // held for pointer copies only
  std::shared_ptr<const PodSnapshot> snapshot_;
  uint64_t generation_ = 0;  // of snapshot_; counts the snapshots taken

  // Misses already asked about: "uid/container id" -> the generation asked in and how often.
  // A miss that later snapshots still do not explain (a pod sandbox, a pod gone) stops asking.
  struct Miss {
    uint64_t generation = 0;
    int requests = 0;
  };
  mutable std::mutex misses_mutex_;
  mutable std::unordered_map<std::string, Miss> misses_;

  mutable std::mutex stats_mutex_;
  PodDirectoryStats stats_;

  // The refresh thread sleeps on wake_; Stop() and RequestRefresh() wake it.
  mutable std::mutex wake_mutex_;
  mutable std::condition_variable wake_;
  bool started_ = false;                                  // under wake_mutex_
  bool stopping_ = false;                                 // under wake_mutex_
  mutable bool refresh_requested_ = false;                // under wake_mutex_
  bool failing_ = false;                                  // under wake_mutex_
  std::chrono::steady_clock::time_point last_attempt_{};  // under wake_mutex_
};

}  // namespace pidscope
