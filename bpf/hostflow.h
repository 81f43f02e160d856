/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel/user contract of hostflow: every structure and constant that
 * crosses from the BPF programs to user space lives here and nowhere else.
 * src/kernel/layout.ts mirrors it; test/unit/kernel/layout.test.ts compiles this
 * header and fails when the two disagree on any size or offset.
 *
 * Rules: explicit sizes only, padding spelled out, every struct a multiple
 * of 8 bytes, addresses as 16-byte arrays (IPv4 in the first 4 bytes) in
 * network byte order, ports in host byte order, times in CLOCK_MONOTONIC ns.
 */
#ifndef HOSTFLOW_H
#define HOSTFLOW_H

#define HF_COMM_LEN 16
/* 253 is the longest DNS name in text form; + NUL, rounded to 8. */
#define HF_NAME_MAX 256
/* Unique addresses kept from one getaddrinfo result. */
#define HF_MAX_ADDRS 16
/*
 * Bytes of a DNS message copied from the wire: 1232 is the EDNS buffer size
 * recommended by DNS Flag Day 2020, so answers that avoid fragmentation fit.
 */
#define HF_DNS_CAPTURE 1232
/*
 * Bytes of a TCP payload copied when it starts a TLS ClientHello or an HTTP
 * request: a ClientHello with a post-quantum key share (X25519MLKEM768) is
 * about 1.8 KB, and on TC egress it is one skb before segmentation (TSO,
 * loopback's 64 KiB MTU), so 2048 usually holds all of it.
 */
#define HF_PAYLOAD_CAPTURE 2048

#define HF_AF_INET 2
#define HF_AF_INET6 10

/*
 * Default sizes of the maps user space sizes before load: the BPF objects
 * are built with them, and src/kernel/layout.ts mirrors them as the
 * defaults of the tracer's options. Ring buffers in bytes (a power of 2,
 * at least a page), tables in entries.
 */
/*
 * `events`: 8 MiB holds about 40,000 connect/close records or 11,000
 * lookups, seconds of a busy host while the poll thread is descheduled.
 */
#define HF_EVENTS_BYTES (8 << 20)
/*
 * `dns_events`: 4 MiB holds about 3,300 captured responses, a burst of a
 * busy resolver while the poll thread sleeps.
 */
#define HF_DNS_EVENTS_BYTES (4 << 20)
/*
 * `payload_events`: 4 MiB holds about 1,900 ClientHellos or HTTP request
 * heads, the first packets of as many new connections; a ring of their own,
 * so that a burst of them never crowds DNS answers out of `dns_events`. A
 * page when server names are not copied.
 */
#define HF_PAYLOAD_EVENTS_BYTES (4 << 20)
/*
 * `packets`: 16 MiB, about 8,000 full-size frames (2 KiB class) or 90,000
 * small ones while the poll thread catches up; a page when not capturing.
 */
#define HF_PACKETS_BYTES (16 << 20)
/*
 * `flows`: flows kept per CPU before the least recently used is evicted
 * (and its counts lost), for a busy host between two reads.
 */
#define HF_FLOWS_MAX 65536
/*
 * The LRU tables that pair one kernel event with a later one. A full table
 * evicts its least recently used entry (an entry whose end was missed
 * cannot stay forever); the loss is counted where it shows (enum
 * hf_counter). User space adds the entries the kernel's LRU keeps free per
 * CPU, so that these many live entries fit before anything is evicted.
 *
 * `sockets`, socket -> what the lifecycle remembers, from connect (or
 * SYN_RECV) to close: the host's open TCP connections. 65536 is the
 * ephemeral port range of one source address, more than hosts keep open
 * outside of load tests.
 */
#define HF_SOCKETS_MAX 65536
/*
 * `lookups`, thread -> the getaddrinfo() call in flight. A call can block
 * for seconds (DNS timeouts), so this is sized for thread pools of busy
 * resolvers, not for the microseconds a connect takes.
 */
#define HF_LOOKUPS_MAX 8192
/*
 * `connecting`, thread -> the socket inside tcp_v*_connect() (kprobe mode).
 * An entry lives for one call, microseconds: connect() does not wait for
 * the handshake there, so this is far above any real concurrency.
 */
