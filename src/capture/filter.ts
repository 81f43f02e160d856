/**
 * `--capture`: what the kernel copies into the capture ring. 'dropped'
 * (frames the blocklist drops), 'all', or a filter in a small subset of
 * tcpdump's language, compiled here into struct hf_capture_filter, which
 * flow_xdp/flow_tc test per frame (bpf/capture.bpf.h). Pure.
 *
 * The subset:
 *
 *   expression := group { ('and' | '&&' | 'or' | '||') group }
 *   group      := primitive { primitive }       juxtaposed: 'tcp port 443'
 *   primitive  := [src | dst] host ADDRESS  |  [src | dst] ADDRESS
 *               | [src | dst] net PREFIX    |  [src | dst] PREFIX
 *               | [src | dst] port NUMBER
 *               | tcp | udp | icmp | icmp6 | ip | ip6 | proto NUMBER
 *               | dropped
 *
 * As in tcpdump, 'and' and 'or' have the same precedence and group from the
 * left: 'udp or tcp and port 53' is '(udp or tcp) and port 53'. Juxtaposed
 * primitives form one group ('tcp port 443 or udp port 53'). The expression
 * is expanded into at most 4 alternatives (terms) of at most 2 address
 * conditions (one address family) and 2 port conditions each; an
 * alternative that can never match ('icmp and port 53') is left out. Without
 * src/dst a condition matches either end. `port` means a TCP or UDP port, as
 * in tcpdump; `dropped` keeps only frames the blocklist drops. There is no
 * 'not' and no parentheses.
 *
 * Where hostflow differs from tcpdump: it looks through up to two VLAN tags
 * (tcpdump needs 'vlan and ...') and through IPv6 extension headers (tcpdump's
 * 'tcp'/'udp' look at the fixed header's next-header field only), as the flow
 * counters do.
 */
import {
  AF_INET,
  AF_INET6,
  FILTER_NETS,
  FILTER_PORTS,
  FILTER_TERMS,
  FilterEnd,
  FilterFlag,
  captureFilter,
  filterNet,
  filterPort,
  filterTerm,
} from '../kernel/layout.js';
import { parsePrefix, prefixMask } from '../kernel/prefix.js';
import { offsetOf } from '../kernel/struct.js';

export type CaptureModeSpec = 'dropped' | 'all' | 'filter';

export interface CaptureSpec {
  mode: CaptureModeSpec;
  /** struct hf_capture_filter for mode 'filter', else null. */
  filter: Buffer | null;
  /** The spec in canonical form, for reports: 'dropped', 'all', 'udp and port 53 or host 10.0.0.1/32'. */
  text: string;
}

export type End = 'src' | 'dst' | 'any';

export interface NetCondition {
  end: End;
  /** Canonical prefix, '10.0.0.1/32'. */
  prefix: string;
  family: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

export interface PortCondition {
  end: End;
  port: number;
}

export interface FilterTerm {
  family: 4 | 6 | null;
  /** IP protocol number, null for any. */
  proto: number | null;
  dropped: boolean;
  nets: NetCondition[];
  ports: PortCondition[];
}

/** A filter the user wrote is outside the subset or can never match. */
export class CaptureFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFilterError';
  }
}

const PROTOCOLS: Record<string, { proto: number; family?: 4 | 6 }> = {
  tcp: { proto: 6 },
  udp: { proto: 17 },
  icmp: { proto: 1, family: 4 },
  icmp6: { proto: 58, family: 6 },
};

const PROTOCOL_NAMES = new Map<number, string>([
  [6, 'tcp'],
  [17, 'udp'],
  [1, 'icmp'],
  [58, 'icmp6'],
]);

function tokenize(expression: string): string[] {
  return expression
    .replace(/&&/g, ' and ')
    .replace(/\|\|/g, ' or ')
    .trim()
    .split(/\s+/)
    .filter((token) => token !== '');
}

/** One primitive, as written. */
type Atom =
  | { kind: 'net'; net: NetCondition; word: string }
  | { kind: 'port'; port: PortCondition }
  | { kind: 'proto'; proto: number; family?: 4 | 6; word: string }
  | { kind: 'family'; family: 4 | 6; word: string }
  | { kind: 'dropped' };

