#include "resolve/kubernetes.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "pidscope/unique_fd.hpp"

namespace pidscope {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kMirrorAnnotation = "kubernetes.io/config.mirror";
// Longer strings are not names Kubernetes would accept (pod names have at most 253 bytes):
// they are dropped rather than carried into every event.
constexpr size_t kMaxFieldBytes = 4096;
constexpr size_t kMaxTokenBytes = 64 * 1024;
constexpr size_t kMaxStatusMessageBytes = 300;
constexpr int kMaxMissRequests = 3;
constexpr size_t kMaxMisses = 4096;
constexpr int kPollMs = 1000;  // curl_multi_poll; Stop() wakes it sooner

// ---------------------------------------------------------------------------------------------
// Small helpers.

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

int64_t UnixSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec);
}

// Percent-encodes all but RFC 3986's unreserved characters.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

// A host for a URL: IPv6 literals go in brackets.
std::string UrlHost(std::string_view host) {
  if (host.find(':') != std::string_view::npos && host.front() != '[') {
    return "[" + std::string(host) + "]";
  }
  return std::string(host);
}

Result<std::string> ReadToken(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::FromErrno("read token file " + path);
  std::string data;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::FromErrno("read token file " + path);
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > kMaxTokenBytes) return Error{0, "token file " + path + " is too large"};
  }
  std::string token(Trim(data));
  if (token.empty()) return Error{0, "token file " + path + " is empty"};
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Error{0, "token file " + path + " holds more than one line"};
  }
  return token;
}

const char* ReasonPhrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string Shorten(std::string text) {
  if (text.size() > kMaxStatusMessageBytes) {
    text.resize(kMaxStatusMessageBytes);
    text += "...";
  }
  return text;
}

// What an error answer says: the "message" of the API server's Status object ("pods is
// forbidden: User ... cannot list resource ..."), or the first line of the kubelet's plain-text
// refusal ("Forbidden (user=..., verb=get, resource=nodes, subresource(s)=[proxy])"); empty
// for anything else.
std::string ErrorBodyMessage(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto it = doc.find("message");
    if (it != doc.end() && it->is_string()) return Shorten(it->get<std::string>());
    return {};
  }
  std::string_view line = Trim(body.substr(0, body.find('\n')));
  if (line.empty() || line.size() > kMaxStatusMessageBytes) return {};
  bool printable =
      std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  return printable ? std::string(line) : std::string();
}

// ---------------------------------------------------------------------------------------------
// Parsing.

// Keys at each depth of a PodList that parsing keeps, by the keys above them:
//   1 items · 3 metadata|spec|status · 4 metadata.{uid,name,namespace,labels,annotations},
//   spec.nodeName, status.{init,ephemeral,}containerStatuses · 5 the chosen labels, the mirror
//   annotation · 6 the statuses' name, image and containerID.
// Depth is the number of open objects and arrays, so the keys of items[] objects are at 3.
using KeyPath = std::array<std::string, 7>;

bool KeepKey(int depth, const KeyPath& path, const std::string& key,
             const std::vector<std::string>& labels) {
  switch (depth) {
    case 1:
      return key == "items";
    case 3:
      return key == "metadata" || key == "spec" || key == "status";
    case 4:
      if (path[3] == "metadata") {
        return key == "uid" || key == "name" || key == "namespace" || key == "labels" ||
               key == "annotations";
      }
      if (path[3] == "spec") return key == "nodeName";
      if (path[3] == "status") {
        return key == "containerStatuses" || key == "initContainerStatuses" ||
               key == "ephemeralContainerStatuses";
      }
      return false;
    case 5:
      if (path[3] != "metadata") return false;
      if (path[4] == "labels") return std::find(labels.begin(), labels.end(), key) != labels.end();
      if (path[4] == "annotations") return key == kMirrorAnnotation;
      return false;
    case 6:
      return path[3] == "status" && (key == "name" || key == "image" || key == "containerID");
    default:
      return false;
  }
}

