/**
 * IP addresses and prefixes as the kernel side wants them: 16 bytes in
 * network order (IPv4 in the first 4), host bits zero. Pure; the blocklist
 * and the capture filter compiler both parse what users type with it.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatAddress } from '../net/address.js';

export interface Prefix {
  family: 4 | 6;
  /** Network address, 16 bytes (IPv4 in the first 4), host bits zero. */
  bytes: Uint8Array;
  /** Prefix length: 0..32 or 0..128. */
  length: number;
  /** Canonical text, always with a length: '10.0.0.0/8', 'fd00::/64', '10.1.2.3/32'. */
  text: string;
}

function parseIPv4(text: string, into: Uint8Array, at: number): void {
  text.split('.').forEach((part, index) => {
    into[at + index] = Number(part);
  });
}

/** Address text (already checked with isIPv4/isIPv6) to 16 bytes. */
export function addressBytes(text: string): { family: 4 | 6; bytes: Uint8Array } {
  const bytes = new Uint8Array(16);
  if (isIPv4(text)) {
    parseIPv4(text, bytes, 0);
    return { family: 4, bytes };
  }
  if (!isIPv6(text)) throw new RangeError(`'${text}' is not an IP address`);
  let address = text.replace(/%.*$/, '');
  // An embedded IPv4 address (::ffff:1.2.3.4) stands for the last two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = address.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = groupsOf(head);
  const right = rest === undefined ? [] : groupsOf(rest);
  const groups = [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
  groups.slice(0, 8).forEach((group, index) => {
    bytes[2 * index] = group >> 8;
    bytes[2 * index + 1] = group & 0xff;
  });
  return { family: 6, bytes };
}

/** The mask of a prefix length over 16 bytes. */
export function prefixMask(length: number): Uint8Array {
  const mask = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, length - 8 * i));
    mask[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return mask;
}

/**
 * '10.0.0.1' (a /32), '10.0.0.0/8', 'fd00::1', 'fd00::/64'. Throws a
 * RangeError whose message can be shown to a user as it is, e.g. when host
 * bits are set ('10.1.2.3/8': did you mean 10.0.0.0/8?).
 */
export function parsePrefix(text: string): Prefix {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  if (!isIPv4(addressText) && !isIPv6(addressText)) {
    throw new RangeError(`'${text}' is not an IP address or prefix (e.g. 192.0.2.1, 10.0.0.0/8, fd00::/64)`);
  }
  const { family, bytes } = addressBytes(addressText);
  const max = family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lengthText = trimmed.slice(slash + 1);
    length = Number(lengthText);
    if (!/^\d{1,3}$/.test(lengthText) || length > max) {
      throw new RangeError(`'${text}': the prefix length must be 0..${max}`);
    }
  }
  const mask = prefixMask(length);
  const network = bytes.map((byte, index) => byte & (mask[index] ?? 0));
  const networkText = formatAddress(family, network);
  if (network.some((byte, index) => byte !== bytes[index])) {
    throw new RangeError(`'${text}' has host bits set (did you mean ${networkText}/${length}?)`);
  }
  return { family, bytes: network, length, text: `${networkText}/${length}` };
}
