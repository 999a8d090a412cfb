/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps and configuration shared by every pidscope hook program.
 *
 * Each hook lives in its own .bpf.c file that includes this header; the
 * objects are linked into one with `bpftool gen object`. Everything here is
 * __weak so that the linker keeps a single copy instead of reporting
 * duplicate symbols (as falcosecurity/libs modern_bpf does).
 *
 * The LICENSE section is defined once, in fork.bpf.c: do not repeat it.
 * (iter_tasks.bpf.c is a separate object and does not include this file.)
 */
#ifndef PIDSCOPE_BPF_MAPS_BPF_H
#define PIDSCOPE_BPF_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "pidscope.h"
#include "task.bpf.h"

/* Default ring buffer size; user space may change it before load with
 * bpf_map__set_max_entries() (a power of two multiple of the page size). */
#define PIDSCOPE_RINGBUF_BYTES (256 * 1024)

/*
 * Configuration, set through the skeleton's rodata before load; the verifier
 * sees the values as constants and prunes what is switched off.
 */

/* Only report events about this thread group (for a fork: whose parent is
 * in it); 0 reports every task. A debugging and testing aid. */
const volatile __u32 target_tgid __weak = 0;
/* Report the creation of threads, not only of processes. */
const volatile bool emit_threads __weak = true;
/* Report PIDSCOPE_EVENT_THREAD_EXIT. */
const volatile bool emit_thread_exits __weak = true;
/* Bytes of argv kept per exec, at most PIDSCOPE_ARGS_MAX. */
const volatile __u32 exec_args_max __weak = PIDSCOPE_ARGS_MAX;

/* All events, in the order they were reserved. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PIDSCOPE_RINGBUF_BYTES);
} events SEC(".maps") __weak;

/* Events that did not fit in the ring buffer, per CPU, by event type;
 * PIDSCOPE_LOST_ALL counts all of them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PIDSCOPE_EVENT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps") __weak;

/* True if events about @tgid are filtered out. */
static __always_inline bool config__skip_tgid(__u32 tgid)
{
	return target_tgid && target_tgid != tgid;
}

/* Counts one record of @type that did not fit. */
static __always_inline void events__count_lost(__u32 type)
{
	__u32 all = PIDSCOPE_LOST_ALL;
	__u64 *lost;

	lost = bpf_map_lookup_elem(&lost_events, &type);
	if (lost)
		*lost += 1;
	lost = bpf_map_lookup_elem(&lost_events, &all);
	if (lost)
		*lost += 1;
}

/* Fills @hdr for a record of @type and @size about @task. */
static __always_inline void events__init_header(struct pidscope_event_header *hdr,
						__u32 type, __u32 size,
						struct task_struct *task)
{
	hdr->type = type;
	hdr->size = size;
	hdr->timestamp_ns = bpf_ktime_get_boot_ns();
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->reserved = 0;
	task__fill_header(hdr, task);
}

/*
 * Reserve a record of @size bytes whose header says @type and describes
 * @task, or count it in lost_events and return NULL. The caller fills the
 * rest of the record and passes it to bpf_ringbuf_submit() (or
 * bpf_ringbuf_discard()).
 */
static __always_inline void *events__reserve(__u32 type, __u32 size,
					     struct task_struct *task)
{
	struct pidscope_event_header *hdr;

	hdr = bpf_ringbuf_reserve(&events, size, 0);
	if (!hdr) {
		events__count_lost(type);
		return NULL;
	}
	events__init_header(hdr, type, size, task);
	return hdr;
}

/*
 * Copy a variable-length record, built elsewhere (a per-CPU scratch buffer)
 * with its header filled, into the ring buffer; count it as lost if it does
 * not fit. @size must be hdr->size.
 */
static __always_inline void events__output(struct pidscope_event_header *hdr,
					   __u64 size)
{
	if (bpf_ringbuf_output(&events, hdr, size, 0))
		events__count_lost(hdr->type);
}

#endif /* PIDSCOPE_BPF_MAPS_BPF_H */
