// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Task exit: PIDSCOPE_EVENT_EXIT when the last thread of a group exits,
 * PIDSCOPE_EVENT_THREAD_EXIT when a thread with children of its own exits
 * while its group lives on.
 *
 * do_exit() decrements signal->live (group_dead = the result reached 0)
 * before it fires sched_process_exit, and reparents the task's children
 * (exit_notify()) only after it. Recent kernels (6.18 has it) pass
 * group_dead to the tracepoint; older ones pass the task alone, and the fallback
 * program reads signal->live, which is 0 for the last thread but can also be
 * 0 for another thread that exits at the same moment (its decrement came
 * first, its tracepoint after the last one's): with the fallback, user space
 * may see one EXIT more per process and ignores EXITs of a dead process.
 * User space loads exactly one of the two programs (bpf_source.cpp probes
 * the tracepoint's BTF).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

/*
 * What wait(2) will report for @task's thread group, as wait_task_zombie()
 * computes it: the group exit code when SIGNAL_GROUP_EXIT is set (after
 * exit_group() or a fatal signal, with 0x80 if a core was dumped; and, since
 * synchronize_group_exit(), also when every thread left with a plain exit(),
 * the last one's code), else the leader's own exit code (the leader may have
 * exited long before the last thread).
 */
static __always_inline __s32 exit__group_status(struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(signal, flags) & PIDSCOPE_SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(signal, group_exit_code);
	return BPF_CORE_READ(task, group_leader, exit_code);
}

static __always_inline bool exit__has_children(struct task_struct *task)
{
	struct list_head *next = BPF_CORE_READ(task, children.next);

	return next && next != &task->children;
}

static __always_inline void exit__emit(struct task_struct *task, bool group_dead)
{
	struct pidscope_exit_event *ev;
	__u32 type;

	if (config__skip_tgid(BPF_CORE_READ(task, tgid)))
		return;
	if (group_dead) {
		type = PIDSCOPE_EVENT_EXIT;
	} else {
		if (!emit_thread_exits || !exit__has_children(task))
			return;
		type = PIDSCOPE_EVENT_THREAD_EXIT;
	}

	ev = events__reserve(type, sizeof(*ev), task);
	if (!ev)
		return;
	if (group_dead)
		ev->exit_status = exit__group_status(task);
	else
		ev->exit_status = BPF_CORE_READ(task, exit_code);
	ev->reserved = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* Recent kernels: sched_process_exit(task, group_dead). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task, bool group_dead)
{
	exit__emit(task, group_dead);
	return 0;
}

/* Older kernels: sched_process_exit(task); group_dead from signal->live. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_live, struct task_struct *task)
{
	exit__emit(task, BPF_CORE_READ(task, signal, live.counter) == 0);
	return 0;
}
