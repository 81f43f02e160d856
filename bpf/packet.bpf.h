/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet parsing shared by flow_xdp and flow_tc: Ethernet, up to two VLAN
 * tags, IPv4 (options included) or IPv6 (extension headers skipped), then
 * TCP/UDP/ICMP/ICMPv6. It works on direct packet pointers [data, data_end)
 * and checks every header against data_end before reading it, so a short or
 * malformed frame ends the parse, never reads out of bounds.
 *
 * The result is a flow key plus the offsets and lengths the callers need to
 * count bytes and copy DNS payloads. Lengths claimed by headers are recorded
 * as found; the callers decide what to trust (GSO packets carry lengths that
 * do not describe the wire).
 */
#ifndef HF_PACKET_BPF_H
#define HF_PACKET_BPF_H

#define HF_ETH_P_IP 0x0800
#define HF_ETH_P_IPV6 0x86DD
#define HF_ETH_P_8021Q 0x8100
#define HF_ETH_P_8021AD 0x88A8

/* 802.1ad carries an outer (service) and an inner (customer) tag: QinQ. */
#define HF_VLAN_MAX 2
/*
 * IPv6 extension headers skipped before giving up on finding L4: real
 * traffic carries one or two (hop-by-hop, fragment); six covers every kind
 * RFC 8200 orders once each, and each costs an unrolled step per packet.
 */
#define HF_IPV6_MAX_EXT 6

#define HF_IPPROTO_HOPOPTS 0
#define HF_IPPROTO_ICMP 1
#define HF_IPPROTO_TCP 6
#define HF_IPPROTO_UDP 17
#define HF_IPPROTO_ROUTING 43
#define HF_IPPROTO_FRAGMENT 44
#define HF_IPPROTO_AH 51
#define HF_IPPROTO_ICMPV6 58
#define HF_IPPROTO_DSTOPTS 60

#define HF_IP_OFFSET_MASK 0x1FFF  /* IPv4 fragment offset bits of frag_off */
#define HF_IP6_OFFSET_MASK 0xFFF8 /* IPv6 fragment offset bits of frag_off */

/*
 * Wire formats (RFC 791, 8200, 9293, 768, 792, 4443, IEEE 802.1Q): fixed by
 * the protocols rather than by the kernel, so plain structs without CO-RE.
 */
struct hf_eth_hdr {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
};

struct hf_vlan_hdr {
	__be16 tci;
	__be16 proto; /* encapsulated EtherType */
};

struct hf_ipv4_hdr {
	__u8 version_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

struct hf_ipv6_hdr {
	__be32 version_class_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Hop-by-hop, routing, destination options, and AH begin the same way. */
struct hf_ipv6_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct hf_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

struct hf_tcp_hdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res; /* data offset in the high nibble, in 32-bit words */
	__u8 flags;    /* CWR ECE URG ACK PSH RST SYN FIN */
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

struct hf_udp_hdr {
	__be16 source;
	__be16 dest;
	__be16 len; /* header and payload */
	__be16 check;
};

/* ICMP and ICMPv6 share the first 8 bytes' layout. */
struct hf_icmp_hdr {
	__u8 type;
	__u8 code;
	__be16 check;
	__be32 rest;
};

/* What one parse found. */
struct hf_packet {
	struct hf_flow_key key;
	__u32 l3_off;	   /* frame offset of the IP header */
	__u32 l3_len;	   /* IP header and payload as the IP header claims */
	__u32 hdr_len;	   /* IP and L4 headers: what each GSO segment repeats */
	__u32 payload_off; /* frame offset of the L4 payload */
	__u16 udp_len;	   /* UDP header and payload as the UDP header claims */
	__u8 tcp_flags;
	__u8 has_ports; /* L4 header parsed: not a later fragment, known proto */
	__u32 tcp_seq;	/* TCP sequence number (host order): DNS over TCP reassembly */
};

enum hf_parse_result {
	HF_PARSE_OK = 0,
	HF_PARSE_OTHER = 1,	/* not IP, or a malformed header */
	HF_PARSE_TRUNCATED = 2, /* a header runs past data_end */
};

/* Sets the key up for the "other" bucket: family 0, proto 0, no tuple. */
static __always_inline void hf_packet_init(struct hf_packet *pkt, __u32 ifindex, __u8 direction)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->key.ifindex = ifindex;
	pkt->key.direction = direction;
}

/* Turns a partly parsed packet back into an "other" one. */
static __always_inline void hf_packet_other(struct hf_packet *pkt)
{
	__u32 ifindex = pkt->key.ifindex;
	__u8 direction = pkt->key.direction;
	__u32 l3_off = pkt->l3_off;

	hf_packet_init(pkt, ifindex, direction);
	pkt->l3_off = l3_off;
}

static __always_inline int hf_parse_l4(void *data, void *pos, void *data_end, void *l3,
				       struct hf_packet *pkt)
{
	struct hf_tcp_hdr *tcp;
	struct hf_udp_hdr *udp;
	struct hf_icmp_hdr *icmp;
	__u32 doff;

