// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-flow packet and byte counters on an interface: flow_xdp counts
 * ingress, flow_tc (a clsact egress classifier) counts egress, both into the
 * per-CPU LRU hash `flows` keyed by 5-tuple, interface and direction. User
 * space reads and sums it every interval. Both also hand DNS responses to
 * dns.bpf.h when `capture_dns` is set, and frames to capture.bpf.h when
 * `capture_mode` asks for them.
 *
 * flow_tc observes only: every packet passes (TC_ACT_UNSPEC). flow_xdp
 * passes every packet too, except IP packets whose source the blocklist
 * (blocklist.bpf.h) holds: those are counted in their flow as dropped,
 * captured when asked, and dropped (XDP_DROP). Packets that are not IP, or
 * whose headers are cut or malformed, are counted in one "other" flow per
 * interface and direction: the key has family 0 and proto 0, and its bytes
 * are the frame from L3 on.
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
#include "blocklist.bpf.h"
#include "capture.bpf.h"

/*
 * Bytes flow_tc pulls into the linear area when the headers are not there:
 * Ethernet, two VLAN tags, IPv6, a few extension headers and TCP with
 * options. The stack builds egress headers linearly, so this is rare.
 */
#define HF_TC_PULL_LEN 256

#define TC_ACT_UNSPEC (-1)

/* Set by user space before load. */
const volatile bool capture_dns = true;
const volatile bool count_flows = true;

/* Sized by user space before load (HF_FLOWS_MAX by default). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, HF_FLOWS_MAX);
	__type(key, struct hf_flow_key);
	__type(value, struct hf_flow_counters);
} flows SEC(".maps");

/*
 * Adds one packet (or one GSO packet of `packets` segments) to its flow.
 * Values are per CPU, so plain adds suffice: XDP and TC do not nest on one
 * CPU. A flow created on another CPU reads as zeros here, hence the
 * first_seen fix-up; user space takes the smallest non-zero first_seen.
 */
static __always_inline void count_flow(const struct hf_packet *pkt, __u64 packets, __u64 bytes,
				       bool dropped)
{
	struct hf_flow_counters *c;
	__u64 now;

	/*
	 * first/last seen need the tick, not the nanosecond: the coarse clock
	 * (5.11+) reads a stored value where bpf_ktime_get_ns() reads the
	 * clock source, about 15 ns of a ~115 ns program (npm run bench).
	 */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		now = bpf_ktime_get_coarse_ns();
	else
		now = bpf_ktime_get_ns();

	c = bpf_map_lookup_elem(&flows, &pkt->key);
	if (!c) {
		struct hf_flow_counters init = {};

		init.packets = packets;
		init.bytes = bytes;
		init.first_seen_ns = now;
		init.last_seen_ns = now;
		if (dropped) {
			init.dropped_packets = packets;
			init.dropped_bytes = bytes;
		}
		init.tcp_flags = pkt->tcp_flags;
		if (bpf_map_update_elem(&flows, &pkt->key, &init, BPF_NOEXIST) == 0)
			return;
		/* Another CPU created the flow since the lookup: add to it. */
		c = bpf_map_lookup_elem(&flows, &pkt->key);
		if (!c) {
			hf_count(HF_CNT_FLOWS_FAILED);
			return;
		}
	}
	if (!c->first_seen_ns)
		c->first_seen_ns = now;
	c->packets += packets;
	c->bytes += bytes;
	if (dropped) {
		c->dropped_packets += packets;
		c->dropped_bytes += bytes;
	}
	c->last_seen_ns = now;
	c->tcp_flags |= pkt->tcp_flags;
}

/*
 * Checks the IP header's length against the frame (frame_len bytes from the
 * start of L2): it must cover the headers parsed and not claim more than
 * arrived, as the kernel's own IP input demands. Trailing bytes past it are
 * Ethernet padding and not counted. A packet that fails becomes "other".
 */
static __always_inline int check_l3_len(struct hf_packet *pkt, int parsed, __u32 frame_len)
{
	if (parsed != HF_PARSE_OK)
		return parsed;
	if (pkt->l3_len >= pkt->hdr_len && pkt->l3_len <= frame_len - pkt->l3_off)
		return HF_PARSE_OK;
	hf_packet_other(pkt);
	return HF_PARSE_OTHER;
}

/* L3 bytes of a packet that passed check_l3_len, or of an "other" one. */
static __always_inline __u64 l3_bytes(const struct hf_packet *pkt, int parsed, __u32 frame_len)
{
	if (parsed == HF_PARSE_OK)
		return pkt->l3_len;
	return frame_len - pkt->l3_off;
}

