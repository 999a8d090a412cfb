/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Records shared by the BPF programs and user space.
 *
 * Every record in the ring buffer starts with struct pidscope_event_header;
 * header.type says which struct follows and header.size is the size of the
 * whole record (a PIDSCOPE_EVENT_EXEC record is variable-length; the others
 * have the size of their struct). To add an event: add a value to enum
 * pidscope_event_type (before PIDSCOPE_EVENT_MAX), add a struct whose first
 * member is the header, and reserve it with events__reserve() in the new
 * hook's .bpf.c file.
 *
 * The header also names the task the event is about (not necessarily the
 * task that caused it: setpgid() may act on a child), with the kernel's view
 * at the time of the event, so user space can check what it predicted (for
 * instance reparenting) at every event.
 *
 * PIDs are as seen from the initial PID namespace. Times are CLOCK_BOOTTIME
 * nanoseconds; start_boottime_ns / (NSEC_PER_SEC / USER_HZ) is field 22 of
 * /proc/<tgid>/stat exactly.
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
/* TASK_COMM_LEN */
#define PIDSCOPE_COMM_LEN 16
/* Bytes of an exec'd file name (PATH_MAX) and of its argv that are kept. */
#define PIDSCOPE_FILENAME_MAX 4096
#define PIDSCOPE_ARGS_MAX 4096

enum pidscope_event_type {
	PIDSCOPE_EVENT_NONE = 0,
	PIDSCOPE_EVENT_FORK = 1,	/* struct pidscope_fork_event */
	PIDSCOPE_EVENT_EXEC = 2,	/* struct pidscope_exec_event */
	PIDSCOPE_EVENT_EXIT = 3,	/* struct pidscope_exit_event */
	PIDSCOPE_EVENT_THREAD_EXIT = 4,	/* struct pidscope_exit_event */
	PIDSCOPE_EVENT_REAP = 5,	/* struct pidscope_reap_event */
	PIDSCOPE_EVENT_SETSID = 6,	/* struct pidscope_session_event */
	PIDSCOPE_EVENT_SETPGID = 7,	/* struct pidscope_session_event */
	PIDSCOPE_EVENT_CREDS = 8,	/* struct pidscope_creds_event */
	PIDSCOPE_EVENT_SUBREAPER = 9,	/* struct pidscope_subreaper_event */
	PIDSCOPE_EVENT_RENAME = 10,	/* struct pidscope_rename_event */
	PIDSCOPE_EVENT_MAX, /* keep last: sizes the lost_events map */
};

/*
 * lost_events (a per-CPU array indexed by event type) counts the records
 * that did not fit in the ring buffer; its PIDSCOPE_LOST_ALL slot counts
 * every one of them whatever the type, so one lookup tells whether anything
 * was lost.
 */
#define PIDSCOPE_LOST_ALL PIDSCOPE_EVENT_NONE

struct pidscope_event_header {
	__u32 type;		/* enum pidscope_event_type */
	__u32 size;		/* bytes of the whole record, header included */
	__u64 timestamp_ns;	/* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u32 cpu;		/* CPU the event was recorded on */
	__u32 reserved;		/* zero */
	/* The task the event is about, as the kernel holds it now. */
	__u32 tgid;		/* its thread group (the process) */
	__u32 tid;		/* the thread */
	__u64 start_boottime_ns; /* the thread-group leader's start_boottime */
	__u32 ppid;		/* tgid of its current real_parent */
	__u32 reserved2;	/* zero */
};

