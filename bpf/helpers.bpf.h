/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers every probe family shares: counting, ring-buffer wakeups,
 * the exclusion test and filling the common parts of a record.
 * Include after vmlinux.h, the libbpf headers, hostflow.h and maps.bpf.h.
 */
#ifndef HF_HELPERS_BPF_H
#define HF_HELPERS_BPF_H

/* Address families as the kernel spells them (vmlinux.h has no macros). */
#define AF_INET 2
#define AF_INET6 10

/* Adds one to a `counters` slot; atomic because programs can nest on a CPU. */
static __always_inline void hf_count(enum hf_counter counter)
{
	__u32 key = counter;
	__u64 *value;

	value = bpf_map_lookup_elem(&counters, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
}

/* Flags for bpf_ringbuf_submit(): wake the poll thread per `wakeup_bytes`. */
static __always_inline __u64 hf_wakeup_flags(void *ring)
{
	if (wakeup_bytes == 0)
		return 0;
	if (bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* True for hostflow's own process, whose activity must not be traced. */
static __always_inline bool hf_excluded(__u32 tgid)
{
	return exclude_tgid != 0 && tgid == exclude_tgid;
}

static __always_inline void hf_header_fill(struct hf_header *hdr, __u32 type, __u64 ts_ns)
{
	hdr->ts_ns = ts_ns;
	hdr->type = type;
	hdr->cpu = bpf_get_smp_processor_id();
}

/*
 * The current task's ids, uid/gid, cgroup and comm, without its parent and
 * start time (left 0): what every program type can read, the cgroup socket
 * hooks included. Only meaningful in the context of a syscall.
 */
static __always_inline void hf_task_fill_ids(struct hf_task *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	task->pid = pid_tgid >> 32;
	task->tid = (__u32)pid_tgid;
	task->uid = (__u32)uid_gid;
	task->gid = uid_gid >> 32;
	task->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(task->comm, sizeof(task->comm));
	task->ppid = 0;
	task->_pad = 0;
	task->start_ns = 0;
}

/*
 * CLOCK_BOOTTIME ns at which the thread group started: what /proc/<pid>/stat
 * reports (in clock ticks) as starttime. start_boottime since 5.5; older
 * kernels called the same clock real_start_time.
 */
static __always_inline __u64 hf_task_start_ns(struct task_struct *leader)
{
	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return 0;
}

/*
 * The current task in full: ids as hf_task_fill_ids, plus its parent's pid
 * and its start time read from the task itself. Tracing programs only
 * (tracepoint, raw tracepoint, kprobe, uprobe, fentry): the others cannot
 * call bpf_get_current_task().
 */
static __always_inline void hf_task_fill(struct hf_task *task)
{
	struct task_struct *current = (struct task_struct *)bpf_get_current_task();

	hf_task_fill_ids(task);
	task->ppid = BPF_CORE_READ(current, real_parent, tgid);
	task->start_ns = hf_task_start_ns(BPF_CORE_READ(current, group_leader));
}

/*
 * The socket's addresses and ports, read through CO-RE. `t` must be zeroed:
 * IPv4 fills only the first 4 bytes of each address.
 */
static __always_inline void hf_tuple_from_sock(struct hf_tuple *t, const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	/*
	 * inet_sport, not skc_num: a closing socket gives its port back before
	 * the CLOSE transition (inet_put_port zeroes skc_num), but keeps
	 * inet_sport, as the tracepoint's own record does.
	 */
	t->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)t->daddr, sk, __sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO((struct in6_addr *)t->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)t->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

#endif /* HF_HELPERS_BPF_H */
