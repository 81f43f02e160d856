/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Server names on egress: flow_tc hands every parsed packet here when
 * `capture_names` is set. A TCP payload that starts a TLS ClientHello or an
 * HTTP/1.x request is copied, up to HF_PAYLOAD_CAPTURE bytes, into one
 * struct hf_payload_event in `payload_events`, a ring of its own: a burst
 * of new connections fills it, never the DNS answers' `dns_events`, and
 * its losses count apart (HF_CNT_DROP_PAYLOAD_TC). User space reads the
 * server name (SNI) or the Host header from it and names the connection,
 * also when no DNS was seen (DNS over HTTPS, hard-coded addresses, names cached before
 * hostflow started). Only the first bytes are tested here: the parse of the
 * handshake and of the headers is user space's, which bounds it and never
 * trusts it.
 *
 * Cost on a packet that is neither: a look at 8 bytes of the payload, only
 * for TCP packets that carry at least 8 bytes: a direct read where they are
 * in the linear data (almost always), a helper call where they are not. A ClientHello split across
 * packets (a post-quantum key share on a path without TSO) is copied from
 * its first packet only: what follows starts with no record header.
 *
 * Include after dns.bpf.h (hf_l4_payload_len).
 */
#ifndef HF_PAYLOAD_BPF_H
#define HF_PAYLOAD_BPF_H

/* TLS: content type handshake (22), then the record's version 3.x. */
#define HF_TLS_HANDSHAKE 0x16
#define HF_TLS_CLIENT_HELLO 0x01
/* Record versions 3.0 (SSL 3) to 3.4; ClientHellos say 3.1 or 3.3 today. */
#define HF_TLS_MAX_MINOR 0x04
/* Bytes tested: enough for "OPTIONS " and "CONNECT ", and for a TLS record header + handshake type. */
#define HF_PAYLOAD_PEEK 8

/* Set by user space before load (TracerOptions.serverNames). */
const volatile bool capture_names __weak = true;

/* Sized by user space before load: a page when capture_names is off. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HF_PAYLOAD_EVENTS_BYTES);
} payload_events SEC(".maps") __weak;

/* Larger offsets than any header stack this parser accepts: a bound for the verifier. */
#define HF_PAYLOAD_MAX_OFF 1024

/* Four characters as a little-endian u32, as they sit in memory. */
#define HF_CHARS4(a, b, c, d) \
	((__u32)(a) | ((__u32)(b) << 8) | ((__u32)(c) << 16) | ((__u32)(d) << 24))

/* Byte `i` (0-3) of a word as it sits in memory (little-endian). */
#define HF_BYTE(w, i) (((w) >> ((i)*8)) & 0xFF)

/*
 * The payload's first bytes, as two words (bytes 0-3 and 4-7 in memory
 * order): enum hf_payload_kind, or 0 for neither.
 */
static __always_inline __u16 hf_payload_kind(__u32 w0, __u32 w1)
{
	/* Record header: type, version (2), length (2); then handshake type. */
	if (HF_BYTE(w0, 0) == HF_TLS_HANDSHAKE && HF_BYTE(w0, 1) == 0x03 &&
	    HF_BYTE(w0, 2) <= HF_TLS_MAX_MINOR && HF_BYTE(w1, 1) == HF_TLS_CLIENT_HELLO)
		return HF_PAYLOAD_TLS;
	/* RFC 9110 methods; a request line is the method, then one space. */
	if (w0 == HF_CHARS4('G', 'E', 'T', ' ') || w0 == HF_CHARS4('P', 'U', 'T', ' '))
		return HF_PAYLOAD_HTTP;
	if ((w0 == HF_CHARS4('P', 'O', 'S', 'T') || w0 == HF_CHARS4('H', 'E', 'A', 'D')) &&
	    HF_BYTE(w1, 0) == ' ')
		return HF_PAYLOAD_HTTP;
	if (w0 == HF_CHARS4('P', 'A', 'T', 'C') && (w1 & 0xFFFF) == HF_CHARS4('H', ' ', 0, 0))
		return HF_PAYLOAD_HTTP;
	if (w0 == HF_CHARS4('D', 'E', 'L', 'E') && (w1 & 0xFFFFFF) == HF_CHARS4('T', 'E', ' ', 0))
		return HF_PAYLOAD_HTTP;
	if ((w0 == HF_CHARS4('O', 'P', 'T', 'I') && w1 == HF_CHARS4('O', 'N', 'S', ' ')) ||
	    (w0 == HF_CHARS4('C', 'O', 'N', 'N') && w1 == HF_CHARS4('E', 'C', 'T', ' ')))
		return HF_PAYLOAD_HTTP;
	return 0;
}

