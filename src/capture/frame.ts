/**
 * The addresses and ports of a captured Ethernet frame, read the way the
 * kernel side parses it (bpf/packet.bpf.h): up to two VLAN tags, IPv4 with
 * options, IPv6 with up to 6 extension headers, then TCP/UDP (ports) or
 * ICMP/ICMPv6. Pure; used to name a frame's process and hosts in pcapng
 * comments. Frames that are not IP, or cut short, give null.
 */
import { formatAddress } from '../net/address.js';

export interface FrameTuple {
  family: 4 | 6;
  /** IP protocol number. */
  proto: number;
  saddr: string;
  daddr: string;
  /** TCP/UDP ports; null for other protocols and later fragments. */
  sport: number | null;
  dport: number | null;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const VLAN_TPIDS = new Set([0x8100, 0x88a8]);
const IPV6_EXTENSIONS = new Set([0, 43, 60, 51, 44]);
const IPV6_MAX_EXT = 6;

export function frameTuple(frame: Uint8Array): FrameTuple | null {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 14) return null;
  let etherType = view.getUint16(12);
  let at = 14;
  for (let tags = 0; tags < 2 && VLAN_TPIDS.has(etherType); tags++) {
    if (frame.length < at + 4) return null;
    etherType = view.getUint16(at + 2);
    at += 4;
  }
  let family: 4 | 6;
  let proto: number;
  let saddr: string;
  let daddr: string;
  let l4: number;
  let laterFragment = false;
  if (etherType === ETH_P_IP) {
    if (frame.length < at + 20 || frame[at]! >> 4 !== 4) return null;
    const ihl = (frame[at]! & 0x0f) * 4;
    if (ihl < 20 || frame.length < at + ihl) return null;
    family = 4;
    proto = frame[at + 9]!;
    saddr = formatAddress(4, frame, at + 12);
    daddr = formatAddress(4, frame, at + 16);
    laterFragment = (view.getUint16(at + 6) & 0x1fff) !== 0;
    l4 = at + ihl;
  } else if (etherType === ETH_P_IPV6) {
    if (frame.length < at + 40 || frame[at]! >> 4 !== 6) return null;
    family = 6;
    saddr = formatAddress(6, frame, at + 8);
    daddr = formatAddress(6, frame, at + 24);
    proto = frame[at + 6]!;
    l4 = at + 40;
    for (let i = 0; IPV6_EXTENSIONS.has(proto); i++) {
      if (i === IPV6_MAX_EXT || frame.length < l4 + 8) return null;
      const next = frame[l4]!;
      if (proto === 44) {
        laterFragment = (view.getUint16(l4 + 2) & 0xfff8) !== 0;
        l4 += 8;
      } else {
        l4 += proto === 51 ? (frame[l4 + 1]! + 2) * 4 : (frame[l4 + 1]! + 1) * 8;
      }
      proto = next;
      if (laterFragment) break;
    }
  } else {
    return null;
  }
  const ported = (proto === 6 || proto === 17) && !laterFragment && frame.length >= l4 + 4;
  return {
    family,
    proto,
    saddr,
    daddr,
    sport: ported ? view.getUint16(l4) : null,
    dport: ported ? view.getUint16(l4 + 2) : null,
  };
}
