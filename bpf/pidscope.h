/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Records shared by the BPF programs and user space.
 *
 * Every record in the ring buffer starts with struct pidscope_event_header;
 * header.type says which struct follows and header.size is the size of the
 * whole record. To add an event: add a value to enum pidscope_event_type
 * (before PIDSCOPE_EVENT_MAX), add a struct whose first member is the header,
 * and reserve it with events__reserve() in the new hook's .bpf.c file.
 *
 * Plain data only: fixed-size fields, explicit padding, no pointers, so the
 * layout is the same for clang -target bpf and for the host compilers.
 */
#ifndef PIDSCOPE_BPF_PIDSCOPE_H
#define PIDSCOPE_BPF_PIDSCOPE_H

#ifndef __bpf__
/* BPF objects get these types from vmlinux.h, included before this file. */
#include <linux/types.h>
#endif

/* Namespace PIDs recorded per task; deeper nesting is truncated (see below). */
#define PIDSCOPE_MAX_PIDNS_LEVELS 8

enum pidscope_event_type {
	PIDSCOPE_EVENT_NONE = 0,
	PIDSCOPE_EVENT_FORK = 1,
	PIDSCOPE_EVENT_MAX, /* keep last: sizes the lost_events map */
};

struct pidscope_event_header {
	__u32 type;		/* enum pidscope_event_type */
	__u32 size;		/* bytes of the whole record, header included */
	__u64 timestamp_ns;	/* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u32 cpu;		/* CPU the event was recorded on */
	__u32 reserved;		/* zero */
};

/*
 * PIDSCOPE_EVENT_FORK: a task was created (fork, vfork, clone; a thread too),
 * from tp_btf/sched_process_fork, i.e. once the child is fully set up.
 *
 * PIDs are as seen from the initial PID namespace unless noted. The child's
 * PID namespace is the one it lives in (/proc/<pid>/ns/pid), at depth
 * pidns_level (0 = initial namespace); ns_pids[i] is the child's PID in the
 * namespace at depth i, so ns_pids[0] == child_pid and ns_pids[pidns_level]
 * is the PID the child sees for itself. Entries above pidns_level are zero.
 * If pidns_level >= PIDSCOPE_MAX_PIDNS_LEVELS only the outermost
 * PIDSCOPE_MAX_PIDNS_LEVELS entries are recorded.
 */
struct pidscope_fork_event {
	struct pidscope_event_header hdr;
	__u32 parent_tgid;	/* the task that called fork/clone */
	__u32 parent_pid;
	__u32 child_tgid;
	__u32 child_pid;
	__u64 child_start_boottime_ns; /* task->start_boottime; /proc stat field 22 */
	__u64 pidns_inum;	/* inode of the child's PID namespace */
	__u32 pidns_level;
	__u8 is_thread;		/* 1 if the child joined the parent's thread group */
	__u8 reserved[3];	/* zero */
	__u32 ns_pids[PIDSCOPE_MAX_PIDNS_LEVELS];
};

#endif /* PIDSCOPE_BPF_PIDSCOPE_H */