// A member that is a string of sensible length, or "".
std::string StringMember(const json& object, std::string_view key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  const auto& value = it->get_ref<const std::string&>();
  return value.size() <= kMaxFieldBytes ? value : std::string();
}

const json* Member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

void AddContainers(const json* statuses, KubePod* pod) {
  if (statuses == nullptr || !statuses->is_array()) return;
  for (const json& status : *statuses) {
    std::string id(StripContainerIdScheme(StringMember(status, "containerID")));
    if (id.empty()) continue;  // not started yet
    pod->containers.emplace(
        std::move(id), KubeContainer{StringMember(status, "name"), StringMember(status, "image")});
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// URLs.

std::string DefaultKubernetesUrl(KubernetesEndpoint endpoint, std::string_view node_name,
                                 std::string_view service_host, std::string_view service_port) {
  switch (endpoint) {
    case KubernetesEndpoint::kOff:
      return {};
    case KubernetesEndpoint::kKubelet:
      return "https://" + (node_name.empty() ? std::string("127.0.0.1") : UrlHost(node_name)) +
             ":" + std::to_string(kKubeletPort) + "/pods";
    case KubernetesEndpoint::kApiServer:
      if (service_host.empty() || node_name.empty()) return {};
      return "https://" + UrlHost(service_host) +
             (service_port.empty() ? std::string() : ":" + std::string(service_port)) +
             "/api/v1/pods?fieldSelector=" + PercentEncode("spec.nodeName=") +
             PercentEncode(node_name) + "&resourceVersion=0";
  }
  return {};
}

std::string DefaultKubernetesUrl(KubernetesEndpoint endpoint) {
  return DefaultKubernetesUrl(endpoint, Getenv("NODE_NAME"), Getenv("KUBERNETES_SERVICE_HOST"),
                              Getenv("KUBERNETES_SERVICE_PORT"));
}

// ---------------------------------------------------------------------------------------------
// The pod list.

std::string_view StripContainerIdScheme(std::string_view container_id) {
  size_t scheme_end = container_id.find("://");
  return scheme_end == std::string_view::npos ? container_id : container_id.substr(scheme_end + 3);
}

const KubePod* PodSnapshot::Find(std::string_view uid) const {
  auto it = by_uid.find(std::string(uid));
  return it == by_uid.end() ? nullptr : &pods[it->second];
}

Result<PodSnapshot> ParsePodList(std::string_view text, const std::vector<std::string>& labels) {
  KeyPath path;
  json::parser_callback_t keep = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    if (depth < 1 || static_cast<size_t>(depth) >= path.size()) return false;
    const auto& key = parsed.get_ref<const std::string&>();
    path[static_cast<size_t>(depth)] = key;
    return KeepKey(depth, path, key, labels);
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), keep);
  } catch (const json::exception& e) {
    return Error{0, std::string("not JSON: ") + e.what()};
  } catch (const std::exception& e) {
    return Error{0, std::string("cannot parse: ") + e.what()};
  }
  if (!doc.is_object()) return Error{0, "not a JSON object"};
  const json* items = Member(doc, "items");
  if (items == nullptr) return Error{0, "no \"items\" in the answer"};
  // The kubelet writes a list without pods as "items": null (a nil Go slice).
  if (!items->is_array() && !items->is_null()) return Error{0, "\"items\" is not an array"};

  PodSnapshot snapshot;
  if (items->is_null()) return snapshot;
  snapshot.pods.reserve(items->size());
  for (const json& item : *items) {
    const json* metadata = Member(item, "metadata");
    if (metadata == nullptr) continue;
    KubePod pod;
    pod.uid = StringMember(*metadata, "uid");
    if (pod.uid.empty()) continue;
    pod.namespace_name = StringMember(*metadata, "namespace");
    pod.name = StringMember(*metadata, "name");
    if (const json* spec = Member(item, "spec")) pod.node_name = StringMember(*spec, "nodeName");
    if (const json* pod_labels = Member(*metadata, "labels")) {
      for (const std::string& key : labels) {  // in the configured order
        const json* value = Member(*pod_labels, key);
        if (value == nullptr || !value->is_string()) continue;
        const auto& text = value->get_ref<const std::string&>();
        if (text.size() <= kMaxFieldBytes) pod.labels.emplace_back(key, text);
      }
    }
    std::string mirror_of;
    if (const json* annotations = Member(*metadata, "annotations")) {
      mirror_of = StringMember(*annotations, kMirrorAnnotation);
    }
    if (const json* status = Member(item, "status")) {
      AddContainers(Member(*status, "initContainerStatuses"), &pod);
      AddContainers(Member(*status, "containerStatuses"), &pod);
      AddContainers(Member(*status, "ephemeralContainerStatuses"), &pod);
    }
    size_t index = snapshot.pods.size();
    if (!snapshot.by_uid.emplace(pod.uid, index).second) continue;  // a duplicate: first wins
    if (!mirror_of.empty()) snapshot.by_uid.emplace(mirror_of, index);
    snapshot.pods.push_back(std::move(pod));
  }
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// HTTP through libcurl's multi interface, so that Stop() can wake a transfer that waits.

