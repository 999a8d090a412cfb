// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A snapshot of every process straight from the kernel: a BPF task iterator
 * that writes one struct pidscope_task_record per thread-group leader to the
 * iterator's file (bpf_iter_create() in user space). Zombies are included.
 * Unlike procfs it shows signal->is_child_subreaper and has_child_subreaper
 * (set by prctl() before pidscope started) and the start time in ns.
 *
 * A separate object from the hooks (its own skeleton, pidscope_iter), so a
 * snapshot does not load or attach them.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "pidscope.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pidscope_task_record rec = {};
	struct signal_struct *signal;
	__u32 flags = 0;

	if (!task || task->pid != task->tgid)
		return 0;

	rec.tgid = task->tgid;
	rec.ppid = BPF_CORE_READ(task, real_parent, tgid);
	rec.start_boottime_ns = task->start_boottime;
	rec.pgid = task__group_nr(task, PIDTYPE_PGID);
	rec.sid = task__group_nr(task, PIDTYPE_SID);
	task__ns_pids(task, &rec.pidns_level, &rec.pidns_inum, rec.ns_pids);
	signal = BPF_CORE_READ(task, signal);
	rec.nr_threads = BPF_CORE_READ(signal, nr_threads);
	rec.is_child_subreaper = BPF_CORE_READ_BITFIELD_PROBED(signal, is_child_subreaper);
	rec.has_child_subreaper = BPF_CORE_READ_BITFIELD_PROBED(signal, has_child_subreaper);
	if (task->flags & PIDSCOPE_PF_KTHREAD)
		flags |= PIDSCOPE_TASK_KTHREAD;
	if (task->exit_state)
		flags |= PIDSCOPE_TASK_LEADER_EXITED;
	if (BPF_CORE_READ(signal, live.counter) == 0)
		flags |= PIDSCOPE_TASK_GROUP_DEAD;
	rec.flags = flags;
	task__comm(task, rec.comm);

	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
