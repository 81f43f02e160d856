/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS on the wire: flow_xdp and flow_tc hand every parsed packet here when
 * `capture_dns` is set. A UDP datagram from port 53 (a response) is copied,
 * DNS message only, into one struct hf_dns_packet_event in `dns_events`;
 * user space decodes names, CNAME chains and TTLs. Resolvers that bypass
 * libc (dig, Go, musl, systemd-resolved's stub) are seen this way.
 *
 * The copy uses bpf_xdp_load_bytes / bpf_skb_load_bytes, which also reach
 * bytes outside the linear data. Bytes of `data` past cap_len are not
 * cleared: they hold older records of this ring buffer, nothing else.
 */
#ifndef HF_DNS_BPF_H
#define HF_DNS_BPF_H

#define HF_DNS_PORT 53

/*
 * 4 MiB holds about 3,300 captured responses: a burst of a busy resolver
 * while the poll thread sleeps. User space may resize it before load.
 */
#define HF_DNS_EVENTS_BYTES (4 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HF_DNS_EVENTS_BYTES);
} dns_events SEC(".maps");

static __always_inline bool hf_dns_is_response(const struct hf_packet *pkt)
{
	return pkt->has_ports && pkt->key.proto == HF_IPPROTO_UDP &&
	       pkt->key.sport == HF_DNS_PORT && pkt->udp_len >= sizeof(struct hf_udp_hdr);
}

/*
 * Copies the DNS message of `pkt` from the frame `ctx` (an xdp_md when `xdp`,
 * an __sk_buff otherwise; `xdp` is a constant, so only one branch remains).
 * frame_len is the whole frame, non-linear parts included.
 */
static __always_inline void hf_dns_capture(void *ctx, bool xdp, const struct hf_packet *pkt,
					   __u32 frame_len, __u32 direction)
{
	struct hf_dns_packet_event *e;
	__u32 msg_len, avail, cap;
	__u64 last; /* 64-bit: no zero-extension copy for the verifier to lose */
	long err;

	if (!hf_dns_is_response(pkt))
		return;
	msg_len = pkt->udp_len - sizeof(struct hf_udp_hdr);
	avail = frame_len > pkt->payload_off ? frame_len - pkt->payload_off : 0;
	cap = msg_len < avail ? msg_len : avail;
	if (cap > HF_DNS_CAPTURE)
		cap = HF_DNS_CAPTURE;

	e = bpf_ringbuf_reserve(&dns_events, sizeof(*e), 0);
	if (!e) {
		hf_count(xdp ? HF_CNT_DROP_DNS_XDP : HF_CNT_DROP_DNS_TC);
		return;
	}
	hf_header_fill(&e->hdr, HF_EVENT_DNS_PACKET, bpf_ktime_get_ns());
	__builtin_memcpy(e->tuple.saddr, pkt->key.saddr, sizeof(e->tuple.saddr));
	__builtin_memcpy(e->tuple.daddr, pkt->key.daddr, sizeof(e->tuple.daddr));
	e->tuple.sport = pkt->key.sport;
	e->tuple.dport = pkt->key.dport;
	e->tuple.family = pkt->key.family;
	e->tuple._pad = 0;
	e->ifindex = pkt->key.ifindex;
	e->direction = direction;
	e->msg_len = msg_len;
	e->_pad = 0;

	/*
	 * The helpers refuse a length that may be 0 or past e->data. Testing
	 * cap - 1 < HF_DNS_CAPTURE and passing (cap - 1) + 1 shows both bounds
	 * to the verifier of any kernel (barrier_var keeps clang from folding
	 * the test back into cap's own register).
	 */
	last = cap - 1;
	barrier_var(last);
	if (last < HF_DNS_CAPTURE) {
		if (xdp)
			err = bpf_xdp_load_bytes(ctx, pkt->payload_off, e->data, last + 1);
		else
			err = bpf_skb_load_bytes(ctx, pkt->payload_off, e->data, last + 1);
		if (err)
			cap = 0;
	} else {
		cap = 0;
	}
	e->cap_len = cap;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&dns_events));
}

#endif /* HF_DNS_BPF_H */
