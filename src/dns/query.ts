/**
 * DNS queries a local socket sent, as the socket hooks copy them: the id
 * and the first question, which is what pairs a query with its response
 * and what a lookup that never got one (a timeout) reports. Total (never
 * throws): the header is checked here, and dns-packet decodes the message
 * inside try/catch, as the response parser (wire.ts) does, so that a
 * query's name reads exactly as its response's.
 */
import dnsPacket from 'dns-packet';

export interface WireQuery {
  id: number;
  /** The first question's name, ASCII lower case, no trailing dot; '.' for the root. */
  host: string;
  /** dns-packet's name of the question type: 'A', 'AAAA', 'HTTPS', 'UNKNOWN_<n>'. */
  qtype: string;
}

/**
 * not_query: a response (QR=1) or not a standard query (opcode not QUERY).
 * no_question: a query without a question. malformed: anything dns-packet
 * cannot read, including captures too short for a header.
 */
export type QuerySkipReason = 'not_query' | 'no_question' | 'malformed';

export type QueryParse = { ok: true; query: WireQuery } | { ok: false; reason: QuerySkipReason };

const HEADER_LENGTH = 12;
const QR_BIT = 0x80;
const OPCODE_MASK = 0x78;

export function parseDnsQuery(message: Uint8Array): QueryParse {
  if (message.length < HEADER_LENGTH) return { ok: false, reason: 'malformed' };
  if ((message[2]! & (QR_BIT | OPCODE_MASK)) !== 0) return { ok: false, reason: 'not_query' };
  if (((message[4]! << 8) | message[5]!) === 0) return { ok: false, reason: 'no_question' };
  try {
    const question = dnsPacket.decode(Buffer.from(message.buffer, message.byteOffset, message.length)).questions?.[0];
    if (!question) return { ok: false, reason: 'malformed' };
    return { ok: true, query: { id: (message[0]! << 8) | message[1]!, host: normalizeName(question.name), qtype: question.type } };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** As wire.ts writes a response's name: ASCII lower case (RFC 4343), no trailing dot. */
function normalizeName(name: string): string {
  if (name === '.' || name === '') return '.';
  const lower = name.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
