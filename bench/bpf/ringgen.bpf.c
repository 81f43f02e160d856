// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Event generator for the event-pipeline benchmark (bench/ring-bench.ts):
 * every getppid() of one process (gen_tgid) writes `burst` close records
 * into hostflow's own `events` ring buffer, the way lifecycle.bpf.c does:
 * same struct, same header and task fill, same wakeup policy
 * (wakeup_bytes), and a full ring counted in HF_CNT_DROP_CLOSE. The
 * generator (bench/c/ringbench.c gen) sets the rate with its syscalls.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "hostflow.h"
#include "maps.bpf.h"
#include "helpers.bpf.h"

/* Records per syscall at most: enough to outrun any consumer from one CPU. */
#define GEN_BURST_MAX 256

/* Set by user space before load. */
const volatile __u32 gen_tgid = 0;
const volatile __u32 burst = 64;

__u64 sequence = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int ringgen(void *ctx)
{
	struct hf_close_event tmpl = {};
	__u64 seq;
	__u32 i;

	if (bpf_get_current_pid_tgid() >> 32 != gen_tgid)
		return 0;
	/* One template per call: the generator must outrun the consumers, so it fills the task once. */
	hf_header_fill(&tmpl.hdr, HF_EVENT_CLOSE, bpf_ktime_get_ns());
	hf_task_fill(&tmpl.task);
	tmpl.tuple.family = AF_INET;
	*(__u32 *)tmpl.tuple.saddr = bpf_htonl(0x0a000002);
	*(__u32 *)tmpl.tuple.daddr = bpf_htonl(0xc0000201);
	tmpl.tuple.sport = 40000;
	tmpl.tuple.dport = 443;
	tmpl.duration_ns = 1000000;
	tmpl.bytes_sent = 100;
	tmpl.bytes_received = 2000;
	tmpl.direction = HF_DIR_OUT;
	tmpl.old_state = 1;
	tmpl.tracked = 1;
	seq = __sync_fetch_and_add(&sequence, burst);
	for (i = 0; i < GEN_BURST_MAX && i < burst; i++) {
		struct hf_close_event *e;

		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			hf_count(HF_CNT_DROP_CLOSE);
			continue;
		}
		__builtin_memcpy(e, &tmpl, sizeof(*e));
		e->sock = seq + i;
		bpf_ringbuf_submit(e, hf_wakeup_flags(&events));
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