struct PodDirectory::Http {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  std::atomic<bool> abort{false};
  char error[CURL_ERROR_SIZE] = {};

  Http() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi = curl_multi_init();
    easy = curl_easy_init();
  }
  ~Http() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  void Abort() {
    abort = true;
    if (multi != nullptr) curl_multi_wakeup(multi);
  }
};

namespace {

struct Body {
  std::string data;
  size_t max = 0;
  bool oversize = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  size_t n = size * count;
  if (n > body->max - std::min(body->max, body->data.size())) {
    body->oversize = true;
    return 0;  // CURLE_WRITE_ERROR ends the transfer
  }
  try {
    body->data.append(data, n);
  } catch (const std::exception&) {
    body->oversize = true;
    return 0;
  }
  return n;
}

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The directory.

PodDirectory::PodDirectory(KubernetesConfig config, KubernetesLogFunction log)
    : config_(std::move(config)),
      url_(config_.url.empty() ? DefaultKubernetesUrl(config_.endpoint) : config_.url),
      log_(std::move(log)),
      http_(std::make_unique<Http>()) {
  if (!log_) log_ = [](LogLevel level, std::string_view message) { Log(level, message); };
}

PodDirectory::~PodDirectory() { Stop(); }

void PodDirectory::Report(LogLevel level, const std::string& message) const {
  log_(level, message);
}

void PodDirectory::Start() {
  if (config_.endpoint == KubernetesEndpoint::kOff) return;
  {
    std::lock_guard lock(wake_mutex_);
    if (stopping_ || started_) return;
    started_ = true;
  }
  if (url_.empty()) {
    std::string message =
        "kubernetes metadata disabled: no API server address (KUBERNETES_SERVICE_HOST) or node "
        "name (NODE_NAME); pods will show ids only";
    {
      std::lock_guard lock(stats_mutex_);
      stats_.last_error = message;
    }
    Report(LogLevel::kWarn, message);
    return;
  }
  if (http_->multi == nullptr || http_->easy == nullptr) {
    Report(LogLevel::kError, "kubernetes metadata disabled: libcurl failed to initialise");
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void PodDirectory::Stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  http_->Abort();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const PodSnapshot> PodDirectory::Snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

PodDirectoryStats PodDirectory::Stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void PodDirectory::RequestRefresh() const {
  {
    std::lock_guard lock(wake_mutex_);
    if (stopping_ || failing_ || refresh_requested_) return;
    refresh_requested_ = true;
  }
  wake_.notify_one();
}

std::optional<KubernetesNames> PodDirectory::Lookup(std::string_view pod_uid,
                                                    std::string_view container_id) const {
  std::shared_ptr<const PodSnapshot> snapshot;
  uint64_t generation = 0;
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot = snapshot_;
    generation = generation_;
  }
  const KubePod* pod = snapshot ? snapshot->Find(pod_uid) : nullptr;
  const KubeContainer* container = nullptr;
  if (pod != nullptr && !container_id.empty()) {
    auto it = pod->containers.find(std::string(StripContainerIdScheme(container_id)));
    if (it != pod->containers.end()) container = &it->second;
  }
  if (pod == nullptr || (container == nullptr && !container_id.empty())) {
    // A pod or container newer than the snapshot: ask, a few times per miss at most.
    std::string key = std::string(pod_uid) + "/" + std::string(container_id);
    bool ask = false;
    {
      std::lock_guard lock(misses_mutex_);
      if (misses_.size() >= kMaxMisses) misses_.clear();
      Miss& miss = misses_[key];
      if (miss.requests == 0) {
        miss = Miss{generation, 1};
        ask = true;
      } else if (miss.generation == generation) {
        ask = true;  // the refresh asked for has not come yet
      } else if (miss.requests < kMaxMissRequests) {
        miss = Miss{generation, miss.requests + 1};
        ask = true;
      }
    }
    if (ask) RequestRefresh();
  }
  if (pod == nullptr) return std::nullopt;

  KubernetesNames names;
  names.pod_uid = pod->uid;
  names.pod_namespace = pod->namespace_name;
  names.pod_name = pod->name;
  names.node_name = pod->node_name;
  names.labels = pod->labels;
  if (container != nullptr) {
    names.container_name = container->name;
    names.container_image = container->image;
  }
  return names;
}

Result<std::shared_ptr<const PodSnapshot>> PodDirectory::Refresh() {
  CURL* easy = http_->easy;
  const bool https = StartsWithNoCase(url_, "https://");

  CurlSlist headers;
  headers.Append("Accept: application/json");
  if (https && !config_.token_file.empty()) {
    Result<std::string> token = ReadToken(config_.token_file);
    if (!token) return token.error();
    if (!headers.Append("Authorization: Bearer " + *token)) return Error{ENOMEM, "curl headers"};
  }

  Body body;
  body.max = config_.max_response_bytes;
  http_->error[0] = '\0';
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "pidscope");
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl decodes
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);   // the token stays with this host
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(config_.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, http_->error);
  if (!config_.use_proxy_environment) curl_easy_setopt(easy, CURLOPT_PROXY, "");
  if (config_.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!config_.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, config_.ca_file.c_str());
  }

  CURLMcode multi_code = curl_multi_add_handle(http_->multi, easy);
  if (multi_code != CURLM_OK) {
    return Error{0, std::string("curl: ") + curl_multi_strerror(multi_code)};
  }
  int running = 0;
  while (true) {
    multi_code = curl_multi_perform(http_->multi, &running);
    if (multi_code != CURLM_OK || running == 0 || http_->abort) break;
    multi_code = curl_multi_poll(http_->multi, nullptr, 0, kPollMs, nullptr);
    if (multi_code != CURLM_OK) break;
  }
  CURLcode code = CURLE_OK;
  bool done = false;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(http_->multi, &queued)) {
    if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
      code = message->data.result;
      done = true;
    }
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(http_->multi, easy);
  curl_easy_reset(easy);  // it pointed at `headers` and `body`, which go away now

  if (http_->abort) return Error{ECANCELED, "stopped"};
  if (multi_code != CURLM_OK) {
    return Error{0, std::string("curl: ") + curl_multi_strerror(multi_code)};
  }
  if (!done) return Error{0, "request to " + url_ + " did not complete"};
  if (body.oversize || code == CURLE_FILESIZE_EXCEEDED) {
    return Error{0, "answer from " + url_ + " exceeds " +
                        std::to_string(config_.max_response_bytes) + " bytes"};
  }
  if (code != CURLE_OK) {
    std::string detail = http_->error[0] != '\0' ? http_->error : curl_easy_strerror(code);
    return Error{0, "request to " + url_ + " failed: " + detail};
  }
  if (status != 200) {
    std::string message = std::to_string(status);
    if (*ReasonPhrase(status) != '\0') message += std::string(" ") + ReasonPhrase(status);
    message += " from " + url_;
    if (std::string body_message = ErrorBodyMessage(body.data); !body_message.empty()) {
      message += ": " + body_message;
    }
    return Error{0, message};
  }
  Result<PodSnapshot> parsed = ParsePodList(body.data, config_.labels);
  if (!parsed) return Error{0, "malformed pod list from " + url_ + ": " + parsed.error().context};
  return std::shared_ptr<const PodSnapshot>(
      std::make_shared<PodSnapshot>(std::move(parsed).value()));
}

