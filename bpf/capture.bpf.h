/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet capture: flow_xdp and flow_tc copy frames into the `packets` ring
 * buffer when `capture_mode` asks for them, the frame from L2 on, at most
 * `capture_snaplen` bytes. XDP sees a frame before its blocklist verdict,
 * so dropped frames are captured too, the ones no AF_PACKET tool can see.
 *
 * bpf_ringbuf_reserve() takes a constant size, so a copy reserves the
 * smallest of a few size classes that holds it (hf_capture_class): one
 * copy straight from the frame into ring memory, at most about twice the
 * bytes a frame needs (1536 holds a full 1514-byte Ethernet frame).
 */
#ifndef HF_CAPTURE_BPF_H
#define HF_CAPTURE_BPF_H

/* Set by user space before load. */
const volatile __u32 capture_mode = HF_CAPTURE_OFF;
const volatile __u32 capture_snaplen = HF_CAPTURE_MAX;
/*
 * A struct hf_capture_filter, declared as bytes so that the skeleton the
 * addon embeds (build/bpf/hostflow.skel.h) compiles without hostflow.h.
 */
const volatile __u8 capture_filter[sizeof(struct hf_capture_filter)]
	__attribute__((aligned(8))) = {};

/* Sized by user space before load: a page when nothing is captured. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HF_PACKETS_BYTES);
} packets SEC(".maps");

/* (a & mask) == net over the family's address bytes. */
static __always_inline bool hf_net_equal(const __u8 *a, const volatile struct hf_filter_net *net,
					 __u16 family)
{
	int i;

#pragma unroll
	for (i = 0; i < 16; i++) {
		if (family == HF_AF_INET && i >= 4)
			break;
		if ((a[i] & net->mask[i]) != net->addr[i])
			return false;
	}
	return true;
}

static __always_inline bool hf_net_match(const volatile struct hf_filter_net *net,
					 const struct hf_packet *pkt, __u16 family)
{
	if ((net->ends & HF_END_SRC) && hf_net_equal(pkt->key.saddr, net, family))
		return true;
	return (net->ends & HF_END_DST) && hf_net_equal(pkt->key.daddr, net, family);
}

/* Ports mean TCP and UDP ports, as in tcpdump; ICMP's type/code do not count. */
static __always_inline bool hf_port_match(const volatile struct hf_filter_port *port,
					  const struct hf_packet *pkt)
{
	if (!pkt->has_ports ||
	    (pkt->key.proto != HF_IPPROTO_TCP && pkt->key.proto != HF_IPPROTO_UDP))
		return false;
	if ((port->ends & HF_END_SRC) && pkt->key.sport == port->port)
		return true;
	return (port->ends & HF_END_DST) && pkt->key.dport == port->port;
}

static __always_inline bool hf_term_match(const volatile struct hf_filter_term *term,
					  const struct hf_packet *pkt, bool dropped)
{
	int i;

	if (term->family && pkt->key.family != term->family)
		return false;
	if (term->proto && pkt->key.proto != term->proto)
		return false;
	if ((term->flags & HF_TERM_DROPPED) && !dropped)
		return false;
#pragma unroll
	for (i = 0; i < HF_FILTER_NETS; i++) {
		if (term->nets[i].ends && !hf_net_match(&term->nets[i], pkt, term->family))
			return false;
	}
#pragma unroll
	for (i = 0; i < HF_FILTER_PORTS; i++) {
		if (term->ports[i].ends && !hf_port_match(&term->ports[i], pkt))
			return false;
	}
	return true;
}

static __always_inline bool hf_capture_wanted(const struct hf_packet *pkt, bool dropped)
{
	const volatile struct hf_capture_filter *filter = (const volatile void *)capture_filter;
	int i;

	if (capture_mode == HF_CAPTURE_ALL)
		return true;
	if (capture_mode == HF_CAPTURE_DROPPED)
		return dropped;
	if (capture_mode != HF_CAPTURE_FILTER)
		return false;
#pragma unroll
	for (i = 0; i < HF_FILTER_TERMS; i++) {
		if (i >= filter->terms)
			break;
		if (hf_term_match(&filter->term[i], pkt, dropped))
			return true;
	}
	return false;
}

/*
 * The smallest size class that holds `cap` bytes of a frame, for `cap` in
 * 1..HF_CAPTURE_MAX. The classes are constants and the loop is unrolled, so
 * on every path the verifier follows the result is a known constant: what
 * bpf_ringbuf_reserve() needs as its size, and the bound of the copy.
 */
static __always_inline __u32 hf_capture_class(__u32 cap)
{
	static const __u32 classes[] = { 128, 256, 512, 1024, 1536, 2048, 4096, 9216, 16384 };
	int i;

#pragma unroll
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (cap <= classes[i])
			return classes[i];
	}
	return HF_CAPTURE_MAX;
}

/*
 * Copies the frame `ctx` (an xdp_md when `xdp`, an __sk_buff otherwise) when
 * the capture mode wants it: its first `cap` bytes into a record of the
 * smallest class that holds them. wire_len is the whole frame, non-linear
 * parts included.
 */
static __always_inline void hf_capture(void *ctx, bool xdp, const struct hf_packet *pkt,
				       __u32 wire_len, __u16 flags)
{
	struct hf_packet_event *e;
	__u32 cap, size;

	if (!hf_capture_wanted(pkt, flags & HF_PKT_DROPPED))
		return;
	cap = wire_len < capture_snaplen ? wire_len : capture_snaplen;
	if (cap > HF_CAPTURE_MAX)
		cap = HF_CAPTURE_MAX;
	if (cap == 0)
		return;
	size = hf_capture_class(cap);

	e = bpf_ringbuf_reserve(&packets, sizeof(*e) + size, 0);
	if (!e) {
		hf_count(xdp ? HF_CNT_CAPTURE_LOST_XDP : HF_CNT_CAPTURE_LOST_TC);
		return;
	}
	if (hf_load_bytes(ctx, xdp, 0, e->data, cap, size)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	hf_header_fill(&e->hdr, HF_EVENT_PACKET, bpf_ktime_get_ns());
	e->ifindex = pkt->key.ifindex;
	e->wire_len = wire_len;
	e->cap_len = cap;
	e->direction = pkt->key.direction;
	e->flags = flags;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&packets));
}

#endif /* HF_CAPTURE_BPF_H */