/*
 * PIDSCOPE_EVENT_FORK: a task was created (fork, vfork, clone; a thread too
 * unless the emit_threads knob is off), from tp_btf/sched_process_fork, i.e.
 * once the child is fully set up. The header is about the child (for a
 * thread, start_boottime_ns is its group leader's; child_start_boottime_ns
 * is the thread's own). header.ppid differs from parent_tgid after
 * CLONE_PARENT or CLONE_THREAD: it is the real parent, parent_tgid the
 * caller.
 *
 * The child's PID namespace is the one it lives in (/proc/<pid>/ns/pid), at
 * depth pidns_level (0 = initial namespace); ns_pids[i] is the child's PID in
 * the namespace at depth i, so ns_pids[0] == child_pid and
 * ns_pids[pidns_level] is the PID the child sees for itself. Entries above
 * pidns_level are zero. If pidns_level >= PIDSCOPE_MAX_PIDNS_LEVELS only the
 * outermost PIDSCOPE_MAX_PIDNS_LEVELS entries are recorded.
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

/* Credentials of a task (kuid/kgid values: IDs of the initial user namespace). */
struct pidscope_creds {
	__u32 uid[4];		/* real, effective, saved, filesystem */
	__u32 gid[4];		/* real, effective, saved, filesystem */
	__u64 cap_effective;
	__u64 cap_permitted;
};

/* pidscope_exec_event.flags */
#define PIDSCOPE_EXEC_FILENAME_TRUNCATED (1u << 0)
#define PIDSCOPE_EXEC_ARGS_TRUNCATED (1u << 1)

/*
 * PIDSCOPE_EVENT_EXEC: the process replaced its program, from
 * tp_btf/sched_process_exec (after the point of no return: credentials,
 * comm and mm are the new ones). A non-leader thread that execs takes over
 * the thread-group leader's PID (de_thread()): header.tid == header.tgid and
 * old_tid is the TID it had before.
 *
 * Variable-length: data[] holds filename_size bytes of the file name as
 * passed to execve (NUL-terminated, bprm->filename), then args_size bytes of
 * the new program's argv as in /proc/<pid>/cmdline (NUL after each argument;
 * the last one may be cut when PIDSCOPE_EXEC_ARGS_TRUNCATED). header.size ==
 * offsetof(data) + filename_size + args_size.
 */
struct pidscope_exec_event {
	struct pidscope_event_header hdr;
	__u32 old_tid;
	__u32 argc;		/* arguments the program got (bprm->argc) */
	__u64 cgroup_id;	/* bpf_get_current_cgroup_id(): cgroup v2 id */
	struct pidscope_creds creds; /* after exec (setuid/setgid, file caps) */
	char comm[PIDSCOPE_COMM_LEN]; /* after exec */
	__u16 filename_size;
	__u16 args_size;
	__u32 flags;		/* PIDSCOPE_EXEC_* */
	char data[];
};

/*
 * PIDSCOPE_EVENT_EXIT: the last thread of a thread group exited (the group
 * is dead; the process is a zombie until reaped), from
 * tp_btf/sched_process_exit. exit_status is what wait(2) will report: the
 * exit code in bits 8-15, or the terminating signal in bits 0-6 and 0x80 if
 * a core was dumped. The header's tid is the thread that exited last.
 *
 * PIDSCOPE_EVENT_THREAD_EXIT: a thread whose group lives on exited while it
 * had children of its own: the kernel reparents them to another thread of
 * the group (or a sub-reaper). exit_status is the thread's own exit code.
 * Only with the emit_thread_exits knob (on by default).
 */
struct pidscope_exit_event {
	struct pidscope_event_header hdr;
	__s32 exit_status;
	__u32 reserved;		/* zero */
};

/*
 * PIDSCOPE_EVENT_REAP: a thread-group leader's task_struct was freed, from
 * tp_btf/sched_process_free: the zombie was waited for (or auto-reaped).
 * The kernel frees it an RCU grace period after release_task(), when its
 * PID may already be reused: match it on (tgid, start_boottime_ns).
 */
struct pidscope_reap_event {
	struct pidscope_event_header hdr;
};

/* pidscope_session_event.flags */
/* setpgid() succeeded on a process pidscope could not find (the child of
 * another thread of the caller): header is about the caller, user space
 * must look the target up (its PID in the caller's namespace is
 * target_vpid). */
#define PIDSCOPE_SESSION_TARGET_UNKNOWN (1u << 0)

/*
 * PIDSCOPE_EVENT_SETSID, PIDSCOPE_EVENT_SETPGID: a successful setsid() or
 * setpgid(), from the syscall exit tracepoints. The header is about the
 * process whose group changed (for setpgid(child, pgid), the child); pgid
 * and sid are what the kernel holds after the call (host PIDs).
 */
