// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Command name changes: PIDSCOPE_EVENT_RENAME from tp_btf/task_rename, which
 * fires before the kernel copies the new name (task->comm is still the old
 * one).
 *
 * exec renames the task too (begin_new_exec() sets comm to the file's
 * basename) while task->in_execve is set (bprm_execve() clears it after the
 * exec succeeded); those renames are dropped here, since
 * PIDSCOPE_EVENT_EXEC carries the new comm. On a kernel without in_execve
 * they are reported, and user space ignores a rename of a task that execs
 * right after it.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

static __always_inline bool rename__in_exec(struct task_struct *task)
{
	if (bpf_core_field_exists(task->in_execve))
		return BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	return false;
}

SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	struct pidscope_rename_event *ev;

	if (rename__in_exec(task) || config__skip_tgid(BPF_CORE_READ(task, tgid)))
		return 0;
	ev = events__reserve(PIDSCOPE_EVENT_RENAME, sizeof(*ev), task);
	if (!ev)
		return 0;
	task__comm(task, ev->old_comm);
	__builtin_memset(ev->new_comm, 0, sizeof(ev->new_comm));
	bpf_probe_read_kernel_str(ev->new_comm, sizeof(ev->new_comm), comm);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
