// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The connect probe in its two function-hook modes: one HF_EVENT_CONNECT per
 * tcp_v4_connect()/tcp_v6_connect() call, with the tuple the kernel chose
 * (source port included) and the return code, failures too.
 *
 * kprobe mode: connect_v{4,6}_kprobe remember the socket by thread id in
 * `connecting`, connect_v{4,6}_kretprobe emit once the call returned and
 * delete the entry.
 * fentry mode: connect_v{4,6}_fexit see arguments and return value at once.
 * The third mode, the sock:inet_sock_set_state tracepoint, lives in
 * lifecycle.bpf.c and emits no connect event: its ESTABLISHED and CLOSE
 * events carry the task. User space loads one mode (autoload off for the
 * others).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "hostflow.h"
#include "maps.bpf.h"
#include "helpers.bpf.h"

/*
 * tid -> socket passed to tcp_v*_connect(), from kprobe to kretprobe. LRU:
 * the entry of a call whose return was missed (kretprobe instances run
 * out) ages out instead of holding its slot forever. Sized by user space.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HF_CONNECTING_MAX);
	__type(key, __u32);
	__type(value, struct sock *);
} connecting SEC(".maps");

static __always_inline void emit_connect(struct sock *sk, int ret, __u32 probe)
{
	struct hf_connect_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_CONNECT);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	hf_header_fill(&e->hdr, HF_EVENT_CONNECT, bpf_ktime_get_ns());
	hf_task_fill(&e->task);
	hf_tuple_from_sock(&e->tuple, sk);
	e->sock = (__u64)sk;
	e->ret = ret;
	e->probe = probe;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&events));
}

static __always_inline int enter_connect(struct sock *sk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;

	if (hf_excluded(pid_tgid >> 32))
		return 0;
	/* A failed store shows at the return, which finds no entry. */
	bpf_map_update_elem(&connecting, &tid, &sk, BPF_ANY);
	return 0;
}

/*
 * A kretprobe fires only for calls that entered after it was attached, and
 * the entry probe is attached first, so every return of a traced thread
 * has had its entry: a missing one was pushed out of a full `connecting`
 * (or never stored), and the connect record is lost.
 *
 * tcp_v6_connect() hands v4-mapped destinations to tcp_v4_connect() on the
 * same thread and socket (whose family stays AF_INET6): the inner return
 * leaves the entry to the outer one, which emits with the same return code
 * and reads the tuple as IPv6, as connect_v6_fexit does in fentry mode.
 */
static __always_inline int exit_connect(int ret, bool v4)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sock **skpp;
	struct sock *sk;

	if (hf_excluded(pid_tgid >> 32))
		return 0;
	skpp = bpf_map_lookup_elem(&connecting, &tid);
	if (!skpp) {
		hf_count(HF_CNT_CONNECTING_FULL);
		return 0;
	}
	sk = *skpp;
	if (v4 && BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6)
		return 0;

	emit_connect(sk, ret, HF_PROBE_KPROBE);

	bpf_map_delete_elem(&connecting, &tid);
	return 0;
}

static __always_inline int fexit_connect(struct sock *sk, int ret)
{
	if (hf_excluded(bpf_get_current_pid_tgid() >> 32))
		return 0;
	emit_connect(sk, ret, HF_PROBE_FENTRY);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(connect_v4_kprobe, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(connect_v4_kretprobe, int ret)
{
	return exit_connect(ret, true);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(connect_v6_kprobe, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(connect_v6_kretprobe, int ret)
{
	return exit_connect(ret, false);
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(connect_v4_fexit, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	/* A v4-mapped connect runs both functions; connect_v6_fexit reports it. */
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6)
		return 0;
	return fexit_connect(sk, ret);
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(connect_v6_fexit, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	return fexit_connect(sk, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
