#include "source/bpf_task_iter.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bpf/skeleton.hpp"
#include "pidscope.h"
#include "pidscope/unique_fd.hpp"
#include "pidscope_iter.skel.h"
#include "source/bpf_source.hpp"

namespace pidscope {
namespace {

struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};

uint64_t NsPerTick() {
  const long ticks = sysconf(_SC_CLK_TCK);
  return 1'000'000'000ull / static_cast<uint64_t>(ticks > 0 ? ticks : 100);
}

}  // namespace

Result<std::vector<TaskRecord>> DecodeTaskRecords(std::span<const std::byte> data,
                                                  uint64_t ns_per_tick) {
  if (data.size() % sizeof(pidscope_task_record) != 0 || ns_per_tick == 0) {
    return Error{EPROTO, "task iterator output is not a whole number of records"};
  }
  std::vector<TaskRecord> tasks;
  tasks.reserve(data.size() / sizeof(pidscope_task_record));
  for (size_t off = 0; off < data.size(); off += sizeof(pidscope_task_record)) {
    pidscope_task_record rec;
    std::memcpy(&rec, data.data() + off, sizeof(rec));
    TaskRecord& t = tasks.emplace_back();
    t.pid = static_cast<int32_t>(rec.tgid);
    t.ppid = static_cast<int32_t>(rec.ppid);
    t.start_boot_ns = rec.start_boottime_ns;
    t.start_ticks = rec.start_boottime_ns / ns_per_tick;
    t.pgid = static_cast<int32_t>(rec.pgid);
    t.sid = static_cast<int32_t>(rec.sid);
    t.pidns_inode = rec.pidns_inum;
    t.pidns_level = static_cast<uint8_t>(rec.pidns_level);
    for (size_t i = 0; i < kMaxPidnsLevels && i < PIDSCOPE_MAX_PIDNS_LEVELS; ++i) {
      t.ns_pids[i] = static_cast<int32_t>(rec.ns_pids[i]);
    }
    t.threads = rec.nr_threads;
    t.subreaper = rec.is_child_subreaper != 0;
    t.has_subreaper = rec.has_child_subreaper != 0;
    t.kernel_thread = (rec.flags & PIDSCOPE_TASK_KTHREAD) != 0;
    t.leader_exited = (rec.flags & PIDSCOPE_TASK_LEADER_EXITED) != 0;
    t.zombie = (rec.flags & PIDSCOPE_TASK_GROUP_DEAD) != 0;
    static_assert(sizeof(rec.comm) == kCommLength);
    std::memcpy(t.comm.data(), rec.comm, kCommLength);
    t.comm.back() = '\0';
  }
  return tasks;
}

Result<std::vector<TaskRecord>> ReadTasksFromKernel() {
  InstallLibbpfLogging();
  bpf::Skeleton<pidscope_iter> skel;
  if (int err = skel.Open(); err != 0) return Error{-err, "open BPF task iterator"};
  if (int err = skel.Load(); err != 0) return Error{-err, "load BPF task iterator"};
  // Not skel.Attach(): an iterator is attached to make a link, then read through a new fd.
  std::unique_ptr<bpf_link, LinkDeleter> link(
      bpf_program__attach_iter(skel->progs.iter_tasks, nullptr));
  if (link == nullptr) return Error::FromErrno("attach BPF task iterator");
  UniqueFd fd(bpf_iter_create(bpf_link__fd(link.get())));
  if (!fd) return Error::FromErrno("create BPF task iterator");

  // Each record is written whole (seq_file repeats a task whose record did not fit).
  std::vector<std::byte> data;
  constexpr size_t kChunk = 64 * 1024;
  while (true) {
    const size_t used = data.size();
    data.resize(used + kChunk);
    const ssize_t n = read(fd.get(), data.data() + used, kChunk);
    if (n < 0) {
      data.resize(used);
      if (errno == EINTR) continue;
      return Error::FromErrno("read BPF task iterator");
    }
    data.resize(used + static_cast<size_t>(n));
    if (n == 0) break;
  }
  return DecodeTaskRecords(data, NsPerTick());
}

}  // namespace pidscope