/** A term that can never match: left out of the expansion. */
class NeverMatches extends Error {}

function setFamily(term: FilterTerm, family: 4 | 6): void {
  if (term.family !== null && term.family !== family) throw new NeverMatches();
  term.family = family;
}

/** The conjunction of atoms as a term; throws NeverMatches or CaptureFilterError (limits). */
function buildTerm(atoms: readonly Atom[]): FilterTerm {
  const term: FilterTerm = { family: null, proto: null, dropped: false, nets: [], ports: [] };
  for (const atom of atoms) {
    switch (atom.kind) {
      case 'net':
        setFamily(term, atom.net.family);
        if (!term.nets.some((net) => net.end === atom.net.end && net.prefix === atom.net.prefix)) term.nets.push(atom.net);
        break;
      case 'port':
        if (!term.ports.some((port) => port.end === atom.port.end && port.port === atom.port.port)) term.ports.push(atom.port);
        break;
      case 'proto':
        if (atom.family) setFamily(term, atom.family);
        if (term.proto !== null && term.proto !== atom.proto) throw new NeverMatches();
        term.proto = atom.proto;
        break;
      case 'family':
        setFamily(term, atom.family);
        break;
      case 'dropped':
        term.dropped = true;
        break;
    }
  }
  if (term.ports.length > 0 && term.proto !== null && term.proto !== 6 && term.proto !== 17) throw new NeverMatches();
  if (term.nets.length > FILTER_NETS) throw new CaptureFilterError(`at most ${FILTER_NETS} host/net conditions per alternative`);
  if (term.ports.length > FILTER_PORTS) throw new CaptureFilterError(`at most ${FILTER_PORTS} port conditions per alternative`);
  return term;
}

function parsePort(token: string | undefined): number {
  const port = Number(token);
  if (token === undefined || !/^\d{1,5}$/.test(token) || port > 65535) {
    throw new CaptureFilterError(`'port' needs a number 0..65535${token === undefined ? '' : `, got '${token}'`}`);
  }
  return port;
}

function parseNet(token: string | undefined, end: End, hostOnly: boolean): NetCondition {
  if (token === undefined) throw new CaptureFilterError(`'${hostOnly ? 'host' : 'net'}' needs an address`);
  let prefix;
  try {
    prefix = parsePrefix(token);
  } catch (error) {
    throw new CaptureFilterError((error as Error).message);
  }
  if (hostOnly && token.includes('/')) throw new CaptureFilterError(`'host ${token}': use 'net' for a prefix`);
  return { end, prefix: prefix.text, family: prefix.family, bytes: prefix.bytes, length: prefix.length };
}

const looksLikeAddress = (token: string) => /^[0-9a-fA-F:.]+(\/\d+)?$/.test(token) && /[.:]/.test(token);

/** Reads one primitive at tokens[i]; returns it and the index after it. */
function parsePrimitive(tokens: readonly string[], start: number): [Atom, number] {
  let i = start;
  const token = (tokens[i] ?? '').toLowerCase();
  if (token === 'not' || token === '!' || token.startsWith('(') || token.endsWith(')')) {
    throw new CaptureFilterError(`'${tokens[i]}': hostflow's capture filters have no 'not' and no parentheses`);
  }
  let end: End = 'any';
  let word = token;
  if (word === 'src' || word === 'dst') {
    end = word;
    word = (tokens[++i] ?? '').toLowerCase();
    if (word === '') throw new CaptureFilterError(`'${end}' needs 'host', 'net', 'port' or an address after it`);
  }
  if (word === 'host' || word === 'net') {
    const net = parseNet(tokens[i + 1], end, word === 'host');
    return [{ kind: 'net', net, word: `${word} ${tokens[i + 1]}` }, i + 2];
  }
  if (looksLikeAddress(word)) return [{ kind: 'net', net: parseNet(tokens[i], end, false), word }, i + 1];
  if (word === 'port') return [{ kind: 'port', port: { end, port: parsePort(tokens[i + 1]) } }, i + 2];
  if (end !== 'any') throw new CaptureFilterError(`'${end}' must be followed by 'host', 'net', 'port' or an address, not '${word}'`);
  const protocol = PROTOCOLS[word];
  if (protocol) return [{ kind: 'proto', proto: protocol.proto, family: protocol.family, word }, i + 1];
  if (word === 'ip' || word === 'ip6') return [{ kind: 'family', family: word === 'ip' ? 4 : 6, word }, i + 1];
  if (word === 'proto') {
    const value = tokens[i + 1] ?? '';
    const named = PROTOCOLS[value.toLowerCase()];
    if (!named && !/^\d{1,3}$/.test(value)) throw new CaptureFilterError(`'proto' needs a protocol number 0..255 or tcp, udp, icmp, icmp6, got '${value}'`);
    const number = named?.proto ?? Number(value);
    if (number > 255) throw new CaptureFilterError(`'proto ${value}': protocol numbers are 0..255`);
    return [{ kind: 'proto', proto: number, family: named?.family, word: `proto ${value}` }, i + 2];
  }
  if (word === 'dropped') return [{ kind: 'dropped' }, i + 1];
  throw new CaptureFilterError(
    `'${tokens[i]}' is not in hostflow's filter subset (host, net, port, src, dst, tcp, udp, icmp, icmp6, ip, ip6, proto, dropped, and, or)`,
  );
}

