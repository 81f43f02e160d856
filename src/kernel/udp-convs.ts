/**
 * The `udp_convs` table (struct hf_udp_conv_key -> struct hf_udp_conv in
 * bpf/hostflow.h), decoded: one UDP socket's exchange with one remote
 * address, counted at the socket by cgroup_skb.
 */
import type { Task } from './decode.js';

export interface UdpConversationEntry {
  /** The socket's cookie, as a decimal string; with family, raddr and rport, the key. */
  socket: string;
  family: 4 | 6;
  raddr: string;
  rport: number;
  laddr: string;
  lport: number;
  ifindex: number;
  /** Network namespace of the socket, as a decimal string. */
  netnsCookie: string;
  task: Task;
  packetsOut: number;
  bytesOut: number;
  packetsIn: number;
  bytesIn: number;
  /** CLOCK_MONOTONIC ns, as event timestamps. */
  firstNs: number;
  lastNs: number;
}
