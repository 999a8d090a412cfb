// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sub-reapers: PIDSCOPE_EVENT_SUBREAPER after a successful
 * prctl(PR_SET_CHILD_SUBREAPER), with the flags signal_struct now holds.
 * sys_exit_prctl does not carry the option, so sys_enter_prctl marks the
 * thread when the option is PR_SET_CHILD_SUBREAPER (and does nothing for the
 * many other prctl calls).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

#define PR_SET_CHILD_SUBREAPER 36 /* include/uapi/linux/prctl.h */

/* TIDs inside prctl(PR_SET_CHILD_SUBREAPER); LRU as setpgid_pending. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} subreaper_pending SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_prctl")
int sys_enter_prctl(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid;
	__u8 one = 1;

	if (BPF_CORE_READ(ctx, args[0]) != PR_SET_CHILD_SUBREAPER)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&subreaper_pending, &tid, &one, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_prctl")
int sys_exit_prctl(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pidscope_subreaper_event *ev;
	struct task_struct *task;
	struct signal_struct *signal;

	if (!bpf_map_lookup_elem(&subreaper_pending, &tid))
		return 0;
	bpf_map_delete_elem(&subreaper_pending, &tid);
	if (BPF_CORE_READ(ctx, ret) < 0)
		return 0;

	task = bpf_get_current_task_btf();
	if (config__skip_tgid(BPF_CORE_READ(task, tgid)))
		return 0;
	ev = events__reserve(PIDSCOPE_EVENT_SUBREAPER, sizeof(*ev), task);
	if (!ev)
		return 0;
	signal = BPF_CORE_READ(task, signal);
	ev->is_child_subreaper = BPF_CORE_READ_BITFIELD_PROBED(signal, is_child_subreaper);
	ev->has_child_subreaper = BPF_CORE_READ_BITFIELD_PROBED(signal, has_child_subreaper);
	__builtin_memset(ev->reserved, 0, sizeof(ev->reserved));
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
