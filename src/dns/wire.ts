/**
 * DNS responses captured on the wire, turned into what correlation needs:
 * the name asked, the CNAME chain, the addresses at its end and their TTLs.
 *
 * The kernel copies at most the first 1232 bytes of each UDP/53 response, so
 * any input may be cut short, and any input may be hostile. Two steps keep
 * this function total (it never throws) and linear in the message length:
 *
 * 1. A framing walk of our own checks that every question and record fits in
 *    the captured bytes and that every A/AAAA record is 4/16 bytes long. It
 *    follows no compression pointers (it only steps over them), so it visits
 *    each byte once. dns-packet trusts some lengths and ignores others: it
 *    reads 4 bytes for an A record whatever RDLENGTH says, which would shift
 *    every record after it; the walk rejects such messages first.
 * 2. dns-packet decodes what the walk accepted (names with compression),
 *    inside try/catch, and must consume exactly the bytes the walk framed.
 *
 * Compression pointer loops: dns-packet 5 only follows a pointer to an offset
 * strictly before the label sequence it is reading (RFC 1035 4.1.4 says a
 * pointer refers to a *prior* occurrence), so every jump goes backwards, a
 * loop is impossible, and a name costs at most one step per byte of the
 * message; names are decoded in a loop, not by recursion. Forward pointers
 * (and pointers to themselves) are rejected by it, so messages using them are
 * `malformed`; no real server writes them.
 *
 * Truncated captures (messageLength > message.length): only the header,
 * question and answer sections matter here, so when those are complete in the
 * captured bytes the message is decoded without its authority and additional
 * sections (DNSSEC signatures and EDNS options are what usually overflow).
 * When the answers themselves were cut, the result is `truncated`: a partial
 * answer list would index a name under only some of its addresses.
 */
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { formatIPv4, formatIPv6 } from '../net/address.js';

export type WireParse = { ok: true; answer: WireAnswer } | { ok: false; reason: WireSkipReason };

/**
 * not_response: a query (QR=0), or a response to something other than a
 * standard query (opcode not QUERY: NOTIFY, UPDATE, ...).
 * truncated: the capture ends before the answer section does.
 * malformed: not a DNS message we can read (including captures too short for
 * a header).
 * no_question: a response without a question (FORMERR replies often are),
 * which names nothing.
 */
export type WireSkipReason = 'not_response' | 'truncated' | 'malformed' | 'no_question';

export interface WireAnswer {
  id: number;
  /** dns-packet's name of the header RCODE: 'NOERROR', 'NXDOMAIN', 'SERVFAIL', ... */
  rcode: string;
  /** The (first) question's name, ASCII lower case, no trailing dot; '.' for the root. */
  host: string;
  /** dns-packet's name of the question type: 'A', 'AAAA', 'HTTPS', 'UNKNOWN_<n>'. */
  qtype: string;
  /** The CNAME chain followed from `host`, targets in order, lower case; [] when none. */
  cnames: string[];
  /** A then AAAA addresses owned by the end of the chain, each once, in answer order. */
  addrs: string[];
  /** Smallest TTL (seconds) of the CNAME and address records used; null when none were used. */
  ttl: number | null;
  /** Each address's own TTL (the smallest, when it appears twice). */
  addrTtls: Record<string, number>;
  /** The TC bit: the server cut the answer itself (the client retries over TCP). */
  truncatedFlag: boolean;
}

/** Counts of parse outcomes, for the session's statistics. */
export interface DnsParseStats {
  parsed: number;
  notResponse: number;
  truncated: number;
  /** Includes responses without a question: neither names anything. */
  malformed: number;
}

export function emptyDnsParseStats(): DnsParseStats {
  return { parsed: 0, notResponse: 0, truncated: 0, malformed: 0 };
}

/** Adds one outcome to `stats` (in place: it runs once per captured packet) and returns it. */
export function countDnsParse(stats: DnsParseStats, result: WireParse): DnsParseStats {
  if (result.ok) stats.parsed++;
  else if (result.reason === 'not_response') stats.notResponse++;
  else if (result.reason === 'truncated') stats.truncated++;
  else stats.malformed++;
  return stats;
}

const HEADER_LENGTH = 12;
/** A DNS message's length is a 16-bit field over TCP and bounded by the UDP datagram. */
const MAX_MESSAGE_LENGTH = 65535;
const QR_BIT = 0x80; // in header byte 2
const TC_BIT = 0x02; // in header byte 2
const OPCODE_MASK = 0x78; // in header byte 2
const RCODE_MASK = 0x0f; // in header byte 3
const CLASS_IN = 1;
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
/** RFC 2181 8: a TTL with the top bit set is to be read as zero. */
const MAX_TTL = 0x7fffffff;

