#include "bpf/skeleton.hpp"

#include <vector>

namespace pidscope::bpf {

int RingBuffer::Open(int map_fd, SampleFn fn, void* ctx) {
  if (rb_ != nullptr) return -EBUSY;
  ring_buffer* rb = ring_buffer__new(map_fd, fn, ctx, nullptr);
  if (rb == nullptr) return errno != 0 ? -errno : -ENOMEM;
  rb_.reset(rb);
  return 0;
}

int RingBuffer::Add(int map_fd, SampleFn fn, void* ctx) {
  if (rb_ == nullptr) return Open(map_fd, fn, ctx);
  return ring_buffer__add(rb_.get(), map_fd, fn, ctx);
}

int RingBuffer::Poll(std::chrono::milliseconds timeout) {
  if (rb_ == nullptr) return -EINVAL;
  return ring_buffer__poll(rb_.get(), static_cast<int>(timeout.count()));
}

int RingBuffer::Consume() {
  if (rb_ == nullptr) return -EINVAL;
  return ring_buffer__consume(rb_.get());
}

int RingBuffer::epoll_fd() const { return rb_ != nullptr ? ring_buffer__epoll_fd(rb_.get()) : -1; }

int SumPerCpuCounter(const bpf_map* map, std::uint32_t key, std::uint64_t* sum) {
  if (map == nullptr || sum == nullptr) return -EINVAL;
  if (bpf_map__value_size(map) != sizeof(std::uint64_t)) return -EINVAL;
  const int ncpus = libbpf_num_possible_cpus();
  if (ncpus < 0) return ncpus;
  // libbpf_num_possible_cpus() is cached; this runs for statistics, not per event.
  std::vector<std::uint64_t> values(static_cast<size_t>(ncpus));
  const int err = bpf_map__lookup_elem(map, &key, sizeof(key), values.data(),
                                       values.size() * sizeof(std::uint64_t), 0);
  if (err != 0) return err;
  std::uint64_t total = 0;
  for (std::uint64_t v : values) total += v;
  *sum = total;
  return 0;
}

}  // namespace pidscope::bpf
