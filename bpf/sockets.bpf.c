// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The socket hooks: cgroup programs attached to the cgroup v2 root, so they
 * run for every inet socket of every process, in every network namespace
 * and on every interface, loopback included. They need neither kprobes nor
 * tracefs, and they see what programs that bypass libc send (static Go,
 * dig): DNS is tied to the process that owns the socket.
 *
 * - socket_create (cgroup/sock_create) records the creating task in the
 *   socket's local storage (`socket_owners`); socket_connect4/6 and
 *   socket_sendmsg4/6 record the task that uses the socket when it is
 *   another process than the one stored (a socket passed across fork).
 *   The cgroup hooks cannot read the task itself: its parent and start
 *   time come from `processes`, which process_fork fills for every process
 *   forked since hostflow started (0 for the older ones).
 * - socket_egress and socket_ingress (cgroup_skb) copy DNS queries the
 *   socket sends (to port 53) and responses it receives (from port 53),
 *   UDP and TCP, into `dns_events` with the owner, and count every other
 *   UDP datagram into `udp_convs`, per socket and remote address. The first
 *   datagrams of a conversation that start a QUIC Initial packet are copied
 *   into `payload_events`.
 * - socket_release (cgroup/sock_release) tells user space that a socket
 *   with conversations is gone (HF_EVENT_UDP_CLOSE).
 *
 * Every hook allows (returns 1) and changes nothing.
 *
 * OVERHEAD: socket_egress and socket_ingress run for every packet of every
 * local inet socket. A TCP packet not to or from port 53 costs one IP and
 * TCP header parse and returns before any map is touched; a UDP datagram
 * costs a socket storage lookup and a hash update with atomic adds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "hostflow.h"
#include "maps.bpf.h"
#include "helpers.bpf.h"
#include "packet.bpf.h"
#include "dns.bpf.h"
#include "payload.bpf.h"

/*
 * QUIC (RFC 9000 17.2, RFC 9369 3.2): a long header sets the two high bits
 * of the first byte, then a 4-byte version. The Initial packet's type bits
 * (0x30) are 0b00 in version 1 and 0b01 in version 2.
 */
#define HF_QUIC_LONG_HEADER 0xC0
#define HF_QUIC_TYPE_MASK 0x30
#define HF_QUIC_V1 0x00000001
#define HF_QUIC_V1_INITIAL 0x00
#define HF_QUIC_V2 0x6b3343cf
#define HF_QUIC_V2_INITIAL 0x10
/* First byte and version. */
#define HF_QUIC_PEEK 5
/*
 * Datagrams of a conversation looked at for an Initial: a client's first
 * flight is one to three datagrams (a ClientHello with a post-quantum key
 * share can take two), and a retry or version negotiation one more.
 */
#define HF_QUIC_INITIALS 4

/* The socket's owner; created at socket(), or where a socket first shows. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hf_sock_owner);
} socket_owners SEC(".maps");

/* pid -> parent and start time, for processes forked since hostflow started. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HF_PROCESSES_MAX);
	__type(key, __u32);
	__type(value, struct hf_process);
} processes SEC(".maps");

/* One UDP socket's exchange with one remote address; user space deletes ended ones. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HF_UDP_CONVS_MAX);
	__type(key, struct hf_udp_conv_key);
	__type(value, struct hf_udp_conv);
} udp_convs SEC(".maps");

/* The current task, its parent and start time from `processes` when forked since load. */
static __always_inline void owner_task_fill(struct hf_task *task)
{
	struct hf_process *process;

	hf_task_fill_ids(task);
	process = bpf_map_lookup_elem(&processes, &task->pid);
	if (process) {
		task->ppid = process->ppid;
		task->start_ns = process->start_ns;
	}
}

/*
 * Records the current task as the owner of `owner`'s socket when another
 * process (or nobody yet) is recorded: who uses a socket is who sends.
 */
