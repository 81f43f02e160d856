// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The life of a TCP connection from the sock:inet_sock_set_state tracepoint
 * (IPv4 and IPv6), the way libbpf-tools tcplife and tcpstates follow it:
 *
 *   CLOSE -> SYN_SENT       connect(): remember the task in `sockets`
 *                           (no event: ESTABLISHED and CLOSE carry the task,
 *                           and a flood pays for every event it makes)
 *   any -> SYN_RECV         a new child of a listener: remember it, no task
 *   SYN_* -> ESTABLISHED    HF_EVENT_ESTABLISHED with the handshake latency
 *   ESTABLISHED -> FIN_WAIT1,
 *   CLOSE_WAIT -> LAST_ACK  close()/shutdown() by the owner: claim the task
 *                           for sockets remembered without one
 *   any -> CLOSE            HF_EVENT_CLOSE with duration, bytes, retransmits
 *
 * Only CLOSE -> SYN_SENT and the two claims happen in the owning process;
 * the others run in softirq, where the current task is whoever was
 * interrupted, so their task comes from `sockets`.
 *
 * The TCP states (TCP_ESTABLISHED, ...) are compile-time values on purpose:
 * they are user-space ABI (/proc/net/tcp, the tracepoint's own format, and
 * uapi's BPF_TCP_* mirror them with a build-time check), and the kernel
 * declares them in an anonymous enum that CO-RE cannot name.
 *
 * tcp_retransmit counts retransmitted segments per remembered socket.
 *
 * A close no program saw (the kernel skipped the runs) is written late, by
 * whichever notices first: sock_destroy when the socket is freed, the next
 * connect or SYN_RECV in the same socket memory (end_previous), or the
 * sweep user space runs once a second (sock_sweep). The one that deletes
 * the `sockets` entry writes the close.
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
 * struct sock address -> what we know of it, from connect (or SYN_RECV) to
 * close. LRU: a socket whose close was missed ages out instead of holding
 * its slot forever; a full table pushes out the socket idle the longest,
 * whose close then comes without its process (as for a socket older than
 * hostflow). A store the LRU cannot serve counts HF_CNT_SOCKETS_FULL.
 * Sized by user space.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HF_SOCKETS_MAX);
	__type(key, __u64);
	__type(value, struct hf_sock_info);
} sockets SEC(".maps");

/*
 * True when the current task holds the socket's lock, that is, when this
 * state change runs in the process acting on the socket: softirq processing
 * of a socket a process has locked is deferred to that process's
 * release_sock(), so a softirq never sees `owned` set for the socket it
 * handles. pid 0 is the idle task, never an owner.
 */
static __always_inline bool owner_is_current(const struct sock *sk)
{
	if ((bpf_get_current_pid_tgid() >> 32) == 0)
		return false;
	return BPF_CORE_READ(sk, sk_lock.owned) != 0;
}

static __always_inline bool emit_close(__u64 sk, const struct hf_tuple *tuple, int oldstate,
				       const struct hf_sock_info *info, bool bytes_readable);

/*
 * The state a socket closed from, when its close is written without the
 * state change: established connections count as closed from FIN_WAIT2, the
 * usual last state.
 */
static __always_inline int last_state(const struct hf_sock_info *info)
{
	if (info->flags & HF_SOCK_ESTABLISHED)
		return TCP_FIN_WAIT2;
	return info->direction == HF_DIR_IN ? TCP_SYN_RECV : TCP_SYN_SENT;
}

/*
 * A socket address remembered again before its close was seen: the memory of
 * a socket the kernel freed while no probe ran for its end (see sock_sweep).
 * Its close is written now, from what was remembered, before the new socket
 * takes the entry.
 */
