// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Task creation: one PIDSCOPE_EVENT_FORK record per new process or thread. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"

/* The one license of the linked object (see maps.bpf.h). */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct pidscope_fork_event *ev;
	struct pid *pid;
	__u32 parent_tgid, level;
	int i;

	parent_tgid = BPF_CORE_READ(parent, tgid);
	if (config__skip_tgid(parent_tgid))
		return 0;

	ev = events__reserve(PIDSCOPE_EVENT_FORK, sizeof(*ev));
	if (!ev)
		return 0;

	ev->parent_tgid = parent_tgid;
	ev->parent_pid = BPF_CORE_READ(parent, pid);
	ev->child_tgid = BPF_CORE_READ(child, tgid);
	ev->child_pid = BPF_CORE_READ(child, pid);
	ev->child_start_boottime_ns = BPF_CORE_READ(child, start_boottime);
	ev->is_thread = ev->child_tgid != ev->child_pid;
	ev->reserved[0] = ev->reserved[1] = ev->reserved[2] = 0;

	/* The child's struct pid: its level is the depth of the child's PID
	 * namespace and numbers[i] its PID in each namespace up to that. */
	pid = BPF_CORE_READ(child, thread_pid);
	level = BPF_CORE_READ(pid, level);
	ev->pidns_level = level;
	ev->pidns_inum = BPF_CORE_READ(pid, numbers[level].ns, ns.inum);
	for (i = 0; i < PIDSCOPE_MAX_PIDNS_LEVELS; i++) {
		if (i <= level)
			ev->ns_pids[i] = BPF_CORE_READ(pid, numbers[i].nr);
		else
			ev->ns_pids[i] = 0;
	}

	bpf_ringbuf_submit(ev, 0);
	return 0;
}