static __always_inline int parse_skb(struct __sk_buff *skb, struct hf_packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 linear = data_end - data;
	__u32 want;
	int ret;

	ret = hf_parse(data, data_end, pkt);
	if (ret != HF_PARSE_TRUNCATED || skb->len <= linear)
		return ret;

	/* The headers go on in the paged part: pull them in, parse again. */
	want = skb->len < HF_TC_PULL_LEN ? skb->len : HF_TC_PULL_LEN;
	if (linear >= want || bpf_skb_pull_data(skb, want))
		return ret;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	return hf_parse(data, data_end, pkt);
}

/* Segments a GSO packet becomes on the wire; 1 for any other packet. */
static __always_inline __u32 skb_segments(const struct __sk_buff *skb)
{
	__u32 segs = 0;

	if (bpf_core_field_exists(skb->gso_segs))
		segs = skb->gso_segs;
	return segs > 1 ? segs : 1;
}

SEC("xdp")
int flow_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 frame_len = data_end - data;
	struct hf_packet pkt;
	bool dropped = false;
	__u64 bytes;
	int ret;

	hf_packet_init(&pkt, ctx->ingress_ifindex, HF_DIR_IN);
	ret = hf_parse(data, data_end, &pkt);
	ret = check_l3_len(&pkt, ret, frame_len);
	bytes = l3_bytes(&pkt, ret, frame_len);
	if (blocklist && ret == HF_PARSE_OK)
		dropped = hf_blocked(&pkt, bytes);
	if (count_flows)
		count_flow(&pkt, 1, bytes, dropped);
	if (capture_mode != HF_CAPTURE_OFF)
		hf_capture(ctx, true, &pkt, frame_len, dropped ? HF_PKT_DROPPED : 0);
	if (dropped)
		return XDP_DROP;
	if (capture_dns && ret == HF_PARSE_OK && !hf_dns_at_sockets())
		hf_dns_capture(ctx, true, &pkt, frame_len, HF_DIR_IN);
	return XDP_PASS;
}

SEC("tc")
int flow_tc(struct __sk_buff *skb)
{
	__u32 frame_len = skb->len;
	__u32 segs = skb_segments(skb);
	struct hf_packet pkt;
	__u64 bytes;
	int ret;

	hf_packet_init(&pkt, skb->ifindex, HF_DIR_OUT);
	ret = parse_skb(skb, &pkt);
	if (segs > 1) {
		/*
		 * GSO: one skb, `segs` packets on the wire, each repeating the
		 * IP and L4 headers. The IP length field does not describe the
		 * wire here (and is 0 for BIG TCP), so the skb length counts.
		 */
		bytes = frame_len - pkt.l3_off;
		if (ret == HF_PARSE_OK)
			bytes += (__u64)(segs - 1) * pkt.hdr_len;
	} else {
		ret = check_l3_len(&pkt, ret, frame_len);
		bytes = l3_bytes(&pkt, ret, frame_len);
	}
	if (count_flows)
		count_flow(&pkt, segs, bytes, false);
	if (capture_mode != HF_CAPTURE_OFF)
		hf_capture(skb, false, &pkt, frame_len, segs > 1 ? HF_PKT_GSO : 0);
	if (capture_dns && ret == HF_PARSE_OK && !hf_dns_at_sockets())
		hf_dns_capture(skb, false, &pkt, frame_len, HF_DIR_OUT);
	if (capture_names && ret == HF_PARSE_OK)
		hf_payload_capture(skb, false, &pkt, frame_len, HF_DIR_OUT);
	return TC_ACT_UNSPEC;
}

/* One entry: the last refusal seen (struct hf_xdp_attach_error in hostflow.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hf_xdp_attach_error);
} xdp_attach_error SEC(".maps");

/*
 * Runs when any process's XDP link attach fails (xdp:bpf_xdp_link_attach_failed,
 * Linux 6.5+): a raw tracepoint, so it needs no tracefs, and its only
 * argument is the kernel's message. User space attaches it only around its
 * own XDP attaches and checks `tgid`, so another process's refusal is not
 * taken for ours.
 */
SEC("raw_tp/bpf_xdp_link_attach_failed")
int xdp_attach_failed(struct bpf_raw_tracepoint_args *ctx)
{
	struct hf_xdp_attach_error *error;
	__u32 zero = 0;

	error = bpf_map_lookup_elem(&xdp_attach_error, &zero);
	if (!error)
		return 0;
	error->tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_probe_read_kernel_str(error->msg, sizeof(error->msg), (const char *)ctx->args[0]) <
	    0)
		error->msg[0] = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
