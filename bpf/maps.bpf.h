/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What several probe families share: the `events` ring buffer, the
 * `counters` array and the `exclude_tgid` constant, plus the internal
 * (kernel-only) values of the family maps. Nothing here crosses to user
 * space except through the map and constant names; the record layouts are
 * in hostflow.h.
 *
 * Every family object includes this header, so each carries a copy of these
 * definitions. They are __weak: the BPF static linker (bpftool gen object)
 * keeps one of identical weak definitions and drops the rest, so the linked
 * hostflow.bpf.o, its skeleton and the kernel get exactly one `events`, one
 * `counters` and one `exclude_tgid`. (libbpf's linker also accepts `extern`
 * declarations of maps; weak definitions keep one textual definition and
 * still let each family object compile on its own.)
 */
#ifndef HF_MAPS_BPF_H
#define HF_MAPS_BPF_H

/* Set by user space before load: hostflow's own pid, 0 to trace everyone. */
const volatile __u32 exclude_tgid __weak = 0;

/*
 * Waking the poll thread for every record costs a context switch per event,
 * most of the tracing overhead on a busy host (see README.md, OVERHEAD).
 * With `wakeup_bytes` set, records are submitted without a wakeup until that
 * many bytes wait in a ring, and the poll thread must drain on its own
 * timeout (ring_buffer__consume() after epoll times out), which bounds how
 * long a quiet ring's records wait. 0 keeps libbpf's default of one wakeup
 * per record, which works with any poll loop. 65536 (64 KiB) is the
 * suggested value: a few hundred records, under 1% of either ring.
 *
 * Set by user space before load.
 */
const volatile __u32 wakeup_bytes __weak = 0;

/* connect, established, close and lookup records; sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HF_EVENTS_BYTES);
} events SEC(".maps") __weak;

/* Per-CPU counts indexed by enum hf_counter; user space sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

/* hf_sock_info.flags */
#define HF_SOCK_TRACKED 1     /* seen from connect or SYN_RECV, not midway */
#define HF_SOCK_ESTABLISHED 2 /* reached ESTABLISHED */

/*
 * Value of `sockets`: what the lifecycle remembers of one TCP socket. The
 * tuple is what the socket held when last seen (its local port is 0 from
 * connect() until established; an inbound socket has none, family 0, until
 * established): the close of a socket the probes never saw end is written
 * from it (lifecycle.bpf.c, sock_sweep), and the sweep tells the socket
 * from a later one in the same memory by it.
 */
struct hf_sock_info {
	struct hf_task task;   /* who connected; pid 0 until an inbound is claimed */
	struct hf_tuple tuple; /* as last seen */
	__u64 start_ns;	       /* connect() or SYN_RECV; 0 when not tracked */
	__u32 retransmits;     /* tcp:tcp_retransmit_skb hits */
	__u32 direction;       /* enum hf_direction */
	__u32 flags;	       /* HF_SOCK_* */
	__u32 _pad;
};

/* Value of `lookups`: one getaddrinfo() call between entry and return. */
struct hf_lookup_state {
	__u64 start_ns;
	__u64 res;		/* struct addrinfo ** in the caller's memory */
	__u64 node;		/* the node argument itself, to read again on return */
	char name[HF_NAME_MAX]; /* node argument, "" when NULL or not yet readable */
};

/* hf_sock_owner.flags */
#define HF_OWNER_UDP_CONVS 1 /* the socket has entries in `udp_convs` */

/*
 * Value of `socket_owners` (socket local storage, sockets.bpf.c): who owns
 * one inet socket, set where it is created and updated where another
 * process connects or sends with it (a socket passed across fork or exec).
 */
struct hf_sock_owner {
	struct hf_task task;
	__u64 netns_cookie; /* the socket's network namespace */
	__u32 flags;	    /* HF_OWNER_* */
	__u32 _pad;
};

/* Value of `processes`: what the socket hooks cannot read from the task. */
struct hf_process {
	__u32 ppid;
	__u32 _pad;
	__u64 start_ns; /* CLOCK_BOOTTIME, as hf_task.start_ns */
};

#endif /* HF_MAPS_BPF_H */