#define HF_CONNECTING_MAX 8192
/*
 * `udp_convs`, one UDP socket's exchange with one remote address -> its
 * counts (struct hf_udp_conv): the host's live UDP conversations. DNS's own
 * sockets (remote port 53) are not counted here: each lookup is a `dns`
 * record already.
 */
#define HF_UDP_CONVS_MAX 16384
/*
 * `processes`, pid -> parent and start time of the processes forked since
 * hostflow started (the cgroup socket hooks cannot read the task itself).
 */
#define HF_PROCESSES_MAX 32768

enum hf_event_type {
	HF_EVENT_CONNECT = 1,	  /* a process asked the kernel to connect */
	HF_EVENT_ESTABLISHED = 2, /* handshake done, outbound or inbound */
	HF_EVENT_CLOSE = 3,	  /* socket reached TCP_CLOSE */
	HF_EVENT_LOOKUP = 4,	  /* getaddrinfo returned */
	HF_EVENT_DNS_PACKET = 5,  /* a DNS response seen on an interface */
	HF_EVENT_PACKET = 6,	  /* a frame copied for the packet capture */
	HF_EVENT_PAYLOAD = 7,	/* a TLS ClientHello, HTTP request or QUIC Initial seen on egress */
	HF_EVENT_UDP_CLOSE = 8, /* a UDP socket with conversations in `udp_convs` was released */
};

/* hf_dns_packet_event.seen_at, hf_payload_event.seen_at: which hook copied it. */
enum hf_seen_at {
	HF_SEEN_INTERFACE = 0, /* XDP ingress or TC egress of a traced interface: no process */
	HF_SEEN_SOCKET = 1,    /* cgroup_skb at a local socket: task is the socket's owner */
};

/* hf_dns_packet_event.transport */
enum hf_dns_transport {
	HF_DNS_UDP = 0, /* data is one DNS message */
	HF_DNS_TCP = 1, /* data is one TCP segment's payload (length-prefixed messages) */
};

/* hf_payload_event.kind: what the payload's first bytes look like. */
enum hf_payload_kind {
	HF_PAYLOAD_TLS = 1,  /* a TLS handshake record holding a ClientHello */
	HF_PAYLOAD_HTTP = 2, /* an HTTP/1.x request line */
	HF_PAYLOAD_QUIC = 3, /* a UDP datagram starting with a QUIC v1/v2 Initial packet */
};

/* How the connect probe was attached; carried by every connect event. */
enum hf_connect_probe {
	HF_PROBE_KPROBE = 1,
	HF_PROBE_FENTRY = 2,
	HF_PROBE_TRACEPOINT = 3,
};

enum hf_direction {
	HF_DIR_OUT = 0, /* conn: we connected; flow/dns: egress (TC) */
	HF_DIR_IN = 1,	/* conn: we accepted; flow/dns: ingress (XDP) */
};

/*
 * Indexes of the per-CPU `counters` array: failed ring-buffer reserves per
 * program, and the other places where the kernel side had to give up.
 * Keep src/kernel/layout.ts COUNTER_NAMES in the same order; new counters
 * go at the end, so that an index keeps its meaning.
 */
enum hf_counter {
	HF_CNT_DROP_CONNECT = 0,       /* connect probe: ringbuf full */
	HF_CNT_DROP_ESTABLISHED = 1,   /* lifecycle: ringbuf full */
	HF_CNT_DROP_CLOSE = 2,	       /* lifecycle: ringbuf full */
	HF_CNT_DROP_LOOKUP = 3,	       /* getaddrinfo: ringbuf full */
	HF_CNT_DROP_DNS_XDP = 4,       /* wire DNS on ingress: ringbuf full */
	HF_CNT_DROP_DNS_TC = 5,	       /* wire DNS on egress: ringbuf full */
	HF_CNT_SOCKETS_FULL = 6,       /* `sockets` had no entry to give: socket untracked */
	HF_CNT_LOOKUPS_FULL = 7,       /* `lookups` lost a call's entry (full): lookup lost */
	HF_CNT_FLOWS_FAILED = 8,       /* `flows` update failed */
	HF_CNT_RETRANSMITS = 9,	       /* retransmits seen (all sockets) */
	HF_CNT_CAPTURE_LOST_XDP = 10,  /* capture on ingress: `packets` ring full */
	HF_CNT_CAPTURE_LOST_TC = 11,   /* capture on egress: `packets` ring full */
	HF_CNT_DROP_PAYLOAD_TC = 12,   /* ClientHello/HTTP request: `payload_events` full */
	HF_CNT_CLOSE_RECOVERED = 13,   /* close missed by sock_state, emitted late */
	HF_CNT_CONNECTING_FULL = 14,   /* `connecting` lost a call's entry (full): connect lost */
	HF_CNT_DROP_DNS_SOCK = 15,     /* wire DNS at a socket (cgroup_skb): `dns_events` full */
	HF_CNT_DROP_PAYLOAD_SOCK = 16, /* QUIC Initial at a socket: `payload_events` full */
	HF_CNT_DROP_UDP_CLOSE =
		17, /* UDP socket release: `events` full (conversation ends at idle) */
	HF_CNT_UDP_CONVS_FAILED = 18, /* `udp_convs` update failed: datagrams uncounted */
	HF_CNT_MAX = 19,
};

