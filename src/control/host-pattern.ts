/**
 * The NAME of `block-host NAME`: a host name (`api.example.com`) or every
 * name under a domain (`*.example.com`, not the domain itself), matched
 * case-insensitively with any trailing dot ignored, as DNS compares names.
 * Pure. The text comes from a socket client, so anything but a plain host
 * name is refused, and the refusal quotes it printable only: no control
 * character or escape sequence ever reaches a terminal.
 */
import { isIP } from 'node:net';
import { quote } from './protocol.js';

export interface HostPattern {
  /** Canonical text: lower case, no trailing dot; '*.example.com' for a wildcard. */
  text: string;
  /** The name itself, or the domain under which a wildcard matches. */
  name: string;
  wildcard: boolean;
}

export type HostPatternParse = { ok: true; pattern: HostPattern } | { ok: false; error: string };

/** 253 characters: the longest DNS name in text form (RFC 1035 2.3.4, less the trailing dot). */
const NAME_MAX = 253;
/** Letters, digits, '-' and '_' (real names such as _dmarc carry it), 1..63 of them, no '-' at either end. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A name as DNS compares it: lower case, without one trailing dot. */
export function normalizeHost(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function parseHostPattern(text: string): HostPatternParse {
  const refuse = (why: string): HostPatternParse => ({ ok: false, error: `'${quote(text)}' ${why}` });
  const normal = normalizeHost(text);
  if (isIP(normal) !== 0 || isIP(normal.replace(/^\[(.*)\]$/, '$1')) !== 0) return refuse('is an address: block-src blocks addresses');
  const wildcard = normal.startsWith('*.');
  const name = wildcard ? normal.slice(2) : normal;
  const usage = "is not a host name (letters, digits, '-', '_' and dots; '*.' in front for every name under a domain)";
  if (name.length === 0 || name.length > NAME_MAX) return refuse(usage);
  for (const label of name.split('.')) if (!LABEL.test(label)) return refuse(usage);
  return { ok: true, pattern: { text: wildcard ? `*.${name}` : name, name, wildcard } };
}

/** Does `host` (as the name index holds it, or as any resolver wrote it) fall under the pattern? */
export function hostMatches(pattern: HostPattern, host: string): boolean {
  const name = normalizeHost(host);
  return pattern.wildcard ? name.endsWith(`.${pattern.name}`) : name === pattern.name;
}
