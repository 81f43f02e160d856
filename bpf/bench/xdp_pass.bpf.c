// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cheapest possible XDP program: the baseline that benchmarks subtract
 * from flow_xdp's cost (BPF_PROG_TEST_RUN ns per packet, or the throughput
 * of a veth pair with each attached).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