struct pidscope_session_event {
	struct pidscope_event_header hdr;
	__u32 pgid;
	__u32 sid;
	__u32 caller_tgid;	/* the process that made the call */
	__u32 caller_tid;
	__u32 target_vpid;	/* setpgid's pid argument (0: the caller) */
	__u32 flags;		/* PIDSCOPE_SESSION_* */
};

/* pidscope_creds_event.syscall: the call that changed the credentials */
enum pidscope_creds_call {
	PIDSCOPE_CREDS_SETUID = 1,
	PIDSCOPE_CREDS_SETGID,
	PIDSCOPE_CREDS_SETREUID,
	PIDSCOPE_CREDS_SETREGID,
	PIDSCOPE_CREDS_SETRESUID,
	PIDSCOPE_CREDS_SETRESGID,
	PIDSCOPE_CREDS_SETFSUID,
	PIDSCOPE_CREDS_SETFSGID,
	PIDSCOPE_CREDS_CAPSET,
};

/*
 * PIDSCOPE_EVENT_CREDS: a thread's credentials after a successful set*uid,
 * set*gid or capset (the thread of header.tid; glibc applies set*id to
 * every thread, so a multi-threaded process reports one per thread).
 * setfsuid/setfsgid return the old value whether or not they changed
 * anything, so they are reported after every call.
 */
struct pidscope_creds_event {
	struct pidscope_event_header hdr;
	__u32 call;		/* enum pidscope_creds_call */
	__u32 reserved;		/* zero */
	struct pidscope_creds creds;
};

/*
 * PIDSCOPE_EVENT_SUBREAPER: a successful prctl(PR_SET_CHILD_SUBREAPER);
 * the flags as signal_struct holds them after the call.
 */
struct pidscope_subreaper_event {
	struct pidscope_event_header hdr;
	__u8 is_child_subreaper;
	__u8 has_child_subreaper;
	__u8 reserved[6];	/* zero */
};

/*
 * PIDSCOPE_EVENT_RENAME: a thread's comm changed (prctl(PR_SET_NAME), a
 * write to /proc/<pid>/comm), from tp_btf/task_rename. The rename exec does
 * (comm = basename of the file) is not reported: PIDSCOPE_EVENT_EXEC
 * carries that comm. The header is about the renamed thread, which need not
 * be the caller.
 */
struct pidscope_rename_event {
	struct pidscope_event_header hdr;
	char old_comm[PIDSCOPE_COMM_LEN];
	char new_comm[PIDSCOPE_COMM_LEN];
};

/* pidscope_task_record.flags */
#define PIDSCOPE_TASK_KTHREAD (1u << 0)	/* a kernel thread (PF_KTHREAD) */
#define PIDSCOPE_TASK_LEADER_EXITED (1u << 1) /* the leader thread exited */
#define PIDSCOPE_TASK_GROUP_DEAD (1u << 2) /* every thread exited: a zombie */

/*
 * Written by the iter/task program (iter_tasks.bpf.c) with bpf_seq_write():
 * one fixed-size record per thread-group leader, read from the iterator's
 * file descriptor. A snapshot straight from the kernel that also holds what
 * procfs does not show (sub-reaper flags, start time in ns).
 */
struct pidscope_task_record {
	__u32 tgid;
	__u32 ppid;		/* tgid of real_parent */
	__u64 start_boottime_ns;
	__u32 pgid;		/* host PIDs */
	__u32 sid;
	__u64 pidns_inum;	/* as in pidscope_fork_event */
	__u32 pidns_level;
	__u32 ns_pids[PIDSCOPE_MAX_PIDNS_LEVELS];
	__u32 nr_threads;	/* signal->nr_threads */
	__u8 is_child_subreaper;
	__u8 has_child_subreaper;
	__u8 reserved[2];	/* zero */
	__u32 flags;		/* PIDSCOPE_TASK_* */
	char comm[PIDSCOPE_COMM_LEN];
};

#endif /* PIDSCOPE_BPF_PIDSCOPE_H */