/** dns-packet's RCODE names (its rcodes.toString). */
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** Where one resource record sits in the message, as our framing walk found it. */
interface RecordFrame {
  type: number;
  class: number;
  ttl: number;
  dataOffset: number;
  dataLength: number;
}

/** A framing failure: 'short' ran out of captured bytes, 'invalid' cannot be DNS at any length. */
type FrameFailure = 'short' | 'invalid';

export function parseDnsResponse(message: Uint8Array, messageLength: number): WireParse {
  try {
    return parse(message, messageLength);
  } catch {
    // Every known failure is handled below; this is the promise to callers
    // that a packet from the network can never take the session down.
    return { ok: false, reason: 'malformed' };
  }
}

function parse(message: Uint8Array, messageLength: number): WireParse {
  if (!(message instanceof Uint8Array) || !Number.isInteger(messageLength) || messageLength < 0 || messageLength > MAX_MESSAGE_LENGTH) {
    return { ok: false, reason: 'malformed' };
  }
  const captured = Math.min(message.length, messageLength);
  const captureCut = messageLength > message.length;
  const bytes = message.subarray(0, captured);
  const shortOf = (): WireParse => ({ ok: false, reason: captureCut ? 'truncated' : 'malformed' });

  if (captured < HEADER_LENGTH) return shortOf();
  const flags = bytes[2]!;
  if ((flags & QR_BIT) === 0 || (flags & OPCODE_MASK) !== 0) return { ok: false, reason: 'not_response' };
  const questionCount = readU16(bytes, 4);
  if (questionCount === 0) return { ok: false, reason: 'no_question' };

  let offset = skipQuestions(bytes, HEADER_LENGTH, questionCount);
  if (typeof offset === 'string') return offset === 'short' ? shortOf() : { ok: false, reason: 'malformed' };
  const answerFrames: RecordFrame[] = [];
  offset = frameRecords(bytes, offset, readU16(bytes, 6), answerFrames);
  if (typeof offset === 'string') return offset === 'short' ? shortOf() : { ok: false, reason: 'malformed' };
  const answersEnd = offset;
  const restEnd = frameRecords(bytes, answersEnd, readU16(bytes, 8) + readU16(bytes, 10), []);
  if (restEnd === 'invalid' || (restEnd === 'short' && !captureCut)) return { ok: false, reason: 'malformed' };

  const decodable = typeof restEnd === 'number' ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : withoutLaterSections(bytes, answersEnd);
  const expectedEnd = typeof restEnd === 'number' ? restEnd : answersEnd;
  let decoded: DecodedPacket;
  try {
    decoded = dnsPacket.decode(decodable);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const answers = decoded.answers ?? [];
  const question = decoded.questions?.[0];
  if (dnsPacket.decode.bytes !== expectedEnd || answers.length !== answerFrames.length || !question) {
    return { ok: false, reason: 'malformed' };
  }

  const records = answerFrames.map((frame, i): DecodedRecord => {
    const record = answers[i]!;
    return { ...frame, owner: normalizeName(record.name), data: 'data' in record ? record.data : undefined };
  });
  return { ok: true, answer: summarize(bytes, normalizeName(question.name), question.type, records) };
}

interface DecodedRecord extends RecordFrame {
  owner: string;
  data: unknown;
}

/** Follows the CNAME chain from `host` and gathers the addresses at its end. */
function summarize(bytes: Uint8Array, host: string, qtype: string, records: DecodedRecord[]): WireAnswer {
  const inRecords = records.filter((record) => record.class === CLASS_IN);
  let ttl: number | null = null;
  const useTtl = (value: number): void => {
    ttl = ttl === null ? value : Math.min(ttl, value);
  };

  // First CNAME per owner (a name may hold only one, RFC 1034 3.6.2), in any
  // order in the section. DNAME records need no handling: servers synthesize
  // the CNAME that follows from them.
  const cnameOf = new Map<string, DecodedRecord>();
  for (const record of inRecords) {
    if (record.type === TYPE_CNAME && typeof record.data === 'string' && !cnameOf.has(record.owner)) cnameOf.set(record.owner, record);
  }
  const cnames: string[] = [];
  const visited = new Set([host]);
  let end = host;
  // Every step visits a new name, so a loop (a -> b -> a) ends the walk.
  for (let record = cnameOf.get(end); record; record = cnameOf.get(end)) {
    const target = normalizeName(record.data as string);
    if (visited.has(target)) break;
    visited.add(target);
    cnames.push(target);
    useTtl(record.ttl);
    end = target;
  }

  const addrTtls: Record<string, number> = {};
  const v4: string[] = [];
  const v6: string[] = [];
  for (const record of inRecords) {
    if (record.owner !== end || (record.type !== TYPE_A && record.type !== TYPE_AAAA)) continue;
    // Printed from the record's bytes: dns-packet compresses the first run of
    // zero groups of an IPv6 address, RFC 5952 wants the longest.
    const addr = record.type === TYPE_A ? formatIPv4(bytes, record.dataOffset) : formatIPv6(bytes, record.dataOffset);
    const seen = addrTtls[addr];
    if (seen === undefined) (record.type === TYPE_A ? v4 : v6).push(addr);
    addrTtls[addr] = seen === undefined ? record.ttl : Math.min(seen, record.ttl);
    useTtl(record.ttl);
  }

  return {
    id: readU16(bytes, 0),
    rcode: RCODE_NAMES[bytes[3]! & RCODE_MASK] ?? `RCODE_${bytes[3]! & RCODE_MASK}`,
    host,
    qtype,
    cnames,
    addrs: [...v4, ...v6],
    ttl,
    addrTtls,
    truncatedFlag: (bytes[2]! & TC_BIT) !== 0,
  };
}

/** Steps over `count` questions; returns the offset after them. */
function skipQuestions(bytes: Uint8Array, offset: number, count: number): number | FrameFailure {
  for (let i = 0; i < count; i++) {
    const nameEnd = skipName(bytes, offset);
    if (typeof nameEnd === 'string') return nameEnd;
    offset = nameEnd + 4; // QTYPE, QCLASS
    if (offset > bytes.length) return 'short';
  }
  return offset;
}

/**
 * Frames `count` resource records into `frames`; returns the offset after
 * them. Each record takes at least 11 bytes, so a forged count ends the loop
 * as soon as the bytes run out.
 */
function frameRecords(bytes: Uint8Array, offset: number, count: number, frames: RecordFrame[]): number | FrameFailure {
  for (let i = 0; i < count; i++) {
    const nameEnd = skipName(bytes, offset);
    if (typeof nameEnd === 'string') return nameEnd;
    const dataOffset = nameEnd + 10; // TYPE, CLASS, TTL, RDLENGTH
    if (dataOffset > bytes.length) return 'short';
    const type = readU16(bytes, nameEnd);
    const dataLength = readU16(bytes, nameEnd + 8);
    if ((type === TYPE_A && dataLength !== 4) || (type === TYPE_AAAA && dataLength !== 16)) return 'invalid';
    offset = dataOffset + dataLength;
    if (offset > bytes.length) return 'short';
    const ttl = readU16(bytes, nameEnd + 4) * 0x10000 + readU16(bytes, nameEnd + 6);
    frames.push({ type, class: readU16(bytes, nameEnd + 2), ttl: ttl > MAX_TTL ? 0 : ttl, dataOffset, dataLength });
  }
  return offset;
}

/**
 * Steps over a name without following its compression pointer (a pointer
 * ends the name in place), so the walk is linear and cannot loop.
 */
function skipName(bytes: Uint8Array, offset: number): number | FrameFailure {
  for (;;) {
    if (offset >= bytes.length) return 'short';
    const length = bytes[offset]!;
    const kind = length & 0xc0;
    if (kind === 0xc0) return offset + 2 <= bytes.length ? offset + 2 : 'short';
    if (kind !== 0) return 'invalid'; // 0x40 and 0x80 label types are obsolete or unassigned
    if (length === 0) return offset + 1;
    offset += 1 + length;
  }
}

/** A copy of the header, question and answer sections, claiming no further records. */
function withoutLaterSections(bytes: Uint8Array, answersEnd: number): Buffer {
  const copy = Buffer.from(bytes.subarray(0, answersEnd));
  copy.writeUInt16BE(0, 8);
  copy.writeUInt16BE(0, 10);
  return copy;
}

/** DNS names compare case-insensitively in ASCII only (RFC 4343). */
function normalizeName(name: string): string {
  if (name === '.' || name === '') return '.';
  const lower = name.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}