	switch (pkt->key.proto) {
	case HF_IPPROTO_TCP:
		tcp = pos;
		if ((void *)(tcp + 1) > data_end)
			return HF_PARSE_TRUNCATED;
		doff = (tcp->doff_res >> 4) * 4;
		if (doff < sizeof(*tcp))
			return HF_PARSE_OTHER;
		pkt->key.sport = bpf_ntohs(tcp->source);
		pkt->key.dport = bpf_ntohs(tcp->dest);
		pkt->tcp_flags = tcp->flags;
		pkt->tcp_seq = bpf_ntohl(tcp->seq);
		pkt->hdr_len = (pos - l3) + doff;
		pkt->payload_off = (pos - data) + doff;
		break;
	case HF_IPPROTO_UDP:
		udp = pos;
		if ((void *)(udp + 1) > data_end)
			return HF_PARSE_TRUNCATED;
		pkt->key.sport = bpf_ntohs(udp->source);
		pkt->key.dport = bpf_ntohs(udp->dest);
		pkt->udp_len = bpf_ntohs(udp->len);
		pkt->hdr_len = (pos - l3) + sizeof(*udp);
		pkt->payload_off = (pos - data) + sizeof(*udp);
		break;
	case HF_IPPROTO_ICMP:
	case HF_IPPROTO_ICMPV6:
		icmp = pos;
		if ((void *)(icmp + 1) > data_end)
			return HF_PARSE_TRUNCATED;
		pkt->key.sport = icmp->type;
		pkt->key.dport = icmp->code;
		pkt->hdr_len = (pos - l3) + sizeof(*icmp);
		pkt->payload_off = (pos - data) + sizeof(*icmp);
		break;
	default:
		/* Counted by protocol alone: ESP, GRE, SCTP, ... */
		pkt->hdr_len = pos - l3;
		pkt->payload_off = pos - data;
		return HF_PARSE_OK;
	}
	pkt->has_ports = 1;
	return HF_PARSE_OK;
}

static __always_inline int hf_parse_ipv4(void *data, void *pos, void *data_end,
					 struct hf_packet *pkt)
{
	struct hf_ipv4_hdr *ip = pos;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end)
		return HF_PARSE_TRUNCATED;
	if ((ip->version_ihl >> 4) != 4)
		return HF_PARSE_OTHER;
	ihl = (ip->version_ihl & 0x0F) * 4;
	if (ihl < sizeof(*ip))
		return HF_PARSE_OTHER;
	if (pos + ihl > data_end)
		return HF_PARSE_TRUNCATED;

	pkt->key.family = HF_AF_INET;
	pkt->key.proto = ip->protocol;
	__builtin_memcpy(pkt->key.saddr, &ip->saddr, sizeof(ip->saddr));
	__builtin_memcpy(pkt->key.daddr, &ip->daddr, sizeof(ip->daddr));
	pkt->l3_len = bpf_ntohs(ip->tot_len);

	/* A later fragment starts with payload, not with the L4 header. */
	if (bpf_ntohs(ip->frag_off) & HF_IP_OFFSET_MASK) {
		pkt->hdr_len = ihl;
		pkt->payload_off = (pos - data) + ihl;
		return HF_PARSE_OK;
	}
	return hf_parse_l4(data, pos + ihl, data_end, pos, pkt);
}

static __always_inline int hf_parse_ipv6(void *data, void *pos, void *data_end,
					 struct hf_packet *pkt)
{
	struct hf_ipv6_hdr *ip6 = pos;
	struct hf_ipv6_ext_hdr *ext;
	struct hf_ipv6_frag_hdr *frag;
	void *cur;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return HF_PARSE_TRUNCATED;
	if ((ip6->version_class_flow & bpf_htonl(0xF0000000)) != bpf_htonl(0x60000000))
		return HF_PARSE_OTHER;

	pkt->key.family = HF_AF_INET6;
	__builtin_memcpy(pkt->key.saddr, ip6->saddr, sizeof(ip6->saddr));
	__builtin_memcpy(pkt->key.daddr, ip6->daddr, sizeof(ip6->daddr));
	/* A jumbogram says 0 here; only GSO egress builds those, see flow_tc. */
	pkt->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	nexthdr = ip6->nexthdr;
	cur = ip6 + 1;