static __always_inline void owner_claim(struct hf_sock_owner *owner, __u64 netns_cookie)
{
	struct hf_task task;

	if (owner->task.pid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return;
	owner_task_fill(&task);
	owner->task = task;
	if (!owner->netns_cookie)
		owner->netns_cookie = netns_cookie;
}

SEC("cgroup/sock_create")
int socket_create(struct bpf_sock *ctx)
{
	struct hf_sock_owner *owner;

	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return 1;
	/*
	 * TCP is the connect probes' to name; a TCP socket gets an owner only
	 * when it connects to DNS (socket_used), so a flood of connections
	 * costs no storage here.
	 */
	if (ctx->type == SOCK_STREAM)
		return 1;
	owner = bpf_sk_storage_get(&socket_owners, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (owner)
		owner_claim(owner, bpf_get_netns_cookie(ctx));
	return 1;
}

static __always_inline int socket_used(struct bpf_sock_addr *ctx)
{
	struct hf_sock_owner *owner;
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return 1;
	if (ctx->type == SOCK_STREAM && ctx->user_port != bpf_htons(HF_DNS_PORT))
		return 1;
	owner = bpf_sk_storage_get(&socket_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (owner)
		owner_claim(owner, bpf_get_netns_cookie(ctx));
	return 1;
}

SEC("cgroup/connect4")
int socket_connect4(struct bpf_sock_addr *ctx)
{
	return socket_used(ctx);
}

SEC("cgroup/connect6")
int socket_connect6(struct bpf_sock_addr *ctx)
{
	return socket_used(ctx);
}

SEC("cgroup/sendmsg4")
int socket_sendmsg4(struct bpf_sock_addr *ctx)
{
	return socket_used(ctx);
}

SEC("cgroup/sendmsg6")
int socket_sendmsg6(struct bpf_sock_addr *ctx)
{
	return socket_used(ctx);
}

SEC("cgroup/sock_release")
int socket_release(struct bpf_sock *ctx)
{
	struct hf_sock_owner *owner;
	struct hf_udp_close_event *e;

	owner = bpf_sk_storage_get(&socket_owners, ctx, 0, 0);
	if (!owner || !(owner->flags & HF_OWNER_UDP_CONVS))
		return 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_UDP_CLOSE);
		return 1;
	}
	hf_header_fill(&e->hdr, HF_EVENT_UDP_CLOSE, bpf_ktime_get_ns());
	e->sock_cookie = bpf_get_socket_cookie(ctx);
	bpf_ringbuf_submit(e, hf_wakeup_flags(&events));
	return 1;
}

/* What the packet hooks know about the socket a packet belongs to. */
struct sock_view {
	struct hf_sock_owner *owner; /* NULL when the socket has no storage */
	__u64 cookie;
};

/* The DNS message of `pkt`, if it is one in the direction `egress` says. */
static __always_inline void socket_dns(struct __sk_buff *skb, const struct hf_packet *pkt,
				       bool egress, const struct sock_view *view)
{
	struct hf_dns_origin origin = {
		.sock_cookie = view->cookie,
		.seen_at = HF_SEEN_SOCKET,
		.drop_count = HF_CNT_DROP_DNS_SOCK,
	};
	__u32 msg_len = 0;
	__u8 transport = HF_DNS_UDP;

	if (!hf_dns_message_len(pkt, egress ? pkt->key.dport : pkt->key.sport, skb->len, &msg_len,
				&transport))
		return;
	if (view->owner) {
		origin.task = &view->owner->task;
		origin.netns_cookie = view->owner->netns_cookie;
	}
	hf_dns_copy(skb, false, pkt, skb->len, egress ? HF_DIR_OUT : HF_DIR_IN, msg_len, transport,
		    &origin);
}

/* True when the UDP payload of `pkt` starts a QUIC v1 or v2 Initial packet. */
static __always_inline bool quic_initial(struct __sk_buff *skb, const struct hf_packet *pkt)
{
	__u8 peek[HF_QUIC_PEEK];
	__u32 version;

	if (bpf_skb_load_bytes(skb, pkt->payload_off, peek, sizeof(peek)))
		return false;
	if ((peek[0] & HF_QUIC_LONG_HEADER) != HF_QUIC_LONG_HEADER)
		return false;
	version = ((__u32)peek[1] << 24) | ((__u32)peek[2] << 16) | ((__u32)peek[3] << 8) | peek[4];
	if (version == HF_QUIC_V1)
		return (peek[0] & HF_QUIC_TYPE_MASK) == HF_QUIC_V1_INITIAL;
	if (version == HF_QUIC_V2)
		return (peek[0] & HF_QUIC_TYPE_MASK) == HF_QUIC_V2_INITIAL;
	return false;
}

/* Copies the QUIC Initial datagram `pkt` (payload_len UDP payload bytes). */
static __always_inline void quic_capture(struct __sk_buff *skb, const struct hf_packet *pkt,
					 __u32 payload_len, const struct sock_view *view)
{
	struct hf_payload_event *e;
	__u32 cap;

	if (payload_len < HF_QUIC_PEEK || !quic_initial(skb, pkt))
		return;
	e = bpf_ringbuf_reserve(&payload_events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_PAYLOAD_SOCK);
		return;
	}
	hf_header_fill(&e->hdr, HF_EVENT_PAYLOAD, bpf_ktime_get_ns());
	if (view->owner) {
		e->task = view->owner->task;
		e->netns_cookie = view->owner->netns_cookie;
	} else {
		__builtin_memset(&e->task, 0, sizeof(e->task));
		e->netns_cookie = 0;
	}
	hf_tuple_from_packet(&e->tuple, pkt);
	e->sock_cookie = view->cookie;
	e->ifindex = pkt->key.ifindex;
	e->direction = HF_DIR_OUT;
	e->kind = HF_PAYLOAD_QUIC;
	e->payload_len = payload_len;
	e->seen_at = HF_SEEN_SOCKET;
	__builtin_memset(e->_pad, 0, sizeof(e->_pad));
	cap = payload_len < HF_PAYLOAD_CAPTURE ? payload_len : HF_PAYLOAD_CAPTURE;
	if (hf_load_bytes(skb, false, pkt->payload_off, e->data, cap, HF_PAYLOAD_CAPTURE))
		cap = 0;
	e->cap_len = cap;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&payload_events));
}

