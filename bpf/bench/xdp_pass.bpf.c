// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cheapest possible XDP and TC programs: the baselines benchmarks set
 * flow_xdp's and flow_tc's costs against (BPF_PROG_TEST_RUN ns per packet,
 * or the throughput of a veth pair with each attached).
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
