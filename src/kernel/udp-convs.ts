/**
 * The `udp_convs` table (struct hf_udp_conv_key -> struct hf_udp_conv in
 * bpf/hostflow.h), decoded: one UDP socket's exchange with one remote
 * address, counted at the socket by cgroup_skb.
 */
import { formatAddress } from '../net/address.js';
import { readTask, readU64, type Task } from './decode.js';
import { AF_INET, AF_INET6, udpConv, udpConvKey } from './layout.js';
import type { MapDump } from './native-api.js';
import { addressBytes } from './prefix.js';
import { offsetOf } from './struct.js';

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

const K = {
  sock: offsetOf(udpConvKey, 'sock_cookie'),
  raddr: offsetOf(udpConvKey, 'raddr'),
  rport: offsetOf(udpConvKey, 'rport'),
  family: offsetOf(udpConvKey, 'family'),
};
const V = {
  task: offsetOf(udpConv, 'task'),
  laddr: offsetOf(udpConv, 'laddr'),
  lport: offsetOf(udpConv, 'lport'),
  ifindex: offsetOf(udpConv, 'ifindex'),
  netns: offsetOf(udpConv, 'netns_cookie'),
  packetsOut: offsetOf(udpConv, 'packets_out'),
  bytesOut: offsetOf(udpConv, 'bytes_out'),
  packetsIn: offsetOf(udpConv, 'packets_in'),
  bytesIn: offsetOf(udpConv, 'bytes_in'),
  first: offsetOf(udpConv, 'first_ns'),
  last: offsetOf(udpConv, 'last_ns'),
};

/** Every entry of a dump of `udp_convs`; entries of an unknown family are skipped. */
export function decodeUdpConversations(dump: MapDump): UdpConversationEntry[] {
  const keys = new DataView(dump.keys.buffer, dump.keys.byteOffset, dump.keys.byteLength);
  const values = new DataView(dump.values.buffer, dump.values.byteOffset, dump.values.byteLength);
  const entries: UdpConversationEntry[] = [];
  for (let i = 0; i < dump.count; i++) {
    const key = i * dump.keySize;
    const value = i * dump.valueStride;
    const rawFamily = keys.getUint16(key + K.family, true);
    if (rawFamily !== AF_INET && rawFamily !== AF_INET6) continue;
    const family = rawFamily === AF_INET ? 4 : 6;
    entries.push({
      socket: keys.getBigUint64(key + K.sock, true).toString(),
      family,
      raddr: formatAddress(family, dump.keys, key + K.raddr),
      rport: keys.getUint16(key + K.rport, true),
      laddr: formatAddress(family, dump.values, value + V.laddr),
      lport: values.getUint16(value + V.lport, true),
      ifindex: values.getUint32(value + V.ifindex, true),
      netnsCookie: values.getBigUint64(value + V.netns, true).toString(),
      task: readTask(values, dump.values, value + V.task),
      packetsOut: readU64(values, value + V.packetsOut),
      bytesOut: readU64(values, value + V.bytesOut),
      packetsIn: readU64(values, value + V.packetsIn),
      bytesIn: readU64(values, value + V.bytesIn),
      firstNs: readU64(values, value + V.first),
      lastNs: readU64(values, value + V.last),
    });
  }
  return entries;
}

/** The `udp_convs` key of an entry, for deleting it. */
export function encodeUdpConversationKey(entry: Pick<UdpConversationEntry, 'socket' | 'family' | 'raddr' | 'rport'>): Buffer {
  const key = Buffer.alloc(udpConvKey.size);
  key.writeBigUInt64LE(BigInt(entry.socket), K.sock);
  key.set(addressBytes(entry.raddr).bytes, K.raddr);
  key.writeUInt16LE(entry.rport, K.rport);
  key.writeUInt16LE(entry.family === 4 ? AF_INET : AF_INET6, K.family);
  return key;
}