/*
 * Counts one UDP packet (`segs` datagrams of `bytes` payload bytes in all)
 * into its conversation, creating it with the owner and the local end.
 * Returns the datagrams the conversation had sent before this packet.
 */
static __always_inline __u64 count_conversation(const struct hf_packet *pkt, bool egress,
						__u32 segs, __u32 bytes,
						const struct sock_view *view)
{
	struct hf_udp_conv_key key = {};
	struct hf_udp_conv *conv;
	__u64 now = bpf_ktime_get_ns();
	__u64 sent;

	key.sock_cookie = view->cookie;
	__builtin_memcpy(key.raddr, egress ? pkt->key.daddr : pkt->key.saddr, sizeof(key.raddr));
	key.rport = egress ? pkt->key.dport : pkt->key.sport;
	key.family = pkt->key.family;

	conv = bpf_map_lookup_elem(&udp_convs, &key);
	if (!conv) {
		struct hf_udp_conv init = {};

		if (view->owner) {
			init.task = view->owner->task;
			init.netns_cookie = view->owner->netns_cookie;
		}
		__builtin_memcpy(init.laddr, egress ? pkt->key.saddr : pkt->key.daddr,
				 sizeof(init.laddr));
		init.lport = egress ? pkt->key.sport : pkt->key.dport;
		init.ifindex = pkt->key.ifindex;
		if (egress) {
			init.packets_out = segs;
			init.bytes_out = bytes;
		} else {
			init.packets_in = segs;
			init.bytes_in = bytes;
		}
		init.first_ns = now;
		init.last_ns = now;
		if (bpf_map_update_elem(&udp_convs, &key, &init, BPF_NOEXIST) == 0)
			return 0;
		/* Another CPU created it since the lookup (or the table is full). */
		conv = bpf_map_lookup_elem(&udp_convs, &key);
		if (!conv) {
			hf_count(HF_CNT_UDP_CONVS_FAILED);
			return HF_QUIC_INITIALS;
		}
	}
	sent = conv->packets_out;
	if (egress) {
		__sync_fetch_and_add(&conv->packets_out, segs);
		__sync_fetch_and_add(&conv->bytes_out, bytes);
	} else {
		__sync_fetch_and_add(&conv->packets_in, segs);
		__sync_fetch_and_add(&conv->bytes_in, bytes);
	}
	conv->last_ns = now;
	return sent;
}

