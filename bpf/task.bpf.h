/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CO-RE reads of task_struct shared by the hook programs and the task
 * iterator. No maps here (the iterator is its own object and must not
 * create the ring buffer). Where a field may be missing on other kernels,
 * the read is guarded with bpf_core_field_exists() in this one file.
 */
#ifndef PIDSCOPE_BPF_TASK_BPF_H
#define PIDSCOPE_BPF_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "pidscope.h"

/* include/linux/sched.h and include/linux/sched/signal.h: macros, not in BTF. */
#define PIDSCOPE_PF_KTHREAD 0x00200000
#define PIDSCOPE_SIGNAL_GROUP_EXIT 0x00000004

/* Host (initial namespace) number of a struct pid: pid_nr(). */
static __always_inline __u32 pid__host_nr(struct pid *pid)
{
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/* The host PID of @task's process group or session leader (task_pgrp_nr()
 * and task_session_nr()); @type is PIDTYPE_PGID or PIDTYPE_SID. */
static __always_inline __u32 task__group_nr(struct task_struct *task,
					    enum pid_type type)
{
	struct pid *pid;

	if (type == PIDTYPE_PGID)
		pid = BPF_CORE_READ(task, signal,
				    pids[bpf_core_enum_value(enum pid_type, PIDTYPE_PGID)]);
	else
		pid = BPF_CORE_READ(task, signal,
				    pids[bpf_core_enum_value(enum pid_type, PIDTYPE_SID)]);
	return pid__host_nr(pid);
}

/*
 * Fills the header's description of @task: its thread group and thread, the
 * start time of its group leader (the process's identity with the tgid, and
 * what /proc/<tgid>/stat shows) and its current real parent's tgid.
 */
static __always_inline void
task__fill_header(struct pidscope_event_header *hdr, struct task_struct *task)
{
	hdr->tgid = BPF_CORE_READ(task, tgid);
	hdr->tid = BPF_CORE_READ(task, pid);
	hdr->start_boottime_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	hdr->ppid = BPF_CORE_READ(task, real_parent, tgid);
	hdr->reserved2 = 0;
}

/*
 * The PID namespace of @task (the one it lives in) and its PID at every level
 * from the initial namespace down: *level is the namespace's depth, *inum
 * its inode, ns_pids[i] the PID at depth i for i <= *level (zero above).
 */
static __always_inline void task__ns_pids(struct task_struct *task, __u32 *level,
					  __u64 *inum,
					  __u32 ns_pids[PIDSCOPE_MAX_PIDNS_LEVELS])
{
	struct pid *pid;
	__u32 lvl;
	int i;

	pid = BPF_CORE_READ(task, thread_pid);
	lvl = BPF_CORE_READ(pid, level);
	*level = lvl;
	*inum = BPF_CORE_READ(pid, numbers[lvl].ns, ns.inum);
	for (i = 0; i < PIDSCOPE_MAX_PIDNS_LEVELS; i++) {
		if (i <= lvl)
			ns_pids[i] = BPF_CORE_READ(pid, numbers[i].nr);
		else
			ns_pids[i] = 0;
	}
}

/* kernel_cap_t before Linux 6.3 ("capability: just use a
 * 'u64' instead of a 'u32[2]' array"): this flavour exists only there. */
struct kernel_cap_struct___pre63 {
	__u32 cap[2];
};

/* A capability set as one 64-bit mask, whichever layout the kernel has. */
static __always_inline __u64 caps__read(const kernel_cap_t *caps)
{
	__u32 words[2] = {};
	__u64 mask = 0;

	if (bpf_core_type_exists(struct kernel_cap_struct___pre63)) {
		bpf_core_read(words, sizeof(words), caps);
		return words[0] | (__u64)words[1] << 32;
	}
	bpf_core_read(&mask, sizeof(mask), caps);
	return mask;
}

/* The credentials @task acts with (task->cred). */
static __always_inline void task__creds(struct task_struct *task,
					struct pidscope_creds *out)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	out->uid[0] = BPF_CORE_READ(cred, uid.val);
	out->uid[1] = BPF_CORE_READ(cred, euid.val);
	out->uid[2] = BPF_CORE_READ(cred, suid.val);
	out->uid[3] = BPF_CORE_READ(cred, fsuid.val);
	out->gid[0] = BPF_CORE_READ(cred, gid.val);
	out->gid[1] = BPF_CORE_READ(cred, egid.val);
	out->gid[2] = BPF_CORE_READ(cred, sgid.val);
	out->gid[3] = BPF_CORE_READ(cred, fsgid.val);
	out->cap_effective = caps__read(&cred->cap_effective);
	out->cap_permitted = caps__read(&cred->cap_permitted);
}

/* Copies @task's comm (TASK_COMM_LEN bytes, NUL-padded) into @comm. */
static __always_inline void task__comm(struct task_struct *task,
				       char comm[PIDSCOPE_COMM_LEN])
{
	bpf_core_read_str(comm, PIDSCOPE_COMM_LEN, &task->comm);
}

#endif /* PIDSCOPE_BPF_TASK_BPF_H */
