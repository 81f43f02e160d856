/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS on the wire: flow_xdp and flow_tc hand every parsed packet here when
 * `capture_dns` is set. A UDP datagram from port 53 (a response) is copied,
 * DNS message only, into one struct hf_dns_packet_event in `dns_events`;
 * user space decodes names, CNAME chains and TTLs. Resolvers that bypass
 * libc (dig, Go, musl, systemd-resolved's stub) are seen this way.
 *
 * DNS over TCP (answers too large for UDP, `dig +tcp`, zone transfers): a
 * TCP segment from port 53 is copied with its sequence number and flags,
 * payload only, and user space (src/dns/tcp-stream.ts) reassembles the
 * length-prefixed messages. Segments without payload are copied only when
 * they carry SYN, FIN or RST: where the stream starts and ends. A segment
 * longer than HF_DNS_CAPTURE is cut; user space counts what it loses.
 *
 * The copy uses bpf_xdp_load_bytes / bpf_skb_load_bytes, which also reach
 * bytes outside the linear data. Bytes of `data` past cap_len are not
 * cleared: they hold older records of this ring buffer, nothing else.
 */
#ifndef HF_DNS_BPF_H
#define HF_DNS_BPF_H

#define HF_DNS_PORT 53

/* TCP flags (the low byte of the flags field). */
#define HF_TCP_FIN 0x01
#define HF_TCP_SYN 0x02
#define HF_TCP_RST 0x04

/* Sized by user space before load (HF_DNS_EVENTS_BYTES by default). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HF_DNS_EVENTS_BYTES);
} dns_events SEC(".maps") __weak;

/*
 * One entry: HF_SEEN_SOCKET while the cgroup socket hooks (sockets.bpf.c)
 * are attached and copy DNS at every local socket, HF_SEEN_INTERFACE
 * otherwise. Set by user space after the attach, so flow_xdp and flow_tc
 * leave DNS to the sockets instead of copying each message twice; a map and
 * not a constant because whether the kernel accepts the hooks is only known
 * after load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} dns_seen_at SEC(".maps") __weak;

/* True while the socket hooks copy DNS: the interfaces then leave it to them. */
static __always_inline bool hf_dns_at_sockets(void)
{
	__u32 zero = 0;
	__u32 *seen_at = bpf_map_lookup_elem(&dns_seen_at, &zero);

	return seen_at && *seen_at == HF_SEEN_SOCKET;
}

/*
 * Bytes of L4 payload: up to where the IP header says the packet ends, or
 * to the end of the frame where that length cannot describe it (BIG TCP
 * and IPv6 jumbograms say 0). Ethernet padding past the IP length is not
 * payload. frame_len is the whole frame, non-linear parts included.
 */
static __always_inline __u32 hf_l4_payload_len(const struct hf_packet *pkt, __u32 frame_len)
{
	__u32 end = pkt->l3_off + pkt->l3_len;

	if (end < pkt->payload_off || end > frame_len)
		end = frame_len;
	return end > pkt->payload_off ? end - pkt->payload_off : 0;
}

/*
 * Bytes of the DNS message `pkt` carries on the wire and its transport;
 * false when it is not one (`port`, the packet's source port for a
 * response or its destination port for a query, is not 53, or a TCP
 * segment has neither payload nor SYN/FIN/RST).
 */
static __always_inline bool hf_dns_message_len(const struct hf_packet *pkt, __u16 port,
					       __u32 frame_len, __u32 *msg_len, __u8 *transport)
{
	if (!pkt->has_ports || port != HF_DNS_PORT)
		return false;
	if (pkt->key.proto == HF_IPPROTO_UDP) {
		if (pkt->udp_len < sizeof(struct hf_udp_hdr))
			return false;
		*msg_len = pkt->udp_len - sizeof(struct hf_udp_hdr);
		*transport = HF_DNS_UDP;
		return true;
	}
	if (pkt->key.proto != HF_IPPROTO_TCP)
		return false;
	*msg_len = hf_l4_payload_len(pkt, frame_len);
	*transport = HF_DNS_TCP;
	return *msg_len > 0 || (pkt->tcp_flags & (HF_TCP_SYN | HF_TCP_FIN | HF_TCP_RST));
}

/*
 * Who a DNS message is copied for: nobody at an interface (all zero), the
 * socket's owner and cookies at a socket.
 */
struct hf_dns_origin {
	const struct hf_task *task; /* NULL: pid 0 */
	__u64 sock_cookie;
	__u64 netns_cookie;
	__u8 seen_at;	  /* enum hf_seen_at */
	__u32 drop_count; /* enum hf_counter counted when the ring is full */
};

/*
 * Copies the DNS message of `pkt`, msg_len bytes on the wire, from `ctx` (an
 * xdp_md when `xdp`, an __sk_buff otherwise; `xdp` is a constant, so only
 * one branch remains). frame_len is the whole frame (from L2 at an
 * interface, from L3 at a socket), non-linear parts included.
 */
static __always_inline void hf_dns_copy(void *ctx, bool xdp, const struct hf_packet *pkt,
					__u32 frame_len, __u32 direction, __u32 msg_len,
					__u8 transport, const struct hf_dns_origin *origin)
{
	struct hf_dns_packet_event *e;
	__u32 avail, cap;

	avail = frame_len > pkt->payload_off ? frame_len - pkt->payload_off : 0;
	cap = msg_len < avail ? msg_len : avail;
	if (cap > HF_DNS_CAPTURE)
		cap = HF_DNS_CAPTURE;

	e = bpf_ringbuf_reserve(&dns_events, sizeof(*e), 0);
	if (!e) {
		hf_count(origin->drop_count);
		return;
	}
	hf_header_fill(&e->hdr, HF_EVENT_DNS_PACKET, bpf_ktime_get_ns());
	if (origin->task)
		e->task = *origin->task;
	else
		__builtin_memset(&e->task, 0, sizeof(e->task));
	hf_tuple_from_packet(&e->tuple, pkt);
	e->sock_cookie = origin->sock_cookie;
	e->netns_cookie = origin->netns_cookie;
	e->ifindex = pkt->key.ifindex;
	e->direction = direction;
	/* Only a GSO segment on egress (a local DNS server) can exceed this. */
	e->msg_len = msg_len > 0xFFFF ? 0xFFFF : msg_len;
	e->transport = transport;
	e->tcp_flags = transport == HF_DNS_TCP ? pkt->tcp_flags : 0;
	e->seen_at = origin->seen_at;
	e->_pad = 0;
	e->tcp_seq = transport == HF_DNS_TCP ? pkt->tcp_seq : 0;
	e->_pad2 = 0;

	if (hf_load_bytes(ctx, xdp, pkt->payload_off, e->data, cap, HF_DNS_CAPTURE))
		cap = 0;
	e->cap_len = cap;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&dns_events));
}

/* At an interface: copies `pkt` when it is a DNS response (from port 53). */
static __always_inline void hf_dns_capture(void *ctx, bool xdp, const struct hf_packet *pkt,
					   __u32 frame_len, __u32 direction)
{
	struct hf_dns_origin origin = {
		.seen_at = HF_SEEN_INTERFACE,
		.drop_count = xdp ? HF_CNT_DROP_DNS_XDP : HF_CNT_DROP_DNS_TC,
	};
	__u32 msg_len = 0;
	__u8 transport = HF_DNS_UDP;

	if (!hf_dns_message_len(pkt, pkt->key.sport, frame_len, &msg_len, &transport))
		return;
	hf_dns_copy(ctx, xdp, pkt, frame_len, direction, msg_len, transport, &origin);
}

#endif /* HF_DNS_BPF_H */