	for (i = 0; i < HF_IPV6_MAX_EXT; i++) {
		switch (nexthdr) {
		case HF_IPPROTO_HOPOPTS:
		case HF_IPPROTO_ROUTING:
		case HF_IPPROTO_DSTOPTS:
			ext = cur;
			if ((void *)(ext + 1) > data_end)
				return HF_PARSE_TRUNCATED;
			nexthdr = ext->nexthdr;
			cur += (ext->hdrlen + 1) * 8; /* RFC 8200: 8-octet units, not the first */
			break;
		case HF_IPPROTO_AH:
			ext = cur;
			if ((void *)(ext + 1) > data_end)
				return HF_PARSE_TRUNCATED;
			nexthdr = ext->nexthdr;
			cur += (ext->hdrlen + 2) * 4; /* RFC 4302: 4-octet units, minus 2 */
			break;
		case HF_IPPROTO_FRAGMENT:
			frag = cur;
			if ((void *)(frag + 1) > data_end)
				return HF_PARSE_TRUNCATED;
			nexthdr = frag->nexthdr;
			cur = frag + 1;
			/* A later fragment: the L4 header is in the first one. */
			if (bpf_ntohs(frag->frag_off) & HF_IP6_OFFSET_MASK) {
				pkt->key.proto = nexthdr;
				pkt->hdr_len = cur - pos;
				pkt->payload_off = cur - data;
				return HF_PARSE_OK;
			}
			break;
		default:
			pkt->key.proto = nexthdr;
			return hf_parse_l4(data, cur, data_end, pos, pkt);
		}
	}
	/* More extension headers than HF_IPV6_MAX_EXT: give up on this one. */
	return HF_PARSE_OTHER;
}

/*
 * Parses [data, data_end). On HF_PARSE_OK the key holds the flow; otherwise
 * it is the "other" bucket and l3_off is where L3 would start (0 when the
 * L2 header itself was cut).
 */
static __always_inline int hf_parse(void *data, void *data_end, struct hf_packet *pkt)
{
	struct hf_eth_hdr *eth = data;
	struct hf_vlan_hdr *vlan;
	void *pos;
	__u16 proto;
	int i, ret;

	if ((void *)(eth + 1) > data_end)
		return HF_PARSE_TRUNCATED;
	proto = eth->proto;
	pos = eth + 1;

	for (i = 0; i < HF_VLAN_MAX; i++) {
		if (proto != bpf_htons(HF_ETH_P_8021Q) && proto != bpf_htons(HF_ETH_P_8021AD))
			break;
		vlan = pos;
		if ((void *)(vlan + 1) > data_end)
			return HF_PARSE_TRUNCATED;
		proto = vlan->proto;
		pos = vlan + 1;
	}
	pkt->l3_off = pos - data;

	if (proto == bpf_htons(HF_ETH_P_IP))
		ret = hf_parse_ipv4(data, pos, data_end, pkt);
	else if (proto == bpf_htons(HF_ETH_P_IPV6))
		ret = hf_parse_ipv6(data, pos, data_end, pkt);
	else
		ret = HF_PARSE_OTHER;

	if (ret != HF_PARSE_OK)
		hf_packet_other(pkt);
	return ret;
}

/*
 * Parses [data, data_end) where it starts at the IP header, as at a socket
 * (cgroup_skb), which sees no L2 header: `protocol` is the skb's EtherType
 * (network order). Same result as hf_parse, with l3_off 0.
 */
static __always_inline int hf_parse_l3(void *data, void *data_end, __u32 protocol,
				       struct hf_packet *pkt)
{
	int ret;

	if (protocol == bpf_htons(HF_ETH_P_IP))
		ret = hf_parse_ipv4(data, data, data_end, pkt);
	else if (protocol == bpf_htons(HF_ETH_P_IPV6))
		ret = hf_parse_ipv6(data, data, data_end, pkt);
	else
		ret = HF_PARSE_OTHER;
	if (ret != HF_PARSE_OK)
		hf_packet_other(pkt);
	return ret;
}

/* The addresses and ports of a parsed packet, as ring events carry them. */
static __always_inline void hf_tuple_from_packet(struct hf_tuple *t, const struct hf_packet *pkt)
{
	__builtin_memcpy(t->saddr, pkt->key.saddr, sizeof(t->saddr));
	__builtin_memcpy(t->daddr, pkt->key.daddr, sizeof(t->daddr));
	t->sport = pkt->key.sport;
	t->dport = pkt->key.dport;
	t->family = pkt->key.family;
	t->_pad = 0;
}

/*
 * Copies `cap` bytes of the frame, from `off` on, into `dst` (a buffer of
 * `size` bytes): 0 when done, else the helper's error. The load helpers
 * refuse a length that may be 0 or past `dst`; testing cap - 1 < size and
 * passing (cap - 1) + 1 shows both bounds to the verifier of any kernel.
 * `last` is 64-bit so that no zero-extension copy loses the bound, and
 * barrier_var keeps clang from folding the test back into cap's register.
 */
static __always_inline long hf_load_bytes(void *ctx, bool xdp, __u32 off, void *dst, __u32 cap,
					  __u32 size)
{
	__u64 last = (__u64)cap - 1;

	barrier_var(last);
	if (last >= size)
		return -1;
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, dst, last + 1);
	return bpf_skb_load_bytes(ctx, off, dst, last + 1);
}

#endif /* HF_PACKET_BPF_H */
