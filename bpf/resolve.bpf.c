// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Name resolution through libc: getaddrinfo(node, service, hints, res).
 * User space attaches getaddrinfo_entry/getaddrinfo_return to the symbol in
 * the libc each process maps (the section names carry no target). Entry
 * remembers the name and the `res` out-pointer by thread id in `lookups`;
 * return walks the result list and emits one HF_EVENT_LOOKUP with the
 * addresses, the latency and the return code, failures included, like
 * libbpf-tools gethostlatency plus the answer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "hostflow.h"
#include "maps.bpf.h"
#include "helpers.bpf.h"

/*
 * Result-list entries walked: glibc emits one entry per address and socket
 * type (up to 3), so 48 entries cover HF_MAX_ADDRS addresses.
 */
#define HF_GAI_MAX_WALK 48

/*
 * glibc's struct addrinfo on LP64 (x86_64, aarch64): user-space ABI, not a
 * kernel type, so no CO-RE. The walk reads each list entry whole.
 */
struct hf_gai_addrinfo {
	__s32 ai_flags;	   /* @0 */
	__s32 ai_family;   /* @4 */
	__s32 ai_socktype; /* @8 */
	__s32 ai_protocol; /* @12 */
	__u32 ai_addrlen;  /* @16 */
	__u32 _pad;
	__u64 ai_addr;	    /* @24 struct sockaddr * */
	__u64 ai_canonname; /* @32 char * */
	__u64 ai_next;	    /* @40 struct addrinfo * */
};

/* Where the address sits in struct sockaddr_in / struct sockaddr_in6. */
#define HF_SIN_ADDR_OFF 4
#define HF_SIN6_ADDR_OFF 8

/*
 * tid -> the call in flight. LRU: the entry of a thread that died inside
 * getaddrinfo() ages out instead of holding its slot forever. Sized by
 * user space.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HF_LOOKUPS_MAX);
	__type(key, __u32);
	__type(value, struct hf_lookup_state);
} lookups SEC(".maps");

/*
 * The thread whose call each CPU completed last. One libc file can be
 * attached twice (overlay file systems show it at two identities): then
 * each return runs twice, the second right after the first and on the same
 * CPU, and finds the entry the first consumed. That is no loss.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lookup_done SEC(".maps");

static __always_inline int enter_lookup(const char *node, void **res)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct hf_lookup_state state = {};

	if (hf_excluded(pid_tgid >> 32))
		return 0;

	state.start_ns = bpf_ktime_get_ns();
	state.res = (__u64)res;
	state.node = (__u64)node;
	if (node)
		bpf_probe_read_user_str(state.name, sizeof(state.name), node);
	/* A failed store shows at the return, which finds no entry. */
	bpf_map_update_elem(&lookups, &tid, &state, BPF_ANY);
	return 0;
}

/* Reads the address of one result entry into `addr`; false if not IP. */
static __always_inline bool read_addr(const struct hf_gai_addrinfo *ai, struct hf_addr *addr)
{
	__builtin_memset(addr, 0, sizeof(*addr));
	if (!ai->ai_addr)
		return false;
	if (ai->ai_family == AF_INET) {
		addr->family = HF_AF_INET;
		return bpf_probe_read_user(addr->addr, 4,
					   (void *)(ai->ai_addr + HF_SIN_ADDR_OFF)) == 0;
	}
	if (ai->ai_family == AF_INET6) {
		addr->family = HF_AF_INET6;
		return bpf_probe_read_user(addr->addr, 16,
					   (void *)(ai->ai_addr + HF_SIN6_ADDR_OFF)) == 0;
	}
	return false;
}

static __always_inline bool same_addr(const struct hf_addr *a, const struct hf_addr *b)
{
	const __u64 *x = (const __u64 *)a->addr, *y = (const __u64 *)b->addr;

	return a->family == b->family && x[0] == y[0] && x[1] == y[1];
}