/* A UDP packet with port 53 at neither end: its conversation, and QUIC on egress. */
static __always_inline void socket_udp(struct __sk_buff *skb, const struct hf_packet *pkt,
				       bool egress, struct sock_view *view)
{
	__u32 segs = 1, bytes;
	__u64 sent;

	if (egress && skb->gso_segs > 1) {
		/* UDP_SEGMENT: one header, the datagrams' payloads after it. */
		segs = skb->gso_segs;
		bytes = skb->len > pkt->payload_off ? skb->len - pkt->payload_off : 0;
	} else {
		bytes = pkt->udp_len >= sizeof(struct hf_udp_hdr) ?
				pkt->udp_len - sizeof(struct hf_udp_hdr) :
				0;
	}
	sent = count_conversation(pkt, egress, segs, bytes, view);
	/* Racing CPUs can only set the same bit. */
	if (view->owner && !(view->owner->flags & HF_OWNER_UDP_CONVS))
		view->owner->flags |= HF_OWNER_UDP_CONVS;
	if (egress && capture_names && sent < HF_QUIC_INITIALS)
		quic_capture(skb, pkt, bytes, view);
}

static __always_inline int socket_packet(struct __sk_buff *skb, bool egress)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct hf_packet pkt;
	struct sock_view view;
	struct bpf_sock *sk;
	__u16 remote_port;

	hf_packet_init(&pkt, skb->ifindex, egress ? HF_DIR_OUT : HF_DIR_IN);
	if (hf_parse_l3(data, data_end, skb->protocol, &pkt) != HF_PARSE_OK || !pkt.has_ports)
		return 1;
	remote_port = egress ? pkt.key.dport : pkt.key.sport;
	/* The common case, TCP of anything but DNS, leaves here. */
	if (pkt.key.proto == HF_IPPROTO_TCP) {
		if (remote_port != HF_DNS_PORT)
			return 1;
	} else if (pkt.key.proto != HF_IPPROTO_UDP) {
		return 1;
	} else if ((egress ? pkt.key.sport : pkt.key.dport) == HF_DNS_PORT) {
		/*
		 * A DNS server's own socket (a stub such as systemd-resolved's
		 * 127.0.0.53, dnsmasq): each client query would be a conversation
		 * of its own, a table and a record flood under a random-subdomain
		 * flood. Its clients' side is where the lookups are read.
		 */
		return 1;
	}

	sk = skb->sk;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	/*
	 * A UDP socket older than hostflow gets storage here, owner unknown
	 * (pid 0), so that its release still ends its conversations.
	 */
	view.owner =
		bpf_sk_storage_get(&socket_owners, sk, 0,
				   pkt.key.proto == HF_IPPROTO_UDP && remote_port != HF_DNS_PORT ?
					   BPF_SK_STORAGE_GET_F_CREATE :
					   0);
	if (view.owner && hf_excluded(view.owner->task.pid))
		return 1;
	view.cookie = bpf_get_socket_cookie(skb);

	if (remote_port == HF_DNS_PORT)
		socket_dns(skb, &pkt, egress, &view);
	else
		socket_udp(skb, &pkt, egress, &view);
	return 1;
}

SEC("cgroup_skb/egress")
int socket_egress(struct __sk_buff *skb)
{
	return socket_packet(skb, true);
}

SEC("cgroup_skb/ingress")
int socket_ingress(struct __sk_buff *skb)
{
	return socket_packet(skb, false);
}

/*
 * A new process (not a thread): its parent and start time, for the socket
 * hooks. A raw tracepoint needs no tracefs; args are (parent, child).
 */
SEC("raw_tp/sched_process_fork")
int process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct hf_process process = {};
	__u32 pid = BPF_CORE_READ(child, pid);
	__u32 tgid = BPF_CORE_READ(child, tgid);

	if (pid != tgid)
		return 0;
	process.ppid = BPF_CORE_READ(child, real_parent, tgid);
	process.start_ns = hf_task_start_ns(child);
	bpf_map_update_elem(&processes, &tgid, &process, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