void PodDirectory::Run() {
  enum class State { kUnknown, kAvailable, kUnavailable };
  State state = State::kUnknown;
  uint64_t failures = 0;
  std::minstd_rand random(std::random_device{}());

  while (true) {
    {
      std::lock_guard lock(wake_mutex_);
      if (stopping_) return;
      last_attempt_ = Clock::now();
      refresh_requested_ = false;
    }
    Result<std::shared_ptr<const PodSnapshot>> result = Error{0, "not fetched"};
    try {
      result = Refresh();
    } catch (const std::exception& e) {  // std::bad_alloc: a failed refresh, not a crash
      result = Error{0, std::string("refresh from ") + url_ + " failed: " + e.what()};
    }
    {
      std::lock_guard lock(wake_mutex_);
      if (stopping_) return;  // an aborted request is no failure of the endpoint
    }

    milliseconds delay = config_.refresh_interval;
    if (result.ok()) {
      size_t pods = (*result)->pods.size();
      {
        std::lock_guard lock(snapshot_mutex_);
        snapshot_ = *result;
        ++generation_;
      }
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.refreshes_ok;
        stats_.consecutive_failures = 0;
        stats_.available = true;
        stats_.pods = pods;
        stats_.last_success_unix = UnixSeconds();
      }
      if (state != State::kAvailable) {
        Report(LogLevel::kInfo,
               std::string(state == State::kUnknown ? "kubernetes metadata available: "
                                                    : "kubernetes metadata available again: ") +
                   std::to_string(pods) + " pods from " + url_);
      }
      state = State::kAvailable;
      failures = 0;
    } else {
      std::string error = result.error().Message();
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.refreshes_failed;
        ++stats_.consecutive_failures;
        stats_.available = false;
        stats_.last_error = error;
      }
      if (state != State::kUnavailable) {
        Report(LogLevel::kWarn,
               "kubernetes metadata unavailable: " + error +
                   (state == State::kAvailable ? "; pods not seen before will show ids only"
                                               : "; pods will show ids only"));
      }
      state = State::kUnavailable;
      ++failures;
      milliseconds cap = config_.refresh_interval * 4;
      delay = config_.initial_backoff;
      for (uint64_t i = 1; i < failures && delay < cap; ++i) delay *= 2;
      delay = std::min(delay, cap);
    }
    // Up to 10% later, so that the nodes of a cluster do not ask in step.
    if (delay.count() >= 10) {
      delay += milliseconds(std::uniform_int_distribution<int64_t>(0, delay.count() / 10)(random));
    }

    std::unique_lock lock(wake_mutex_);
    failing_ = !result.ok();
    const Clock::time_point deadline = Clock::now() + delay;
    while (!stopping_) {
      Clock::time_point now = Clock::now();
      if (now >= deadline) break;
      Clock::time_point until = deadline;
      if (refresh_requested_ && !failing_) {
        Clock::time_point allowed = last_attempt_ + config_.min_request_interval;
        if (now >= allowed) break;
        until = std::min(until, allowed);
      }
      wake_.wait_until(lock, until);
    }
    if (stopping_) return;
  }
}

}  // namespace pidscope