/*
 * Copies the unique IPv4/IPv6 addresses of the result list into the record.
 * glibc repeats each address once per socket type, consecutively, so an
 * entry equal to the last one kept is skipped.
 *
 * The count and the last address kept are read back from the record rather
 * than kept in registers: to the verifier they are then bounded unknowns, and
 * it checks the loop body once per iteration instead of once per possible
 * count and address family (which exceeds its 1M-instruction budget).
 */
static __always_inline void read_result(struct hf_lookup_event *e, __u64 res)
{
	struct hf_gai_addrinfo ai;
	struct hf_addr addr;
	__u64 cur = 0;
	__u32 n;
	int i;

	if (!res || bpf_probe_read_user(&cur, sizeof(cur), (void *)res))
		return;

	for (i = 0; i < HF_GAI_MAX_WALK && cur; i++) {
		if (bpf_probe_read_user(&ai, sizeof(ai), (void *)cur))
			break;
		cur = ai.ai_next;
		if (!read_addr(&ai, &addr))
			continue;
		n = *(volatile __u32 *)&e->naddrs;
		if (n > 0 && n <= HF_MAX_ADDRS && same_addr(&addr, &e->addrs[n - 1]))
			continue;
		if (n >= HF_MAX_ADDRS) {
			e->truncated = 1;
			break;
		}
		e->addrs[n] = addr;
		e->naddrs = n + 1;
	}
	/* Walk bound reached with entries left: there may be more addresses. */
	if (i == HF_GAI_MAX_WALK && cur)
		e->truncated = 1;
}

/*
 * A uretprobe fires only for calls that entered after it was attached, and
 * user space attaches the entry probe first, so every return of a traced
 * thread has had its entry: a missing one (not consumed by this call's
 * other return, see `lookup_done`) was pushed out of a full `lookups` or
 * never stored, and the lookup record is lost.
 */
static __always_inline int exit_lookup(int ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, zero = 0;
	struct hf_lookup_state *state;
	struct hf_lookup_event *e;
	__u32 *done;
	__u64 now;

	if (hf_excluded(pid_tgid >> 32))
		return 0;
	done = bpf_map_lookup_elem(&lookup_done, &zero);
	state = bpf_map_lookup_elem(&lookups, &tid);
	if (!state) {
		if (!done || *done != tid)
			hf_count(HF_CNT_LOOKUPS_FULL);
		return 0;
	}

	/* 720 bytes: built in ring-buffer memory, never on the 512-byte stack. */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hf_count(HF_CNT_DROP_LOOKUP);
		goto cleanup;
	}
	now = bpf_ktime_get_ns();
	__builtin_memset(e, 0, sizeof(*e));
	hf_header_fill(&e->hdr, HF_EVENT_LOOKUP, now);
	hf_task_fill(&e->task);
	e->latency_ns = now - state->start_ns;
	e->ret = ret;
	__builtin_memcpy(e->name, state->name, sizeof(e->name));
	/*
	 * A name in a page not yet faulted in (a string constant of a binary
	 * that just started) cannot be read at entry, where faults are not
	 * allowed; getaddrinfo has touched it by now.
	 */
	if (!e->name[0] && state->node)
		bpf_probe_read_user_str(e->name, sizeof(e->name), (void *)state->node);
	if (ret == 0)
		read_result(e, state->res);
	bpf_ringbuf_submit(e, hf_wakeup_flags(&events));

cleanup:
	bpf_map_delete_elem(&lookups, &tid);
	if (done)
		*done = tid;
	return 0;
}

/* BPF_KPROBE reads pt_regs arguments, which is all a uprobe needs too. */
SEC("uprobe")
int BPF_KPROBE(getaddrinfo_entry, const char *node, const char *service, const void *hints,
	       void **res)
{
	return enter_lookup(node, res);
}

SEC("uretprobe")
int BPF_KRETPROBE(getaddrinfo_return, int ret)
{
	return exit_lookup(ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
