// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sessions and process groups: PIDSCOPE_EVENT_SETSID and
 * PIDSCOPE_EVENT_SETPGID after successful setsid() and setpgid() calls, from
 * the syscall exit tracepoints, with the groups the kernel now holds.
 *
 * setpgid(pid, pgid) may act on a child of the caller, and sys_exit does not
 * carry the arguments: sys_enter_setpgid keeps them per thread until the
 * matching sys_exit. The target is then found the way setpgid() itself
 * finds it: the caller (pid 0 or its own PID) or one of its children, whose
 * PID in the caller's namespace is pid. Children hang off the thread that
 * forked them; the calling thread's and the group leader's children are
 * searched (the bounded walk covers every shell and init), and a target
 * found in neither is reported with PIDSCOPE_SESSION_TARGET_UNKNOWN for user
 * space to resolve.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

/* Children examined per list when looking for a setpgid() target. */
#define SESSION_MAX_CHILDREN 1024

struct setpgid_args {
	__u32 pid;	/* in the caller's PID namespace; 0 = the caller */
	__u32 pgid;
};

/* By TID, from sys_enter_setpgid to sys_exit_setpgid; LRU so that an entry
 * whose exit never came (attached in between) cannot pile up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct setpgid_args);
} setpgid_pending SEC(".maps");

static __always_inline void session__emit(__u32 type, struct task_struct *target,
					  struct task_struct *caller,
					  __u32 target_vpid, __u32 flags)
{
	struct pidscope_session_event *ev;

	if (config__skip_tgid(BPF_CORE_READ(target, tgid)))
		return;
	ev = events__reserve(type, sizeof(*ev), target);
	if (!ev)
		return;
	if (flags & PIDSCOPE_SESSION_TARGET_UNKNOWN) {
		ev->pgid = 0;
		ev->sid = 0;
	} else {
		ev->pgid = task__group_nr(target, PIDTYPE_PGID);
		ev->sid = task__group_nr(target, PIDTYPE_SID);
	}
	ev->caller_tgid = BPF_CORE_READ(caller, tgid);
	ev->caller_tid = BPF_CORE_READ(caller, pid);
	ev->target_vpid = target_vpid;
	ev->flags = flags;
	bpf_ringbuf_submit(ev, 0);
}

/* The child of @parent (a thread) whose PID at namespace depth @level is
 * @vpid, or NULL. */
static __always_inline struct task_struct *
session__find_child(struct task_struct *parent, __u32 level, __u32 vpid)
{
	struct list_head *head = &parent->children;
	struct list_head *pos = BPF_CORE_READ(parent, children.next);
	struct task_struct *child;
	int i;

	for (i = 0; i < SESSION_MAX_CHILDREN; i++) {
		if (!pos || pos == head)
			return NULL;
		child = (void *)pos - bpf_core_field_offset(struct task_struct, sibling);
		if (BPF_CORE_READ(child, thread_pid, numbers[level].nr) == vpid)
			return child;
		pos = BPF_CORE_READ(pos, next);
	}
	return NULL;
}

SEC("tracepoint/syscalls/sys_exit_setsid")
int sys_exit_setsid(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task;

	if (BPF_CORE_READ(ctx, ret) < 0)
		return 0;
	task = bpf_get_current_task_btf();
	session__emit(PIDSCOPE_EVENT_SETSID, task, task, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setpgid")
int sys_enter_setpgid(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct setpgid_args args = {
		.pid = BPF_CORE_READ(ctx, args[0]),
		.pgid = BPF_CORE_READ(ctx, args[1]),
	};

	bpf_map_update_elem(&setpgid_pending, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_setpgid")
int sys_exit_setpgid(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *caller, *leader, *target;
	struct setpgid_args *pending;
	__u32 vpid, level, own_vpid;

	pending = bpf_map_lookup_elem(&setpgid_pending, &tid);
	if (!pending)
		return 0;
	vpid = pending->pid;
	bpf_map_delete_elem(&setpgid_pending, &tid);
	if (BPF_CORE_READ(ctx, ret) < 0)
		return 0;

	caller = bpf_get_current_task_btf();
	level = BPF_CORE_READ(caller, thread_pid, level);
	leader = BPF_CORE_READ(caller, group_leader);
	own_vpid = BPF_CORE_READ(leader, thread_pid, numbers[level].nr);
	if (vpid == 0 || vpid == own_vpid) {
		session__emit(PIDSCOPE_EVENT_SETPGID, caller, caller, vpid, 0);
		return 0;
	}

	target = session__find_child(caller, level, vpid);
	if (!target && leader != caller)
		target = session__find_child(leader, level, vpid);
	if (target)
		session__emit(PIDSCOPE_EVENT_SETPGID, target, caller, vpid, 0);
	else
		session__emit(PIDSCOPE_EVENT_SETPGID, caller, caller, vpid,
			      PIDSCOPE_SESSION_TARGET_UNKNOWN);
	return 0;
}
