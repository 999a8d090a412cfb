// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The end of a zombie: PIDSCOPE_EVENT_REAP when a thread-group leader's
 * task_struct is freed. sched_process_free fires from
 * delayed_put_task_struct(), an RCU callback after release_task(), so it runs
 * in softirq context (current is unrelated) and may come after the PID was
 * reused; the header's start time tells the two apart.
 *
 * Threads are freed too, and so is the old leader of a group whose non-leader
 * thread exec'd (de_thread() swaps their PIDs first, so its pid != tgid):
 * only pid == tgid is the reap of a process.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

SEC("tp_btf/sched_process_free")
int BPF_PROG(sched_process_free, struct task_struct *task)
{
	struct pidscope_reap_event *ev;
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, pid) != tgid || config__skip_tgid(tgid))
		return 0;
	ev = events__reserve(PIDSCOPE_EVENT_REAP, sizeof(*ev), task);
	if (!ev)
		return 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
