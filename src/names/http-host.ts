/**
 * The `Host` of a plaintext HTTP/1.x request (RFC 9112 section 3.2), from
 * the first bytes of the request as bpf/payload.bpf.h copied them (at most
 * HF_PAYLOAD_CAPTURE bytes of one packet, so the head may be cut).
 *
 * Only complete lines are read, and only up to the end of the head (the
 * first empty line): a header cut mid-line is never taken for a whole one.
 * The value loses its port and must be a host name (src/names/hostname.ts);
 * an address in Host names nothing. Never throws; linear in the input.
 */
import { checkHostname } from './hostname.js';

export type HttpHostSkipReason =
  /** The first line is not an HTTP/1.x request line. */
  | 'not_http'
  /** The capture ends before the head does, and no Host header came before. */
  | 'truncated'
  /** A complete head without a Host header (HTTP/1.0 clients). */
  | 'no_host'
  /** Two Host headers, or one with an empty value: RFC 9112 says such a request is rejected. */
  | 'malformed'
  /** Host is an IP address: the client connected by address. */
  | 'address_literal'
  /** Host is not a host name. */
  | 'invalid_name';

export type HttpHostParse = { ok: true; name: string } | { ok: false; reason: HttpHostSkipReason };

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT'] as const;
/** method SP request-target SP HTTP/1.x; the target has no spaces or controls. */
const REQUEST_LINE = new RegExp(`^(?:${METHODS.join('|')}) [\\x21-\\x7e]+ HTTP/1\\.[01]$`);

const LF = 0x0a;
const CR = 0x0d;

/** True when `payload` starts like the kernel's test for an HTTP request (bpf/payload.bpf.h). */
export function looksLikeHttpRequest(payload: Uint8Array): boolean {
  return METHODS.some((method) => {
    if (payload.length <= method.length) return false;
    for (let i = 0; i < method.length; i++) if (payload[i] !== method.charCodeAt(i)) return false;
    return payload[method.length] === 0x20;
  });
}

/**
 * Each complete line of `bytes` (without CR LF or a bare LF) until the
 * first empty one; `complete` says whether that empty line was reached.
 */
function headLines(bytes: Uint8Array): { lines: string[]; complete: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== LF) continue;
    const end = i > start && bytes[i - 1] === CR ? i - 1 : i;
    if (end === start) return { lines, complete: true };
    // latin1: one character per byte, so a stray byte never hides a line end.
    lines.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1'));
    start = i + 1;
  }
  return { lines, complete: false };
}

/** Host without its port: `name`, `name:80`, `[v6]:80`, `[v6]`. */
function stripPort(value: string): string {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    return close < 0 ? value : value.slice(1, close);
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0 && /^\d*$/.test(value.slice(colon + 1))) return value.slice(0, colon);
  return value;
}

/** The Host header's name of the request `payload` starts with. */
export function parseHttpHost(payload: Uint8Array): HttpHostParse {
  if (!looksLikeHttpRequest(payload)) return { ok: false, reason: 'not_http' };
  const { lines, complete } = headLines(payload);
  const [requestLine, ...fields] = lines;
  if (requestLine === undefined) return { ok: false, reason: 'truncated' };
  if (!REQUEST_LINE.test(requestLine)) return { ok: false, reason: 'not_http' };
  let host: string | null = null;
  for (const line of fields) {
    // field-name ":" OWS value OWS
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).toLowerCase() !== 'host') continue;
    if (host !== null) return { ok: false, reason: 'malformed' };
    host = line.slice(colon + 1).trim();
  }
  if (host === null) return { ok: false, reason: complete ? 'no_host' : 'truncated' };
  if (host === '') return { ok: false, reason: 'malformed' };
  const checked = checkHostname(stripPort(host));
  if (!checked.ok) return { ok: false, reason: checked.reason };
  return { ok: true, name: checked.name };
}