struct hf_header {
	__u64 ts_ns; /* bpf_ktime_get_ns() when the event happened */
	__u32 type;  /* enum hf_event_type */
	__u32 cpu;
};

/* The task that caused an event, or the one remembered for the socket. */
struct hf_task {
	__u32 pid; /* thread-group id, what users call the pid */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[HF_COMM_LEN];
	__u32 ppid; /* parent's thread-group id; 0 when unknown */
	__u32 _pad;
	/*
	 * When the process (thread group) started, CLOCK_BOOTTIME ns, as
	 * /proc/<pid>/stat's starttime counts it: with pid, who the process is,
	 * since a pid can be reused. 0 when unknown.
	 */
	__u64 start_ns;
};

struct hf_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family; /* HF_AF_INET or HF_AF_INET6 */
	__u16 _pad;
};

/* HF_EVENT_CONNECT: the connect probe in kprobe and fentry mode (tracepoint mode has none). */
struct hf_connect_event {
	struct hf_header hdr;
	struct hf_task task;
	struct hf_tuple tuple;
	__u64 sock;  /* kernel socket address: the join key */
	__s32 ret;   /* tcp_v*_connect return */
	__u32 probe; /* enum hf_connect_probe */
};

/* HF_EVENT_ESTABLISHED: SYN_SENT -> ESTABLISHED or SYN_RECV -> ESTABLISHED. */
struct hf_established_event {
	struct hf_header hdr;
	struct hf_task task; /* remembered from connect; pid 0 if inbound */
	struct hf_tuple tuple;
	__u64 sock;
	__u64 latency_ns; /* connect() to established, or SYN_RECV to it */
	__u32 direction;  /* enum hf_direction */
	__u32 _pad;
};

/* HF_EVENT_CLOSE: the socket reached TCP_CLOSE. */
struct hf_close_event {
	struct hf_header hdr;
	struct hf_task task;
	struct hf_tuple tuple;
	__u64 sock;
	__u64 duration_ns;    /* since connect (or handshake start if inbound) */
	__u64 bytes_sent;     /* payload acked: bytes_acked less SYN/FIN */
	__u64 bytes_received; /* payload received: bytes_received less FIN */
	__u32 retransmits;    /* tcp:tcp_retransmit_skb hits on this socket */
	__u32 direction;
	__u32 old_state; /* state before CLOSE: tells resets from orderly ends */
	__u32 tracked;	 /* 0 when the socket predates hostflow (no pid) */
};

/* One address of a getaddrinfo result. */
struct hf_addr {
	__u8 addr[16];
	__u16 family;
	__u16 _pad[3];
};

/* HF_EVENT_LOOKUP: getaddrinfo(name, ...) returned. */
struct hf_lookup_event {
	struct hf_header hdr;
	struct hf_task task;
	__u64 latency_ns;
	__s32 ret;	 /* getaddrinfo return code (0 or EAI_*) */
	__u32 naddrs;	 /* entries used in addrs */
	__u32 truncated; /* 1 when the list had more than HF_MAX_ADDRS */
	__u32 _pad;
	struct hf_addr addrs[HF_MAX_ADDRS];
	char name[HF_NAME_MAX];
};