static __always_inline void end_previous(__u64 sk)
{
	struct hf_sock_info *found = bpf_map_lookup_elem(&sockets, &sk);
	struct hf_sock_info previous;

	if (!found)
		return;
	previous = *found;
	/* Whoever removes the entry writes the close (the sweep may be at it). */
	if (bpf_map_delete_elem(&sockets, &sk))
		return;
	if (emit_close(sk, &previous.tuple, last_state(&previous), &previous, false))
		hf_count(HF_CNT_CLOSE_RECOVERED);
}

/* CLOSE -> SYN_SENT: connect() in the calling process. */
static __always_inline void on_connect(__u64 sk)
{
	struct hf_sock_info info = {};

	end_previous(sk);
	hf_task_fill(&info.task);
	hf_tuple_from_sock(&info.tuple, (const struct sock *)sk);
	info.start_ns = bpf_ktime_get_ns();
	info.direction = HF_DIR_OUT;
	info.flags = HF_SOCK_TRACKED;
	/*
	 * hostflow's own sockets are remembered too, so that their later
	 * softirq-side transitions can be recognised and skipped.
	 */
	if (bpf_map_update_elem(&sockets, &sk, &info, BPF_ANY))
		hf_count(HF_CNT_SOCKETS_FULL);
}

/* -> SYN_RECV: a listener's new child (or a simultaneous open). */
static __always_inline void on_syn_recv(__u64 sk, int oldstate)
{
	struct hf_sock_info info = {};

	/* Simultaneous open: the socket is our own connect, keep that. */
	if (oldstate == TCP_SYN_SENT && bpf_map_lookup_elem(&sockets, &sk))
		return;

	/*
	 * No tuple yet: a child gets its addresses right after this state
	 * change, and ESTABLISHED stores them.
	 */
	end_previous(sk);
	info.start_ns = bpf_ktime_get_ns();
	info.direction = HF_DIR_IN;
	info.flags = HF_SOCK_TRACKED;
	if (bpf_map_update_elem(&sockets, &sk, &info, BPF_ANY))
		hf_count(HF_CNT_SOCKETS_FULL);
}

/* SYN_SENT/SYN_RECV -> ESTABLISHED, in softirq: the task is remembered. */
static __always_inline void on_established(__u64 sk)
{
	struct hf_established_event *e;
	struct hf_sock_info *info;
	__u64 now;

	info = bpf_map_lookup_elem(&sockets, &sk);
	if (!info)
		return;
	info->flags |= HF_SOCK_ESTABLISHED;
	/* The local port is known from here on. */
	hf_tuple_from_sock(&info->tuple, (const struct sock *)sk);
	if (hf_excluded(info->task.pid))
		return;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_ESTABLISHED);
		return;
	}
	now = bpf_ktime_get_ns();
	__builtin_memset(e, 0, sizeof(*e));
	hf_header_fill(&e->hdr, HF_EVENT_ESTABLISHED, now);
	e->task = info->task;
	e->tuple = info->tuple;
	e->sock = sk;
	e->latency_ns = now - info->start_ns;
	e->direction = info->direction;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&events));
}

/*
 * ESTABLISHED -> FIN_WAIT1 or CLOSE_WAIT -> LAST_ACK: close() or shutdown()
 * by a process holding the socket. An accepted socket (remembered with pid 0)
 * takes that process; a socket that predates hostflow is remembered from
 * here on, untracked, so its close names the process that closed it.
 */
static __always_inline void on_owner_close(__u64 sk)
{
	struct hf_sock_info *info;
	struct hf_sock_info fresh = {};

	if (!owner_is_current((const struct sock *)sk))
		return;

	info = bpf_map_lookup_elem(&sockets, &sk);
	if (info) {
		if (info->task.pid == 0)
			hf_task_fill(&info->task);
		return;
	}
	hf_task_fill(&fresh.task);
	hf_tuple_from_sock(&fresh.tuple, (const struct sock *)sk);
	/* Leaving ESTABLISHED or CLOSE_WAIT: the connection was established. */
	fresh.flags = HF_SOCK_ESTABLISHED;
	if (bpf_map_update_elem(&sockets, &sk, &fresh, BPF_NOEXIST))
		hf_count(HF_CNT_SOCKETS_FULL);
}

