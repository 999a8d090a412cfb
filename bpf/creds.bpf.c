// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Credential changes: PIDSCOPE_EVENT_CREDS with the calling thread's
 * credentials after a successful set*uid, set*gid or capset, from the
 * syscall exit tracepoints (one program per call: each tracepoint fires only
 * for its own syscall, unlike raw_syscalls/sys_exit).
 *
 * setfsuid() and setfsgid() return the previous ID and cannot fail in a way
 * the return value shows: they are reported after every call, and user space
 * compares with what it holds.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"
#include "pidscope.h"
#include "task.bpf.h"

static __always_inline void creds__emit(__u32 call)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pidscope_creds_event *ev;

	if (config__skip_tgid(BPF_CORE_READ(task, tgid)))
		return;
	ev = events__reserve(PIDSCOPE_EVENT_CREDS, sizeof(*ev), task);
	if (!ev)
		return;
	ev->call = call;
	ev->reserved = 0;
	task__creds(task, &ev->creds);
	bpf_ringbuf_submit(ev, 0);
}

/* A program on sys_exit_<name> reporting call @call when the syscall
 * succeeded (returned >= 0), or always if @always. */
#define CREDS_HOOK(name, call, always)					\
	SEC("tracepoint/syscalls/sys_exit_" #name)			\
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)	\
	{								\
		if ((always) || BPF_CORE_READ(ctx, ret) >= 0)		\
			creds__emit(call);				\
		return 0;						\
	}

CREDS_HOOK(setuid, PIDSCOPE_CREDS_SETUID, false)
CREDS_HOOK(setgid, PIDSCOPE_CREDS_SETGID, false)
CREDS_HOOK(setreuid, PIDSCOPE_CREDS_SETREUID, false)
CREDS_HOOK(setregid, PIDSCOPE_CREDS_SETREGID, false)
CREDS_HOOK(setresuid, PIDSCOPE_CREDS_SETRESUID, false)
CREDS_HOOK(setresgid, PIDSCOPE_CREDS_SETRESGID, false)
CREDS_HOOK(setfsuid, PIDSCOPE_CREDS_SETFSUID, true)
CREDS_HOOK(setfsgid, PIDSCOPE_CREDS_SETFSGID, true)
CREDS_HOOK(capset, PIDSCOPE_CREDS_CAPSET, false)
