/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The source-prefix blocklist flow_xdp checks on ingress when `blocklist`
 * is set: an LPM trie per address family maps a prefix to a counter slot;
 * a match is counted in that slot of the per-CPU `block_counters` (no
 * atomics, no cache line shared between CPUs) and the frame is dropped.
 * User space adds and removes prefixes at run time and owns the slots.
 */
#ifndef HF_BLOCKLIST_BPF_H
#define HF_BLOCKLIST_BPF_H

/* Set by user space before load: look frames up in the blocklist at all. */
const volatile bool blocklist = false;

/* Source prefixes to drop; LPM tries must not be preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, HF_BLOCKLIST_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hf_block_key4);
	__type(value, struct hf_block_entry);
} blocked_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, HF_BLOCKLIST_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hf_block_key6);
	__type(value, struct hf_block_entry);
} blocked_v6 SEC(".maps");

/*
 * Entries in each trie (index 0: blocked_v4, 1: blocked_v6), kept by user
 * space: frames of a family with an empty trie skip the LPM lookup, so a
 * loaded but empty blocklist costs an inlined array read per frame.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} blocklist_entries SEC(".maps");

/* Drops per blocklist entry, indexed by hf_block_entry.slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HF_BLOCKLIST_MAX);
	__type(key, __u32);
	__type(value, struct hf_block_counters);
} block_counters SEC(".maps");

/*
 * True when the source of a parsed IP packet is blocklisted; the drop is
 * counted (`bytes` at L3) in the entry's slot. The longest matching prefix
 * wins, so a /32 inside a blocked /8 counts on its own.
 */
static __always_inline bool hf_blocked(const struct hf_packet *pkt, __u64 bytes)
{
	struct hf_block_entry *entry = NULL;
	struct hf_block_counters *counts;
	__u32 index = pkt->key.family == HF_AF_INET6;
	__u32 slot, *entries;

	entries = bpf_map_lookup_elem(&blocklist_entries, &index);
	if (!entries || *entries == 0)
		return false;
	if (pkt->key.family == HF_AF_INET) {
		struct hf_block_key4 key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, pkt->key.saddr, sizeof(key.addr));
		entry = bpf_map_lookup_elem(&blocked_v4, &key);
	} else if (pkt->key.family == HF_AF_INET6) {
		struct hf_block_key6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->key.saddr, sizeof(key.addr));
		entry = bpf_map_lookup_elem(&blocked_v6, &key);
	}
	if (!entry)
		return false;
	slot = entry->slot;
	counts = bpf_map_lookup_elem(&block_counters, &slot);
	if (counts) {
		counts->packets++;
		counts->bytes += bytes;
	}
	return true;
}

#endif /* HF_BLOCKLIST_BPF_H */
