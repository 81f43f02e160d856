/**
 * The one check every name source outside DNS answers passes (TLS SNI,
 * HTTP Host): the bytes came from a packet, so they are untrusted. A name
 * is kept only when it is a plausible DNS host name in text form, so it can
 * never smuggle control characters or a whole header line into a record.
 */
import { isIP } from 'node:net';

/** 253 characters is the longest DNS name in text form (no trailing dot). */
export const HOSTNAME_MAX = 253;
const LABEL_MAX = 63;
/** Letters, digits, hyphen; underscore too, since real names (_dmarc, SRV owners, some CDNs) carry it. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

export type HostnameCheck = { ok: true; name: string } | { ok: false; reason: 'address_literal' | 'invalid_name' };

/**
 * `raw` lower-cased, without one trailing dot, when it is a host name:
 * 1..253 characters, labels of 1..63 letters, digits, '-' or '_', not
 * starting or ending with '-'. An IP address is not a name (`address_literal`).
 */
export function checkHostname(raw: string): HostnameCheck {
  const name = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase();
  if (isIP(name) !== 0) return { ok: false, reason: 'address_literal' };
  if (name.length === 0 || name.length > HOSTNAME_MAX) return { ok: false, reason: 'invalid_name' };
  for (const label of name.split('.')) {
    if (label.length > LABEL_MAX || !LABEL.test(label)) return { ok: false, reason: 'invalid_name' };
  }
  return { ok: true, name };
}