/* States in which this socket has sent its FIN. */
static __always_inline bool fin_sent(int state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	       state == TCP_LAST_ACK || state == TCP_TIME_WAIT;
}

/*
 * Payload bytes from tcp_sock's RFC 4898 counters (both exist since 4.1/4.2).
 * They count sequence space, not payload: our SYN on an active open and our
 * FIN once acknowledged take one each from bytes_acked, the peer's FIN takes
 * one from bytes_received. Take them out, so the counts are exactly what
 * the applications exchanged. An untracked socket's direction is unknown:
 * its SYN stays counted.
 */
static __always_inline void read_bytes(const struct sock *sk, int oldstate, bool active_open,
				       struct hf_close_event *e)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 acked = 0, received = 0;

	if (bpf_core_field_exists(tp->bytes_acked))
		acked = BPF_CORE_READ(tp, bytes_acked);
	if (bpf_core_field_exists(tp->bytes_received))
		received = BPF_CORE_READ(tp, bytes_received);

	/* Any ack at all on an active open covers the SYN first. */
	if (active_open && acked > 0)
		acked--;
	/* write_seq counts the FIN once queued: all acked means the FIN too. */
	if (fin_sent(oldstate) && acked > 0 &&
	    BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		acked--;
	/*
	 * tcp_fin() marks the socket SOCK_DONE right after counting the FIN.
	 * enum sock_flags is kernel-internal and has changed between versions:
	 * its value comes from the running kernel's BTF, not from vmlinux.h.
	 */
	if (received > 0 && (BPF_CORE_READ(sk, __sk_common.skc_flags) &
			     (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		received--;
	e->bytes_sent = acked;
	e->bytes_received = received;
}

/*
 * Write the close of socket `sk`. `info` is what `sockets` remembered (NULL
 * for a socket older than hostflow); the byte counts are read from the socket
 * unless its memory may already hold another one. False for hostflow's own
 * sockets, which get no record, and for a late close whose addresses are
 * not known (an inbound socket never seen established whose memory was
 * taken over), which would decode as malformed.
 */
static __always_inline bool emit_close(__u64 sk, const struct hf_tuple *tuple, int oldstate,
				       const struct hf_sock_info *info, bool bytes_readable)
{
	const struct sock *s = (const struct sock *)sk;
	struct hf_close_event *e;
	__u64 now;

	if (info && hf_excluded(info->task.pid))
		return false;
	if (tuple->family != AF_INET && tuple->family != AF_INET6)
		return false;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_CLOSE);
		return true;
	}
	now = bpf_ktime_get_ns();
	__builtin_memset(e, 0, sizeof(*e));
	hf_header_fill(&e->hdr, HF_EVENT_CLOSE, now);
	e->tuple = *tuple;
	e->sock = sk;
	if (bytes_readable)
		read_bytes(s, oldstate, info && info->direction == HF_DIR_OUT, e);
	e->old_state = oldstate;
	if (info) {
		e->task = info->task;
		if (info->start_ns)
			e->duration_ns = now - info->start_ns;
		e->retransmits = info->retransmits;
		e->direction = info->direction;
		e->tracked = (info->flags & HF_SOCK_TRACKED) != 0;
	} else if (owner_is_current(s)) {
		/* e.g. close() with unread data on a socket older than hostflow. */
		hf_task_fill(&e->task);
	}
	bpf_ringbuf_submit(e, hf_wakeup_flags(&events));
	return true;
}

/*
 * any -> CLOSE: the end of the socket, whatever ended it. False when there
 * was nothing to write: no connection, its close was written already, or
 * the socket is hostflow's own.
 */
static __always_inline bool on_close(const struct hf_tuple *tuple, __u64 sk, int oldstate)
{
	const struct sock *s = (const struct sock *)sk;
	struct hf_sock_info *found;
	struct hf_sock_info info;

	/* A listener closing, or a socket that never left CLOSE: no connection. */
	if (oldstate == TCP_LISTEN || oldstate == TCP_CLOSE)
		return false;

	found = bpf_map_lookup_elem(&sockets, &sk);
	if (!found) {
		if (owner_is_current(s) && hf_excluded(bpf_get_current_pid_tgid() >> 32))
			return false;
		return emit_close(sk, tuple, oldstate, NULL, true);
	}
	info = *found;
	/* Whoever removes the entry writes the close (the sweep may be at it). */
	if (bpf_map_delete_elem(&sockets, &sk))
		return false;
	return emit_close(sk, tuple, oldstate, &info, true);
}

static __always_inline void handle_set_state(__u64 sk, int oldstate, int newstate)
{
	switch (newstate) {
	case TCP_SYN_SENT:
		if (oldstate == TCP_CLOSE)
			on_connect(sk);
		break;
	case TCP_SYN_RECV:
		on_syn_recv(sk, oldstate);
		break;
	case TCP_ESTABLISHED:
		if (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV)
			on_established(sk);
		break;
	case TCP_FIN_WAIT1:
		if (oldstate == TCP_ESTABLISHED)
			on_owner_close(sk);
		break;
	case TCP_LAST_ACK:
		if (oldstate == TCP_CLOSE_WAIT)
			on_owner_close(sk);
		break;
	case TCP_CLOSE: {
		struct hf_tuple tuple = {};

		hf_tuple_from_sock(&tuple, (const struct sock *)sk);
		on_close(&tuple, sk, oldstate);
		break;
	}
	}
}

/*
 * sock:inet_sock_set_state as a raw tracepoint: the arguments are the
 * kernel's own (sk, oldstate, newstate), and the addresses are read from
 * the socket at the moment the classic tracepoint would copy them. Raw,
 * because a classic tracepoint program is skipped whenever another tracing
 * program runs on the CPU (one per-CPU guard for all of them), as when a
 * softirq's state change interrupts a process's own connect, while a raw
 * one is guarded per program; and raw tracepoints need no tracefs, which
 * only root may read.
 */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(sock_state, const struct sock *s, int oldstate, int newstate)
{
	__u16 family;

	/* The tracepoint also serves SCTP and MPTCP; sk_protocol was a bitfield before 5.6. */
	if (BPF_CORE_READ_BITFIELD_PROBED(s, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(s, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	handle_set_state((__u64)s, oldstate, newstate);
	return 0;
}

/*
 * tcp:tcp_destroy_sock: the socket is freed, after its close went through
 * sock_state, unless the kernel skipped that run. A raw tracepoint program
 * does not nest: a state change in softirq that interrupts sock_state
 * running for another socket on the same CPU skips it, visible only in
 * recursion_misses (user space reports those). This is another program, so
 * it runs in that softirq. A socket still remembered here is such a miss:
 * its close is emitted now, so neither the record nor the `sockets` entry
 * is lost. The state it closed from is gone by now (last_state()).
 */
SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(sock_destroy, struct sock *s)
{
	__u64 sk = (__u64)s;
	struct hf_sock_info *info;
	struct hf_tuple tuple = {};

	info = bpf_map_lookup_elem(&sockets, &sk);
	if (!info)
		return 0;
	hf_tuple_from_sock(&tuple, (const struct sock *)sk);
	if (on_close(&tuple, sk, last_state(info)))
		hf_count(HF_CNT_CLOSE_RECOVERED);
	return 0;
}

/*
 * How long a socket is left alone after connect() or SYN_RECV before the
 * sweep may take it as ended. Until ESTABLISHED, what the socket's memory
 * shows trails the state change the entry was made at: the state is stored
 * after the tracepoint returns (a connecting socket still reads CLOSE, a
 * listener's new child LISTEN), and a child gets its addresses right after.
 */
#define HF_SWEEP_GRACE_NS 500000000ULL

struct sweep_ctx {
	__u64 now;
};

/* The memory at the socket's address shows the remembered remote end. */
static __always_inline bool same_remote(const struct hf_tuple *was, const struct hf_tuple *now)
{
	if (was->family != now->family || was->dport != now->dport)
		return false;
	for (int i = 0; i < 16; i++)
		if (was->daddr[i] != now->daddr[i])
			return false;
	return true;
}

/* ... and the remembered local end: the same connection. */
static __always_inline bool same_socket(const struct hf_tuple *was, const struct hf_tuple *now)
{
	if (!same_remote(was, now) || was->sport != now->sport)
		return false;
	for (int i = 0; i < 16; i++)
		if (was->saddr[i] != now->saddr[i])
			return false;
	return true;
}

/*
 * Whether the socket remembered at `sk` has ended. An established one has
 * ended when its memory shows CLOSE or holds another connection by now. One
 * not yet established (its tuple is not complete) only when it has been
 * connecting for longer than the grace and shows CLOSE or LISTEN: a connect
 * that failed unseen, or memory a listener took over. *readable: the memory
 * still holds this socket, so its counters and tuple can be read.
 */
static __always_inline bool sweep_ended(const struct hf_sock_info *info, const struct hf_tuple *now,
					int state, __u64 now_ns, bool *readable)
{
	if (info->flags & HF_SOCK_ESTABLISHED) {
		*readable = same_socket(&info->tuple, now);
		return !*readable || state == TCP_CLOSE;
	}
	/* An inbound one has no tuple stored before ESTABLISHED: its memory's. */
	*readable = info->tuple.family == 0 || same_remote(&info->tuple, now);
	if (now_ns - info->start_ns < HF_SWEEP_GRACE_NS)
		return false;
	return state == TCP_CLOSE || state == TCP_LISTEN;
}

static long sweep_one(struct bpf_map *map, __u64 *key, struct hf_sock_info *value,
		      struct sweep_ctx *sweep)
{
	__u64 sk = *key;
	const struct sock *s = (const struct sock *)sk;
	struct hf_tuple now = {};
	struct hf_sock_info info;
	bool readable;
	int state;

	hf_tuple_from_sock(&now, s);
	state = BPF_CORE_READ(s, __sk_common.skc_state);
	if (!sweep_ended(value, &now, state, sweep->now, &readable))
		return 0;
	info = *value;
	if (bpf_map_delete_elem(&sockets, &sk))
		return 0;
	if (emit_close(sk, readable ? &now : &info.tuple, last_state(&info), &info, readable))
		hf_count(HF_CNT_CLOSE_RECOVERED);
	return 0;
}

/*
 * Run by user space (BPF_PROG_TEST_RUN), never attached: every remembered
 * socket that has ended (sweep_ended) gets its close written. On some hosts no tracing
 * program runs for all the state changes of one softirq now and then
 * (measured with ftrace against independent raw and classic tracepoint
 * programs, bench/README.md): neither sock_state nor sock_destroy sees
 * those sockets end, and nothing counts the miss. The close then carries
 * the time of the sweep, so its duration is long by up to one sweep
 * interval; the bytes are those the socket held when it was freed, or none
 * when its memory was reused.
 */
SEC("raw_tp")
int sock_sweep(void *ctx)
{
	struct sweep_ctx sweep = { .now = bpf_ktime_get_ns() };

	bpf_for_each_map_elem(&sockets, sweep_one, &sweep, 0);
	return 0;
}

/* tcp:tcp_retransmit_skb, raw for the same reasons as sock_state. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, const struct sock *s)
{
	__u64 sk = (__u64)s;
	struct hf_sock_info *info;

	hf_count(HF_CNT_RETRANSMITS);
	info = bpf_map_lookup_elem(&sockets, &sk);
	if (info)
		__sync_fetch_and_add(&info->retransmits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