/*
 * HF_EVENT_DNS_PACKET: a DNS message on the wire, UDP or TCP port 53.
 * At an interface (XDP, TC): responses only, from source port 53, no task.
 * At a socket (cgroup_skb, every local socket of every network namespace):
 * queries the socket sends (egress, destination port 53) and responses it
 * receives (ingress, source port 53), with the socket's owner in `task`.
 * A TCP segment is copied as it is (user space reassembles the stream by
 * tcp_seq); segments without payload are sent only when they carry SYN
 * (the sequence number the stream starts from), FIN or RST.
 */
struct hf_dns_packet_event {
	struct hf_header hdr;
	struct hf_task task;   /* the socket's owner; pid 0 at an interface */
	struct hf_tuple tuple; /* as on the wire */
	__u64 sock_cookie;     /* the socket's cookie; 0 at an interface */
	__u64 netns_cookie;    /* the socket's network namespace; 0 at an interface */
	__u32 ifindex;	       /* the device, in the socket's namespace at a socket */
	__u32 direction;       /* HF_DIR_IN: ingress; HF_DIR_OUT: egress */
	__u16 cap_len;	       /* bytes of the message (UDP) or payload (TCP) in data */
	__u16 msg_len;	       /* UDP: DNS message bytes on the wire; TCP: payload bytes */
	__u8 transport;	       /* enum hf_dns_transport */
	__u8 tcp_flags;	       /* TCP: the segment's flags (FIN 0x01, SYN 0x02, RST 0x04) */
	__u8 seen_at;	       /* enum hf_seen_at */
	__u8 _pad;
	__u32 tcp_seq; /* TCP: sequence number of the segment (of data[0]) */
	__u32 _pad2;
	__u8 data[HF_DNS_CAPTURE];
};

/*
 * HF_EVENT_PAYLOAD: the first bytes of a payload that may name its server,
 * seen on egress: a TCP payload that starts a TLS ClientHello or an HTTP
 * request (TC, at an interface), or a UDP datagram that starts with a QUIC
 * Initial packet (cgroup_skb, at the socket: the first datagrams of each
 * conversation only). User space reads the server name (SNI, decrypting the
 * QUIC Initial) or the Host header from it.
 */
struct hf_payload_event {
	struct hf_header hdr;
	struct hf_task task;   /* the socket's owner; pid 0 at an interface */
	struct hf_tuple tuple; /* egress: saddr/sport are the local end */
	__u64 sock_cookie;     /* 0 at an interface */
	__u64 netns_cookie;    /* the socket's network namespace; 0 at an interface */
	__u32 ifindex;
	__u32 direction;   /* HF_DIR_OUT */
	__u16 cap_len;	   /* bytes of the payload in data */
	__u16 kind;	   /* enum hf_payload_kind */
	__u32 payload_len; /* payload bytes of the packet (a GSO packet's all) */
	__u8 seen_at;	   /* enum hf_seen_at */
	__u8 _pad[7];
	__u8 data[HF_PAYLOAD_CAPTURE];
};

/*
 * Key of `udp_convs`: one UDP socket (by cookie) and one remote address.
 * An unconnected socket talking to many peers has one entry per peer.
 */
struct hf_udp_conv_key {
	__u64 sock_cookie;
	__u8 raddr[16]; /* network order; IPv4 in the first 4 bytes */
	__u16 rport;
	__u16 family; /* HF_AF_INET or HF_AF_INET6 */
	__u32 _pad;
};

/*
 * Value of `udp_convs`, counted at the socket (cgroup_skb egress and
 * ingress) on every interface and in every network namespace. Counters are
 * shared by the CPUs (atomic adds); bytes are UDP payload bytes, what the
 * applications exchanged. User space reads the table, ends a conversation
 * at its socket's release (HF_EVENT_UDP_CLOSE) or when idle, and deletes it.
 */
struct hf_udp_conv {
	struct hf_task task; /* the socket's owner when the conversation began */
	__u8 laddr[16];	     /* the local end as on the first datagram */
	__u16 lport;
	__u16 _pad;
	__u32 ifindex; /* device of the first datagram, in the socket's namespace */
	__u64 netns_cookie;
	__u64 packets_out;
	__u64 bytes_out;
	__u64 packets_in;
	__u64 bytes_in;
	__u64 first_ns; /* CLOCK_MONOTONIC, as event timestamps */
	__u64 last_ns;
};