/*
 * The HF_PAYLOAD_PEEK bytes at frame offset `off`, as two words in memory
 * order; 0 on success. In the linear data they are two word loads, which
 * need no alignment on the architectures that have efficient unaligned
 * access (x86-64, arm64; the verifier checks it elsewhere): eight byte
 * loads and their shifts cost a TCP packet about 5 ns more.
 */
static __always_inline long hf_peek(void *ctx, bool xdp, __u32 off, __u32 words[2])
{
	void *data, *data_end;

	if (xdp) {
		data = (void *)(long)((struct xdp_md *)ctx)->data;
		data_end = (void *)(long)((struct xdp_md *)ctx)->data_end;
	} else {
		data = (void *)(long)((struct __sk_buff *)ctx)->data;
		data_end = (void *)(long)((struct __sk_buff *)ctx)->data_end;
	}
	if (off < HF_PAYLOAD_MAX_OFF && data + off + HF_PAYLOAD_PEEK <= data_end) {
		words[0] = ((const __u32 *)(data + off))[0];
		words[1] = ((const __u32 *)(data + off))[1];
		return 0;
	}
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, words, HF_PAYLOAD_PEEK);
	return bpf_skb_load_bytes(ctx, off, words, HF_PAYLOAD_PEEK);
}

/*
 * Copies the payload of `pkt` from `ctx` (an __sk_buff; an xdp_md when
 * `xdp`, a constant) when it starts a ClientHello or an HTTP request.
 * frame_len is the whole frame, non-linear parts included.
 */
static __always_inline void hf_payload_capture(void *ctx, bool xdp, const struct hf_packet *pkt,
					       __u32 frame_len, __u32 direction)
{
	struct hf_payload_event *e;
	__u32 peek[HF_PAYLOAD_PEEK / 4];
	__u32 payload_len, cap;
	__u16 kind;

	if (!pkt->has_ports || pkt->key.proto != HF_IPPROTO_TCP)
		return;
	payload_len = hf_l4_payload_len(pkt, frame_len);
	if (payload_len < HF_PAYLOAD_PEEK)
		return;
	if (hf_peek(ctx, xdp, pkt->payload_off, peek))
		return;
	kind = hf_payload_kind(peek[0], peek[1]);
	if (!kind)
		return;
	cap = payload_len < HF_PAYLOAD_CAPTURE ? payload_len : HF_PAYLOAD_CAPTURE;

	e = bpf_ringbuf_reserve(&payload_events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_PAYLOAD_TC);
		return;
	}
	hf_header_fill(&e->hdr, HF_EVENT_PAYLOAD, bpf_ktime_get_ns());
	hf_tuple_from_packet(&e->tuple, pkt);
	__builtin_memset(&e->task, 0, sizeof(e->task));
	e->sock_cookie = 0;
	e->netns_cookie = 0;
	e->ifindex = pkt->key.ifindex;
	e->direction = direction;
	e->kind = kind;
	e->payload_len = payload_len;
	e->seen_at = HF_SEEN_INTERFACE;
	__builtin_memset(e->_pad, 0, sizeof(e->_pad));

	if (hf_load_bytes(ctx, xdp, pkt->payload_off, e->data, cap, HF_PAYLOAD_CAPTURE))
		cap = 0;
	e->cap_len = cap;
	bpf_ringbuf_submit(e, hf_wakeup_flags(&payload_events));
}

#endif /* HF_PAYLOAD_BPF_H */
