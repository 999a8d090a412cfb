// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Program replacement: one variable-length PIDSCOPE_EVENT_EXEC per exec. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

/* The largest record: built here, then copied into the ring buffer with only
 * the bytes used (as libbpf-tools' execsnoop sizes its events). */
struct exec_buf {
	__u8 bytes[sizeof(struct pidscope_exec_event) + PIDSCOPE_FILENAME_MAX +
		   PIDSCOPE_ARGS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_buf);
} exec_scratch SEC(".maps");

/*
 * Fires after the point of no return, in the context of the task that
 * exec'd: task->mm, ->cred and ->comm are the new program's, and a
 * non-leader thread has already taken over the leader's PID (old_pid is
 * the TID it had).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct pidscope_exec_event *ev;
	struct mm_struct *mm;
	__u64 arg_start, arg_end, args_size, size;
	__u32 zero = 0, flags = 0;
	long filename_size;

	if (config__skip_tgid(BPF_CORE_READ(task, tgid)))
		return 0;
	ev = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!ev)
		return 0;

	ev->old_tid = old_pid;
	ev->argc = BPF_CORE_READ(bprm, argc);
	ev->cgroup_id = bpf_get_current_cgroup_id();
	task__creds(task, &ev->creds);
	task__comm(task, ev->comm);

	/* The name as passed to execve(), with its NUL; an empty string if it
	 * cannot be read. A return of the whole buffer means it was cut. */
	filename_size = bpf_probe_read_kernel_str(ev->data, PIDSCOPE_FILENAME_MAX,
						  BPF_CORE_READ(bprm, filename));
	if (filename_size <= 0) {
		ev->data[0] = '\0';
		filename_size = 1;
	}
	if (filename_size >= PIDSCOPE_FILENAME_MAX) {
		filename_size = PIDSCOPE_FILENAME_MAX;
		flags |= PIDSCOPE_EXEC_FILENAME_TRUNCATED;
	}

	/* argv as the new program sees it: the strings at the top of its stack,
	 * mm->arg_start..arg_end, each with its NUL. */
	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	args_size = arg_end > arg_start ? arg_end - arg_start : 0;
	if (args_size > exec_args_max) {
		args_size = exec_args_max;
		flags |= PIDSCOPE_EXEC_ARGS_TRUNCATED;
	}
	if (args_size > PIDSCOPE_ARGS_MAX) {
		args_size = PIDSCOPE_ARGS_MAX;
		flags |= PIDSCOPE_EXEC_ARGS_TRUNCATED;
	}
	if (bpf_probe_read_user(ev->data + filename_size, args_size,
				(const void *)arg_start)) {
		args_size = 0;
		flags |= PIDSCOPE_EXEC_ARGS_TRUNCATED;
	}

	ev->filename_size = filename_size;
	ev->args_size = args_size;
	ev->flags = flags;
	size = sizeof(*ev) + filename_size + args_size;
	events__init_header(&ev->hdr, PIDSCOPE_EVENT_EXEC, size, task);
	events__output(&ev->hdr, size);
	return 0;
}