/* HF_EVENT_UDP_CLOSE: the socket of some `udp_convs` entries was released. */
struct hf_udp_close_event {
	struct hf_header hdr;
	__u64 sock_cookie;
};

/* Key of the per-CPU LRU `flows` map: one 5-tuple on one interface. */
struct hf_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 ifindex;
	__u16 sport; /* ICMP: type in sport, code in dport */
	__u16 dport;
	__u8 direction; /* enum hf_direction */
	__u8 proto;	/* IPPROTO_* */
	__u16 family;
	__u32 _pad;
};

/* Per-CPU value of `flows`; user space sums the CPUs. */
struct hf_flow_counters {
	__u64 packets;
	__u64 bytes; /* L3 length: IP header and payload, no L2 */
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u64 dropped_packets; /* of `packets`: dropped by the blocklist */
	__u64 dropped_bytes;   /* of `bytes`: dropped by the blocklist */
	__u8 tcp_flags;	       /* OR of all TCP flags seen */
	__u8 _pad[7];
};

/*
 * `flow_cache`, per CPU: the flows whose packets this CPU counted last, one
 * slot each, HF_FLOW_CACHE_SLOTS slots (a power of 2) indexed by
 * hf_flow_slot_index() of the key. flow_xdp and flow_tc count a packet of
 * the slot's own flow in the slot, without a hash-map lookup. A packet of
 * another flow of the same index is counted in `flows` while the slot's
 * flow has been seen in the current tick; after that it writes the slot's
 * counters back to `flows` and takes the slot over, starting from what
 * `flows` holds for it on this CPU.
 *
 * A slot's counters are those of its flow on its CPU since the flow was
 * created, like a `flows` value, and never behind that CPU's value in
 * `flows`: user space takes, per flow and CPU, whichever of the two counted
 * more packets, reading the cache before `flows` (a slot written back in
 * between is then found in `flows`). packets is 0 in an empty slot.
 */
#define HF_FLOW_CACHE_SLOTS 1024

struct hf_flow_slot {
	struct hf_flow_key key;
	struct hf_flow_counters counters;
};

/*
 * The slot of a key: a multiplicative hash of its 32-bit words (the
 * addresses folded first, each product's high half folded into its low
 * half, which the mask keeps); src/kernel/flows.ts flowSlotIndex mirrors it.
 * Any index is correct, since slots are compared by key; a good spread only
 * keeps more flows in the cache.
 */
static inline __u32 hf_flow_slot_index(const struct hf_flow_key *key, __u32 slots)
{
	const __u32 *w = (const __u32 *)key;
	__u32 h;

	h = (w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9E3779B1u;
	h = (h ^ (h >> 16) ^ w[4] ^ w[5] ^ w[6] ^ w[7]) * 0x85EBCA77u;
	h = (h ^ (h >> 16) ^ w[9]) * 0xC2B2AE3Du;
	h = (h ^ (h >> 16) ^ w[8] ^ w[10]) * 0x27D4EB2Fu;
	return (h ^ (h >> 16)) & (slots - 1);
}

/*
 * Blocklist: source prefixes whose packets flow_xdp drops on ingress. Two
 * LPM tries (`blocked_v4`, `blocked_v6`) map a prefix to a slot of the
 * per-CPU `block_counters` array, which counts the entry's drops without
 * cache-line sharing between CPUs. User space hands out the slots.
 */
#define HF_BLOCKLIST_MAX 4096

/* Key of `blocked_v4` (the kernel's LPM key: prefix length, then data). */
struct hf_block_key4 {
	__u32 prefixlen; /* 0..32 */
	__u8 addr[4];	 /* network order, host bits zero */
};

/*
 * Key of `blocked_v6`. Its data is 20 bytes so that the key is a multiple
 * of 8; the last 4 are always zero and prefixlen never exceeds 128, so they
 * take no part in a match.
 */
struct hf_block_key6 {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];	 /* network order, host bits zero */
	__u8 _pad[4];
};

/* Value of both tries. */
struct hf_block_entry {
	__u32 slot; /* index in `block_counters` */
	__u32 _pad;
};

/* Per-CPU value of `block_counters`: one blocklist entry's drops. */
struct hf_block_counters {
	__u64 packets;
	__u64 bytes; /* L3 length, as in hf_flow_counters */
};

