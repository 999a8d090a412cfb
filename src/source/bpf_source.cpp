#include "source/bpf_source.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "bpf/skeleton.hpp"
#include "pidscope.h"
#include "pidscope_bpf.skel.h"
#include "source/bpf_task_iter.hpp"

namespace pidscope {
namespace {

// The hooks without which the process model cannot be kept: Start() fails if one is missing.
// (sched_process_exit is required as one of its two variants, see bpf/exit.bpf.c.)
constexpr std::string_view kRequiredPrograms[] = {"sched_process_fork", "sched_process_exec",
                                                  "sched_process_free"};
constexpr std::string_view kExitProgram = "sched_process_exit";               // (task, group_dead)
constexpr std::string_view kExitFallbackProgram = "sched_process_exit_live";  // (task)

constexpr uint32_t kDefaultRingBufferBytes = 4u << 20;

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kDebugfsTracing = "/sys/kernel/debug/tracing";

int LibbpfPrint(libbpf_print_level level, const char* format, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  if (std::strncmp(format, "libbpf: ", 8) != 0) std::fputs("libbpf: ", stderr);
  return std::vfprintf(stderr, format, args);
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Where libbpf looks for tracepoint ids: it prefers the debugfs view when that exists
// (libbpf's tracefs_path()), so probe the same directory.
std::string TracefsDir() { return Exists(kDebugfsTracing) ? kDebugfsTracing : kTracefs; }

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};

// The number of arguments tracepoint `name` passes to tp_btf programs (its btf_trace_<name>
// typedef, a pointer to a function whose first parameter is the probe's data pointer), or -1
// if this kernel has no such tracepoint.
int TracepointArity(const btf* vmlinux, std::string_view name) {
  if (vmlinux == nullptr) return -1;
  const std::string type_name = "btf_trace_" + std::string(name);
  const int id = btf__find_by_name_kind(vmlinux, type_name.c_str(), BTF_KIND_TYPEDEF);
  if (id <= 0) return -1;
  const btf_type* t = btf__type_by_id(vmlinux, id);
  if (t == nullptr) return -1;
  t = btf__type_by_id(vmlinux, t->type);  // the pointer
  if (t == nullptr || !btf_is_ptr(t)) return -1;
  t = btf__type_by_id(vmlinux, t->type);  // the function prototype
  if (t == nullptr || !btf_is_func_proto(t)) return -1;
  return static_cast<int>(btf_vlen(t)) - 1;
}

bool IsRequired(std::string_view program) {
  return std::find(std::begin(kRequiredPrograms), std::end(kRequiredPrograms), program) !=
         std::end(kRequiredPrograms);
}

template <typename T>
bool ReadRecord(std::span<const std::byte> record, T* out) {
  if (record.size() != sizeof(T)) return false;
  std::memcpy(out, record.data(), sizeof(T));
  return true;
}

void CopyComm(const char (&comm)[PIDSCOPE_COMM_LEN], std::array<char, kCommLength>* out) {
  static_assert(PIDSCOPE_COMM_LEN == kCommLength);
  std::memcpy(out->data(), comm, kCommLength);
  out->back() = '\0';
}

void CopyCreds(const pidscope_creds& creds, Event* event) {
  event->creds_known = true;
  std::copy(std::begin(creds.uid), std::end(creds.uid), event->uid.begin());
  std::copy(std::begin(creds.gid), std::end(creds.gid), event->gid.begin());
  event->cap_effective = creds.cap_effective;
  event->cap_permitted = creds.cap_permitted;
}

// argv bytes as the kernel holds them (a NUL after each argument, the last one possibly cut)
// into the NUL-separated form of procfs::ParseCmdline: no final NUL, and a cut argument
// dropped unless it is the only one.
void DecodeArgs(std::string_view raw, bool truncated, uint32_t argc, Event* event) {
  if (truncated) {
    const size_t last_nul = raw.rfind('\0');
    if (last_nul != std::string_view::npos) raw = raw.substr(0, last_nul + 1);
  }
  if (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  event->args.assign(raw);
  event->args_count =
      raw.empty() ? 0 : static_cast<uint32_t>(std::count(raw.begin(), raw.end(), '\0')) + 1;
  event->args_truncated = truncated || event->args_count < argc;
}

BpfRecordStatus DecodeExec(std::span<const std::byte> record, Event* event) {
  pidscope_exec_event ev;
  if (record.size() < sizeof(ev)) return BpfRecordStatus::kMalformed;
  std::memcpy(&ev, record.data(), sizeof(ev));
  const size_t data_size = record.size() - sizeof(ev);
  if (static_cast<size_t>(ev.filename_size) + ev.args_size != data_size) {
    return BpfRecordStatus::kMalformed;
  }
  const auto* data = reinterpret_cast<const char*>(record.data() + sizeof(ev));
  std::string_view filename(data, ev.filename_size);
  filename = filename.substr(0, filename.find('\0'));
  event->filename.assign(filename);
  DecodeArgs(std::string_view(data + ev.filename_size, ev.args_size),
             (ev.flags & PIDSCOPE_EXEC_ARGS_TRUNCATED) != 0, ev.argc, event);
  event->old_tid = static_cast<int32_t>(ev.old_tid);
  event->cgroup_id = ev.cgroup_id;
  CopyCreds(ev.creds, event);
  CopyComm(ev.comm, &event->comm);
  return BpfRecordStatus::kEvent;
}

}  // namespace

BpfRecordStatus DecodeBpfRecord(std::span<const std::byte> record, uint64_t ns_per_tick,
                                Event* event) {
  pidscope_event_header hdr;
  if (record.size() < sizeof(hdr) || ns_per_tick == 0) return BpfRecordStatus::kMalformed;
  std::memcpy(&hdr, record.data(), sizeof(hdr));
  if (hdr.size != record.size()) return BpfRecordStatus::kMalformed;

  ResetEvent(event);
  event->source = EventSource::kBpf;
  event->timestamp_ns = hdr.timestamp_ns;
  event->pid = static_cast<int32_t>(hdr.tgid);
  event->tid = static_cast<int32_t>(hdr.tid);
  event->start_boot_ns = hdr.start_boottime_ns;
  event->start_ticks = hdr.start_boottime_ns / ns_per_tick;
  event->ppid = static_cast<int32_t>(hdr.ppid);

  switch (hdr.type) {
    case PIDSCOPE_EVENT_FORK: {
      pidscope_fork_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      if (ev.is_thread != 0) return BpfRecordStatus::kIgnored;
      event->action = EventAction::kFork;
      event->parent_tid = static_cast<int32_t>(ev.parent_pid);
      event->pidns_inode = ev.pidns_inum;
      event->pidns_level = static_cast<uint8_t>(ev.pidns_level);
      event->pidns_known = true;
      for (size_t i = 0; i < kMaxPidnsLevels && i < PIDSCOPE_MAX_PIDNS_LEVELS; ++i) {
        event->ns_pids[i] = static_cast<int32_t>(ev.ns_pids[i]);
      }
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_EXEC:
      event->action = EventAction::kExec;
      return DecodeExec(record, event);
    case PIDSCOPE_EVENT_EXIT:
    case PIDSCOPE_EVENT_THREAD_EXIT: {
      pidscope_exit_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      event->action =
          hdr.type == PIDSCOPE_EVENT_EXIT ? EventAction::kExit : EventAction::kThreadExit;
      SetExitFromWaitStatus(static_cast<uint32_t>(ev.exit_status), event);
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_REAP: {
      pidscope_reap_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      event->action = EventAction::kReap;
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_SETSID:
    case PIDSCOPE_EVENT_SETPGID: {
      pidscope_session_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      if ((ev.flags & PIDSCOPE_SESSION_TARGET_UNKNOWN) != 0) return BpfRecordStatus::kUnresolved;
      event->action =
          hdr.type == PIDSCOPE_EVENT_SETSID ? EventAction::kSetsid : EventAction::kSetpgid;
      event->pgid = static_cast<int32_t>(ev.pgid);
      event->sid = static_cast<int32_t>(ev.sid);
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_CREDS: {
      pidscope_creds_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      event->action = EventAction::kCredChange;
      CopyCreds(ev.creds, event);
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_SUBREAPER: {
      pidscope_subreaper_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      event->action = EventAction::kSubreaper;
      event->subreaper = ev.is_child_subreaper != 0;
      return BpfRecordStatus::kEvent;
    }
    case PIDSCOPE_EVENT_RENAME: {
      pidscope_rename_event ev;
      if (!ReadRecord(record, &ev)) return BpfRecordStatus::kMalformed;
      event->action = EventAction::kComm;
      CopyComm(ev.new_comm, &event->comm);
      return BpfRecordStatus::kEvent;
    }
    default:
      return BpfRecordStatus::kMalformed;
  }
}

void InstallLibbpfLogging() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(LibbpfPrint); });
}

struct BpfSource::Impl {
  explicit Impl(BpfSourceOptions opts) : options(std::move(opts)) {
    const long ticks = sysconf(_SC_CLK_TCK);
    ns_per_tick = 1'000'000'000ull / static_cast<uint64_t>(ticks > 0 ? ticks : 100);
  }

  void Log(const std::string& message) const {
    if (options.log) {
      options.log(message);
    } else {
      std::fprintf(stderr, "pidscope: bpf: %s\n", message.c_str());
    }
  }

  Status EnsureTracefs();
  Status ProbeHooks();
  Status AttachHooks();
  void CheckLost();
  void Stop() {
    ring.Reset();
    links.clear();
    skel.Reset();
    started = false;
  }

  // The ring buffer's callback, with the sink of the Poll() in progress.
  int OnRecord(std::span<const std::byte> record) {
    switch (DecodeBpfRecord(record, ns_per_tick, &event)) {
      case BpfRecordStatus::kEvent:
        ++stats.events_received;
        ++delivered;
        if (sink != nullptr) (*sink)(event);
        break;
      case BpfRecordStatus::kIgnored:
        break;
      case BpfRecordStatus::kUnresolved:
        ++stats.loss_signals;
        break;
      case BpfRecordStatus::kMalformed:
        ++malformed;
        break;
    }
    return 0;
  }

  struct Handler {
    Impl* impl;
    int operator()(std::span<const std::byte> record) { return impl->OnRecord(record); }
  };

  BpfSourceOptions options;
  uint64_t ns_per_tick = 0;
  // Declared in teardown order (reverse): the ring buffer before the links, the links before
  // the skeleton that owns the programs and maps.
  bpf::Skeleton<pidscope_bpf> skel;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;
  Handler handler{this};
  bpf::RingBuffer ring;

  std::vector<std::string> disabled;
  Event event;  // reused for every record
  const EventSink* sink = nullptr;
  size_t delivered = 0;
  SourceStats stats;
  uint64_t malformed = 0;
  bool started = false;
};

Status BpfSource::Impl::EnsureTracefs() {
  if (Exists(TracefsDir() + "/events")) return Ok{};
  if (!options.mount_tracefs) {
    Log("tracefs is not mounted: the syscall tracepoints (setsid, setpgid, credentials, "
        "sub-reaper) are unavailable");
    return Ok{};
  }
  if (mount("tracefs", kTracefs, "tracefs", 0, nullptr) != 0) {
    const int err = errno;
    Log(std::string("cannot mount tracefs at ") + kTracefs + ": " + std::strerror(err) +
        "; the syscall tracepoints are unavailable");
    return Ok{};
  }
  Log(std::string("mounted tracefs at ") + kTracefs + " for the syscall tracepoints");
  return Ok{};
}

// Leaves out (autoload off) every program whose attach point this kernel lacks: tp_btf and
// raw_tp programs need the tracepoint's BTF, tracepoint programs its tracefs directory.
Status BpfSource::Impl::ProbeHooks() {
  std::unique_ptr<btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
  if (vmlinux == nullptr) {
    return Error{errno != 0 ? errno : ENOENT, "load the kernel's BTF (/sys/kernel/btf/vmlinux)"};
  }
  const std::string events_dir = TracefsDir() + "/events/";
  const int exit_arity = TracepointArity(vmlinux.get(), "sched_process_exit");

  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    const std::string_view name = bpf_program__name(prog);
    const std::string_view section = bpf_program__section_name(prog);
    if (name == kExitProgram || name == kExitFallbackProgram) {
      // Exactly one of the two: the group_dead variant where the tracepoint passes it.
      if (exit_arity < 0) return Error{ENOTSUP, "this kernel has no sched_process_exit tracepoint"};
      if ((name == kExitProgram) != (exit_arity >= 2)) bpf_program__set_autoload(prog, false);
      continue;
    }
    bool available = true;
    if (section.starts_with("tp_btf/") || section.starts_with("raw_tp/")) {
      available = TracepointArity(vmlinux.get(), section.substr(section.find('/') + 1)) >= 0;
    } else if (section.starts_with("tracepoint/") || section.starts_with("tp/")) {
      available = Exists(events_dir + std::string(section.substr(section.find('/') + 1)));
    }
    if (available) continue;
    if (IsRequired(name)) {
      return Error{ENOTSUP, "this kernel has no tracepoint for " + std::string(section)};
    }
    bpf_program__set_autoload(prog, false);
    disabled.emplace_back(section);
    Log("hook " + std::string(section) + " is not available here: disabled");
  }
  return Ok{};
}

// Attaches every loaded program; an optional hook that fails to attach is logged and left out.
Status BpfSource::Impl::AttachHooks() {
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    if (!bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      const int err = errno != 0 ? errno : EINVAL;
      const std::string section = bpf_program__section_name(prog);
      const std::string_view name = bpf_program__name(prog);
      if (IsRequired(name) || name == kExitProgram || name == kExitFallbackProgram) {
        return Error{err, "attach BPF program to " + section};
      }
      disabled.push_back(section);
      Log("hook " + section + " failed to attach (" + std::strerror(err) + "): disabled");
      continue;
    }
    links.emplace_back(link);
  }
  return Ok{};
}

void BpfSource::Impl::CheckLost() {
  uint64_t lost = 0;
  if (bpf::SumPerCpuCounter(skel->maps.lost_events, PIDSCOPE_LOST_ALL, &lost) != 0) return;
  if (lost > stats.events_lost) {
    ++stats.loss_signals;
    stats.events_lost = lost;
  }
}

BpfSource::BpfSource(BpfSourceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

BpfSource::~BpfSource() { Stop(); }

Status BpfSource::Start() {
  Impl& s = *impl_;
  if (s.started) return Error{EALREADY, "BPF source already started"};
  InstallLibbpfLogging();
  s.disabled.clear();
  s.stats = SourceStats{};
  s.malformed = 0;

  if (Status st = s.EnsureTracefs(); !st) return st;
  if (int err = s.skel.Open(); err != 0) return Error{-err, "open BPF object"};
  auto fail = [&s](Error error) -> Status {
    s.Stop();
    return error;
  };

  s.skel->rodata->target_tgid = static_cast<uint32_t>(std::max(0, s.options.only_tgid));
  // Event has no way to say "a thread was created"; kThreadExit covers what the model needs.
  s.skel->rodata->emit_threads = false;
  s.skel->rodata->emit_thread_exits = true;
  s.skel->rodata->exec_args_max = std::min<uint32_t>(s.options.max_args_bytes, PIDSCOPE_ARGS_MAX);
  const uint32_t ring_bytes =
      s.options.ring_buffer_bytes != 0 ? s.options.ring_buffer_bytes : kDefaultRingBufferBytes;
  if (int err = bpf_map__set_max_entries(s.skel->maps.events, ring_bytes); err != 0) {
    return fail(Error{-err, "set the BPF ring buffer size"});
  }

  if (Status st = s.ProbeHooks(); !st) return fail(st.error());
  if (int err = s.skel.Load(); err != 0) {
    return fail(Error{-err, "load BPF programs (the libbpf messages above say why)"});
  }
  if (Status st = s.AttachHooks(); !st) return fail(st.error());
  if (int err = s.ring.Open(bpf_map__fd(s.skel->maps.events), &s.handler); err != 0) {
    return fail(Error{-err, "open the BPF ring buffer"});
  }
  s.started = true;
  return Ok{};
}

Result<size_t> BpfSource::Poll(int timeout_ms, const EventSink& sink) {
  Impl& s = *impl_;
  if (!s.started) return Error{EINVAL, "BPF source not started"};
  s.sink = &sink;
  s.delivered = 0;
  const int n = s.ring.Poll(std::chrono::milliseconds(std::max(0, timeout_ms)));
  s.sink = nullptr;
  s.CheckLost();
  if (n < 0 && n != -EINTR) return Error{-n, "poll the BPF ring buffer"};
  return s.delivered;
}

SourceStats BpfSource::Stats() const { return impl_->stats; }

void BpfSource::Stop() { impl_->Stop(); }

const std::vector<std::string>& BpfSource::disabled_hooks() const { return impl_->disabled; }

uint64_t BpfSource::malformed_records() const { return impl_->malformed; }

int BpfSource::epoll_fd() const { return impl_->started ? impl_->ring.epoll_fd() : -1; }

void BpfSource::AnnotateSnapshot(std::vector<Process>* processes) {
  auto tasks = ReadTasksFromKernel();
  if (!tasks) {
    impl_->Log("task iterator unavailable, sub-reaper state of existing processes stays unknown: " +
               tasks.error().Message());
    return;
  }
  std::unordered_map<int32_t, const TaskRecord*> by_pid;
  by_pid.reserve(tasks->size());
  for (const TaskRecord& task : *tasks) by_pid.emplace(task.pid, &task);
  for (Process& p : *processes) {
    auto it = by_pid.find(p.key.pid);
    if (it == by_pid.end() || it->second->start_ticks != p.key.start_ticks) continue;
    p.subreaper = it->second->subreaper ? Tristate::kYes : Tristate::kNo;
  }
}

}  // namespace pidscope
