// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The connect probe in its two function-hook modes: one HF_EVENT_CONNECT per
 * tcp_v4_connect()/tcp_v6_connect() call, with the tuple the kernel chose
 * (source port included) and the return code, failures too.
 *
 * kprobe mode: connect_v{4,6}_kprobe remember the socket by thread id in
 * `connecting`, connect_v{4,6}_kretprobe emit once the call returned.
 * fentry mode: connect_v{4,6}_fexit see arguments and return value at once.
 * The third mode, the sock:inet_sock_set_state tracepoint, lives in
 * lifecycle.bpf.c. User space loads one mode (autoload off for the others)
 * and sets `connect_probe` to it.
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
 * Threads inside tcp_v*_connect() at the same time. An entry lives for one
 * call (microseconds; connect() does not wait for the handshake there), so
 * this is far above any real concurrency.
 */
#define HF_CONNECTING_MAX 8192

/* tid -> socket passed to tcp_v*_connect(), from kprobe to kretprobe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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
	/* A full map loses this connect's event: count it with the drops. */
	if (bpf_map_update_elem(&connecting, &tid, &sk, BPF_ANY))
		hf_count(HF_CNT_DROP_CONNECT);
	return 0;
}

/*
 * tcp_v6_connect() hands v4-mapped destinations to tcp_v4_connect() on the
 * same thread and socket: the inner return emits (the socket's family is
 * AF_INET6, so the tuple is read as IPv6) and deletes the entry, the outer
 * return finds nothing. One event either way.
 */
static __always_inline int exit_connect(int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sock **skpp;

	skpp = bpf_map_lookup_elem(&connecting, &tid);
	if (!skpp)
		return 0;

	emit_connect(*skpp, ret, HF_PROBE_KPROBE);

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
	return exit_connect(ret);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(connect_v6_kprobe, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(connect_v6_kretprobe, int ret)
{
	return exit_connect(ret);
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