/** Parses a filter expression of the subset into its alternatives; throws CaptureFilterError. */
export function parseFilter(expression: string): FilterTerm[] {
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new CaptureFilterError('the capture filter is empty');
  // Alternatives as lists of atoms, built left to right with tcpdump's
  // equal precedence: 'and G' adds G to every alternative, 'or G' adds one.
  let alternatives: Atom[][] = [];
  let operator: 'and' | 'or' = 'or';
  let i = 0;
  while (i < tokens.length) {
    const group: Atom[] = [];
    while (i < tokens.length && !['and', 'or'].includes((tokens[i] ?? '').toLowerCase())) {
      const [atom, next] = parsePrimitive(tokens, i);
      group.push(atom);
      i = next;
    }
    if (group.length === 0) throw new CaptureFilterError(`'${tokens[i] ?? operator}' needs a condition on both sides`);
    alternatives = operator === 'or' ? [...alternatives, group] : alternatives.map((atoms) => [...atoms, ...group]);
    if (i < tokens.length) {
      operator = (tokens[i] ?? '').toLowerCase() as 'and' | 'or';
      i++;
      if (i === tokens.length) throw new CaptureFilterError(`'${operator}' needs a condition on both sides`);
    }
    if (alternatives.length > 64) throw new CaptureFilterError(`'${expression.trim()}' has too many alternatives`);
  }
  const terms: FilterTerm[] = [];
  for (const atoms of alternatives) {
    try {
      terms.push(buildTerm(atoms));
    } catch (error) {
      if (!(error instanceof NeverMatches)) throw error;
    }
  }
  if (terms.length === 0) throw new CaptureFilterError(`'${expression.trim()}' can never match (contradicting protocols, families or ports)`);
  if (terms.length > FILTER_TERMS) {
    throw new CaptureFilterError(`'${expression.trim()}' needs ${terms.length} alternatives; the kernel side takes at most ${FILTER_TERMS}`);
  }
  return terms;
}

const END_CODE: Record<End, number> = { src: FilterEnd.src, dst: FilterEnd.dst, any: FilterEnd.any };

const T = {
  terms: offsetOf(captureFilter, 'terms'),
  term: offsetOf(captureFilter, 'term'),
  nets: offsetOf(filterTerm, 'nets'),
  ports: offsetOf(filterTerm, 'ports'),
  family: offsetOf(filterTerm, 'family'),
  proto: offsetOf(filterTerm, 'proto'),
  flags: offsetOf(filterTerm, 'flags'),
  netAddr: offsetOf(filterNet, 'addr'),
  netMask: offsetOf(filterNet, 'mask'),
  netEnds: offsetOf(filterNet, 'ends'),
  port: offsetOf(filterPort, 'port'),
  portEnds: offsetOf(filterPort, 'ends'),
};