/*
 * Packet capture: frames copied into the `packets` ring buffer, one
 * hf_packet_event each, followed by the frame's first cap_len bytes.
 * HF_CAPTURE_MAX bounds the copy (a GSO packet on egress can be 64 KiB);
 * `capture_snaplen` lowers it at load time.
 */
#define HF_CAPTURE_MAX 65536

enum hf_capture_mode {
	HF_CAPTURE_OFF = 0,
	HF_CAPTURE_DROPPED = 1, /* frames the blocklist drops */
	HF_CAPTURE_ALL = 2,	/* every frame, ingress and egress */
	HF_CAPTURE_FILTER = 3,	/* frames `capture_filter` matches */
};

/* hf_packet_event.flags */
enum hf_packet_flag {
	HF_PKT_DROPPED = 1, /* dropped by the blocklist after the copy */
	HF_PKT_GSO = 2,	    /* egress GSO packet: several frames on the wire */
};

/* HF_EVENT_PACKET: one captured frame (L2 on). */
struct hf_packet_event {
	struct hf_header hdr; /* ts_ns: when the program saw the frame */
	__u32 ifindex;
	__u32 wire_len;	 /* frame length (skb->len on egress) */
	__u32 cap_len;	 /* bytes of the frame in data */
	__u16 direction; /* HF_DIR_IN from XDP, HF_DIR_OUT from TC */
	__u16 flags;	 /* enum hf_packet_flag */
	__u8 data[];	 /* cap_len bytes, then padding to the record's size */
};

/*
 * Capture filter (`capture_filter`, read-only at load time): an OR of up to
 * HF_FILTER_TERMS terms, each an AND of its conditions. Unused conditions
 * and terms cost nothing: the verifier sees their constant values and
 * removes the code that tests them.
 */
#define HF_FILTER_TERMS 4
#define HF_FILTER_NETS 2  /* address conditions per term */
#define HF_FILTER_PORTS 2 /* port conditions per term */

/* Which end of a packet a condition looks at; 0 marks it unused. */
enum hf_filter_end {
	HF_END_SRC = 1,
	HF_END_DST = 2,
	HF_END_ANY = 3, /* either end */
};

/* hf_filter_term.flags */
enum hf_filter_flag {
	HF_TERM_DROPPED = 1, /* only frames the blocklist drops */
};

/* (address & mask) == addr at the ends given; family is the term's. */
struct hf_filter_net {
	__u8 addr[16]; /* network order, host bits zero */
	__u8 mask[16];
	__u8 ends; /* enum hf_filter_end; 0: unused */
	__u8 _pad[7];
};

/* A TCP or UDP port at the ends given. */
struct hf_filter_port {
	__u16 port;
	__u8 ends; /* enum hf_filter_end; 0: unused */
	__u8 _pad;
};

struct hf_filter_term {
	struct hf_filter_net nets[HF_FILTER_NETS];
	struct hf_filter_port ports[HF_FILTER_PORTS];
	__u16 family; /* HF_AF_INET, HF_AF_INET6; 0: any (and no nets) */
	__u8 proto;   /* IPPROTO_*; 0: any */
	__u8 flags;   /* enum hf_filter_flag */
	__u32 _pad;
};

struct hf_capture_filter {
	__u32 terms; /* terms used, 0..HF_FILTER_TERMS */
	__u32 _pad;
	struct hf_filter_term term[HF_FILTER_TERMS];
};

/*
 * Why the kernel refused an XDP attach, in its own words: the extended ack
 * message (e.g. "virtio_net: Can't set XDP while host is implementing
 * GRO_HW/CSUM, disable GRO_HW/CSUM first") that bpf(2) itself cannot
 * return. xdp_attach_failed copies it from the xdp:bpf_xdp_link_attach_failed
 * tracepoint (6.5+) into the one entry of `xdp_attach_error`; user space
 * clears the entry before each attach and reads it after a failure. The
 * kernel's messages are short literals; 128 holds every one in the tree.
 */
#define HF_XDP_ERROR_MAX 128

struct hf_xdp_attach_error {
	__u32 tgid; /* the process whose attach failed */
	__u32 _pad;
	char msg[HF_XDP_ERROR_MAX]; /* NUL-terminated, "" when none was given */
};

#endif /* HOSTFLOW_H */
