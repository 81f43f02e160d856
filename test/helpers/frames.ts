/**
 * Ethernet frames built by hand for tests: IPv4 or IPv6, TCP/UDP/ICMP or
 * any protocol number, optional VLAN tag and IPv4 fragment offset. The
 * IPv4 header checksum is right; L4 checksums are left zero.
 */
import { addressBytes } from '../../src/kernel/prefix.js';

export interface FrameSpec {
  saddr: string;
  daddr: string;
  /** IP protocol number. @default 17 (UDP) */
  proto?: number;
  sport?: number;
  dport?: number;
  /** Bytes after the L4 header (after IP for other protocols). @default 16 */
  payload?: number;
  /** 802.1Q tag. */
  vlan?: number;
  /** IPv4 fragment offset in 8-byte units (a later fragment carries no L4 header). */
  fragmentOffset?: number;
  /** TCP flags byte. @default 0x18 */
  tcpFlags?: number;
}

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export function frame(spec: FrameSpec): Buffer {
  const { proto = 17, sport = 40000, dport = 53, payload = 16, tcpFlags = 0x18 } = spec;
  const src = addressBytes(spec.saddr);
  const dst = addressBytes(spec.daddr);
  if (src.family !== dst.family) throw new RangeError('mixed address families');
  const laterFragment = (spec.fragmentOffset ?? 0) > 0;
  let l4: Buffer;
  if (laterFragment) l4 = Buffer.alloc(0);
  else if (proto === 6) {
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(sport, 0);
    l4.writeUInt16BE(dport, 2);
    l4[12] = 0x50;
    l4[13] = tcpFlags;
    l4.writeUInt16BE(0xffff, 14);
  } else if (proto === 17) {
    l4 = Buffer.alloc(8);
    l4.writeUInt16BE(sport, 0);
    l4.writeUInt16BE(dport, 2);
    l4.writeUInt16BE(8 + payload, 4);
  } else if (proto === 1 || proto === 58) {
    l4 = Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]);
  } else l4 = Buffer.alloc(0);
  const body = Buffer.concat([l4, Buffer.alloc(payload, 0x61)]);
  let ip: Buffer;
  if (src.family === 4) {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + body.length, 2);
    ip.writeUInt16BE(1, 4);
    ip.writeUInt16BE(laterFragment ? spec.fragmentOffset! & 0x1fff : 0x4000, 6);
    ip[8] = 64;
    ip[9] = proto;
    ip.set(src.bytes.subarray(0, 4), 12);
    ip.set(dst.bytes.subarray(0, 4), 16);
    ip.writeUInt16BE(checksum(ip), 10);
  } else {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(body.length, 4);
    ip[6] = proto;
    ip[7] = 64;
    ip.set(src.bytes, 8);
    ip.set(dst.bytes, 24);
  }
  const etherType = src.family === 4 ? 0x0800 : 0x86dd;
  const l2 = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
  if (spec.vlan !== undefined) l2.push(0x81, 0x00, (spec.vlan >> 8) & 0x0f, spec.vlan & 0xff);
  l2.push(etherType >> 8, etherType & 0xff);
  return Buffer.concat([Buffer.from(l2), ip, body]);
}
