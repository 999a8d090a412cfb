/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps and configuration shared by every pidscope BPF program.
 *
 * Each hook lives in its own .bpf.c file that includes this header; the
 * objects are linked into one with `bpftool gen object`. Everything here is
 * __weak so that the linker keeps a single copy instead of reporting
 * duplicate symbols (as falcosecurity/libs modern_bpf does).
 *
 * The LICENSE section is defined once, in fork.bpf.c: do not repeat it.
 */
#ifndef PIDSCOPE_BPF_MAPS_BPF_H
#define PIDSCOPE_BPF_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "pidscope.h"

/* Default ring buffer size; user space may change it before load with
 * bpf_map__set_max_entries() (a power of two multiple of the page size). */
#define PIDSCOPE_RINGBUF_BYTES (256 * 1024)

/* Configuration, set through the skeleton's rodata before load. */

/* Only report events whose acting task (e.g. the forking parent) belongs to
 * this thread group; 0 reports every task. */
const volatile __u32 target_tgid __weak = 0;

/* All events, in the order they were reserved. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PIDSCOPE_RINGBUF_BYTES);
} events SEC(".maps") __weak;

/* Events that did not fit in the ring buffer, per CPU, by event type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PIDSCOPE_EVENT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps") __weak;

/* True if events acting on behalf of @tgid are filtered out. */
static __always_inline bool config__skip_tgid(__u32 tgid)
{
	return target_tgid && target_tgid != tgid;
}

/*
 * Reserve a record of @size bytes whose header says @type, or count it in
 * lost_events and return NULL. The caller fills the rest of the record and
 * passes it to bpf_ringbuf_submit() (or bpf_ringbuf_discard()).
 */
static __always_inline void *events__reserve(__u32 type, __u32 size)
{
	struct pidscope_event_header *hdr;
	__u64 *lost;

	hdr = bpf_ringbuf_reserve(&events, size, 0);
	if (!hdr) {
		lost = bpf_map_lookup_elem(&lost_events, &type);
		if (lost)
			*lost += 1;
		return NULL;
	}
	hdr->type = type;
	hdr->size = size;
	hdr->timestamp_ns = bpf_ktime_get_boot_ns();
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->reserved = 0;
	return hdr;
}

#endif /* PIDSCOPE_BPF_MAPS_BPF_H */
