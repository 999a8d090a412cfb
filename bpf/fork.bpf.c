// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Task creation: one PIDSCOPE_EVENT_FORK record per new process or thread. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

/* The one license of the linked object (see maps.bpf.h). */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct pidscope_fork_event *ev;
	__u32 parent_tgid, child_tgid, child_pid;

	parent_tgid = BPF_CORE_READ(parent, tgid);
	if (config__skip_tgid(parent_tgid))
		return 0;
	child_tgid = BPF_CORE_READ(child, tgid);
	child_pid = BPF_CORE_READ(child, pid);
	if (!emit_threads && child_tgid != child_pid)
		return 0;

	ev = events__reserve(PIDSCOPE_EVENT_FORK, sizeof(*ev), child);
	if (!ev)
		return 0;

	ev->parent_tgid = parent_tgid;
	ev->parent_pid = BPF_CORE_READ(parent, pid);
	ev->child_tgid = child_tgid;
	ev->child_pid = child_pid;
	ev->child_start_boottime_ns = BPF_CORE_READ(child, start_boottime);
	ev->is_thread = child_tgid != child_pid;
	ev->reserved[0] = ev->reserved[1] = ev->reserved[2] = 0;
	task__ns_pids(child, &ev->pidns_level, &ev->pidns_inum, ev->ns_pids);

	bpf_ringbuf_submit(ev, 0);
	return 0;
}
