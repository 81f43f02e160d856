// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-flow packet and byte counters on an interface: flow_xdp counts
 * ingress, flow_tc (a clsact egress classifier) counts egress, both into the
 * per-CPU LRU hash `flows` keyed by 5-tuple, interface and direction,
 * through the per-CPU `flow_cache` in front of it (hostflow.h). User space
 * reads both and sums the CPUs every interval. Both also hand DNS responses to
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

/* Per CPU, see hostflow.h: the flows counted without a `flows` lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HF_FLOW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct hf_flow_slot);
} flow_cache SEC(".maps");

/* The coarse clock as this CPU last read it, and the tick it read it in. */
struct hf_flow_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hf_flow_clock);
} flow_clock SEC(".maps");

/*
 * CLOCK_MONOTONIC ns for first/last seen, to the tick. A clock helper is a
 * call, and a call costs 15-20 ns where returns are mitigated (SRSO's safe
 * RET on AMD): more than the rest of the program. bpf_jiffies64() is
 * inlined into a load, so the coarse clock is read once per tick and CPU
 * and kept. A CPU that sees the new tick before the timekeeper has moved
 * keeps the previous tick's time for this tick: a tick early at worst, as
 * bpf_ktime_get_coarse_ns() itself is up to a tick late.
 */
static __always_inline __u64 flow_now(void)
{
	struct hf_flow_clock *clock;
	__u32 zero = 0;
	__u64 tick;

	clock = bpf_map_lookup_elem(&flow_clock, &zero);
	if (!clock)
		return 0;
	tick = bpf_jiffies64();
	if (clock->jiffies != tick) {
		clock->jiffies = tick;
		if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
			clock->ns = bpf_ktime_get_coarse_ns();
		else
			clock->ns = bpf_ktime_get_ns();
	}
	return clock->ns;
}

static __always_inline bool flow_key_equal(const struct hf_flow_key *a, const struct hf_flow_key *b)
{
	const __u64 *x = (const __u64 *)a;
	const __u64 *y = (const __u64 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) |
		(x[5] ^ y[5])) == 0;
}

/* Adds one packet (or `packets` GSO segments) to counters of its flow. */
static __always_inline void flow_add(struct hf_flow_counters *c, const struct hf_packet *pkt,
				     __u64 packets, __u64 bytes, bool dropped, __u64 now)
{
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
 * Adds the packet to its flow in `flows` itself, for a flow whose slot
 * another flow holds. A flow created on another CPU reads as zeros here,
 * hence flow_add's first_seen fix-up; user space takes the smallest
 * non-zero first_seen.
 */
static __always_inline void flow_count_in_table(const struct hf_packet *pkt, __u64 packets,
						__u64 bytes, bool dropped, __u64 now)
{
	struct hf_flow_counters *c;

	c = bpf_map_lookup_elem(&flows, &pkt->key);
	if (!c) {
		struct hf_flow_counters init = {};

		flow_add(&init, pkt, packets, bytes, dropped, now);
		if (bpf_map_update_elem(&flows, &pkt->key, &init, BPF_NOEXIST) == 0)
			return;
		/* Another CPU created the flow since the lookup: add to it. */
		c = bpf_map_lookup_elem(&flows, &pkt->key);
		if (!c) {
			hf_count(HF_CNT_FLOWS_FAILED);
			return;
		}
	}
	flow_add(c, pkt, packets, bytes, dropped, now);
}

/*
 * Gives `slot` to `key`: the counters of the flow it holds go back to
 * `flows`, over this CPU's value there (an update only when the LRU evicted
 * the entry meanwhile, or the flow never left its slot: an LRU update takes
 * a free element and its lock even for a key that exists), and the slot
 * starts from this CPU's counters of `key` in `flows`, or from zero.
 */
static __always_inline void flow_slot_take(struct hf_flow_slot *slot, const struct hf_flow_key *key)
{
	struct hf_flow_counters *counters;

	if (slot->counters.packets) {
		counters = bpf_map_lookup_elem(&flows, &slot->key);
		if (counters)
			*counters = slot->counters;
		else if (bpf_map_update_elem(&flows, &slot->key, &slot->counters, BPF_ANY))
			hf_count(HF_CNT_FLOWS_FAILED);
	}
	slot->key = *key;
	counters = bpf_map_lookup_elem(&flows, key);
	if (counters)
		slot->counters = *counters;
	else
		__builtin_memset(&slot->counters, 0, sizeof(slot->counters));
}

/*
 * Adds one packet (or one GSO packet of `packets` segments) to its flow: in
 * its slot of `flow_cache` when the slot holds it, or held a flow not seen
 * in this tick, which it then takes over; in `flows` when the slot's flow
 * is busy too, so that two busy flows of one slot do not hand it back and
 * forth at every packet. Plain adds suffice: the values are per CPU, and
 * XDP and TC do not nest on one CPU.
 */
static __always_inline void count_flow(const struct hf_packet *pkt, __u64 packets, __u64 bytes,
				       bool dropped)
{
	__u32 index = hf_flow_slot_index(&pkt->key, HF_FLOW_CACHE_SLOTS);
	struct hf_flow_slot *slot;
	__u64 now = flow_now();

	slot = bpf_map_lookup_elem(&flow_cache, &index);
	if (!slot) {
		hf_count(HF_CNT_FLOWS_FAILED);
		return;
	}
	if (!flow_key_equal(&slot->key, &pkt->key)) {
		if (slot->counters.packets && slot->counters.last_seen_ns == now) {
			flow_count_in_table(pkt, packets, bytes, dropped, now);
			return;
		}
		flow_slot_take(slot, &pkt->key);
	}
	flow_add(&slot->counters, pkt, packets, bytes, dropped, now);
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
	/* The port first: the look at `dns_seen_at` is a map read. */
	if (capture_dns && ret == HF_PARSE_OK && pkt.key.sport == HF_DNS_PORT &&
	    !hf_dns_at_sockets())
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
	if (capture_dns && ret == HF_PARSE_OK && pkt.key.sport == HF_DNS_PORT &&
	    !hf_dns_at_sockets())
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