/** The terms as struct hf_capture_filter, the value of the `capture_filter` constant. */
export function encodeFilter(terms: readonly FilterTerm[]): Buffer {
  const buffer = Buffer.alloc(captureFilter.size);
  buffer.writeUInt32LE(terms.length, T.terms);
  terms.forEach((term, index) => {
    const at = T.term + index * filterTerm.size;
    term.nets.forEach((net, netIndex) => {
      const netAt = at + T.nets + netIndex * filterNet.size;
      buffer.set(net.bytes, netAt + T.netAddr);
      buffer.set(prefixMask(net.length), netAt + T.netMask);
      buffer.writeUInt8(END_CODE[net.end], netAt + T.netEnds);
    });
    term.ports.forEach((port, portIndex) => {
      const portAt = at + T.ports + portIndex * filterPort.size;
      buffer.writeUInt16LE(port.port, portAt + T.port);
      buffer.writeUInt8(END_CODE[port.end], portAt + T.portEnds);
    });
    buffer.writeUInt16LE(term.family === 4 ? AF_INET : term.family === 6 ? AF_INET6 : 0, at + T.family);
    buffer.writeUInt8(term.proto ?? 0, at + T.proto);
    buffer.writeUInt8(term.dropped ? FilterFlag.dropped : 0, at + T.flags);
  });
  return buffer;
}

/** Canonical text of parsed terms. */
export function formatFilter(terms: readonly FilterTerm[]): string {
  return terms
    .map((term) => {
      const words: string[] = [];
      const endWord = (end: End) => (end === 'any' ? '' : `${end} `);
      if (term.dropped) words.push('dropped');
      const protocol = term.proto === null ? undefined : PROTOCOL_NAMES.get(term.proto);
      if (term.proto !== null) words.push(protocol ?? `proto ${term.proto}`);
      const familyImplied = term.nets.length > 0 || protocol === 'icmp' || protocol === 'icmp6';
      if (term.family !== null && !familyImplied) words.push(term.family === 4 ? 'ip' : 'ip6');
      for (const net of term.nets) words.push(`${endWord(net.end)}net ${net.prefix}`);
      for (const port of term.ports) words.push(`${endWord(port.end)}port ${port.port}`);
      return words.join(' and ');
    })
    .join(' or ');
}

/**
 * What `--capture` takes: 'dropped', 'all', or a filter expression of the
 * subset above. Throws CaptureFilterError with a message for the user.
 */
export function parseCaptureSpec(text: string): CaptureSpec {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'dropped' || trimmed === 'all') return { mode: trimmed, filter: null, text: trimmed };
  const terms = parseFilter(text);
  return { mode: 'filter', filter: encodeFilter(terms), text: formatFilter(terms) };
}

/**
 * The filter's verdict on one frame's tuple, in JavaScript: the same rules
 * the kernel applies, for tests and for tools that re-filter a capture.
 */
export function filterMatches(
  terms: readonly FilterTerm[],
  packet: {
    family: 4 | 6 | null;
    proto: number | null;
    saddr: Uint8Array | null;
    daddr: Uint8Array | null;
    sport: number | null;
    dport: number | null;
    dropped: boolean;
  },
): boolean {
  const netEqual = (address: Uint8Array | null, net: NetCondition) => {
    if (!address) return false;
    const mask = prefixMask(net.length);
    const bytes = net.family === 4 ? 4 : 16;
    for (let i = 0; i < bytes; i++) if (((address[i] ?? 0) & (mask[i] ?? 0)) !== net.bytes[i]) return false;
    return true;
  };
  const hasPorts = packet.sport !== null && (packet.proto === 6 || packet.proto === 17);
  return terms.some((term) => {
    if (term.family !== null && packet.family !== term.family) return false;
    if (term.proto !== null && packet.proto !== term.proto) return false;
    if (term.dropped && !packet.dropped) return false;
    for (const net of term.nets) {
      const src = net.end !== 'dst' && netEqual(packet.saddr, net);
      const dst = net.end !== 'src' && netEqual(packet.daddr, net);
      if (!src && !dst) return false;
    }
    for (const port of term.ports) {
      if (!hasPorts) return false;
      const src = port.end !== 'dst' && packet.sport === port.port;
      const dst = port.end !== 'src' && packet.dport === port.port;
      if (!src && !dst) return false;
    }
    return true;
  });
}
