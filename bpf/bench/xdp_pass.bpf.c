// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cheapest possible XDP, TC and cgroup_skb programs: the baselines
 * benchmarks set flow_xdp's, flow_tc's and the socket hooks' costs against
 * (BPF_PROG_TEST_RUN ns per packet, the throughput of a veth pair with each
 * attached, or the kernel's run time per run with both on the cgroup root).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC: the next filter or the default action */
}

SEC("cgroup_skb/egress")
int cgroup_pass(struct __sk_buff *skb)
{
	return 1; /* allow */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
