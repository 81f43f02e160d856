/**
 * The server name of a QUIC connection, from the Initial packets its client
 * sent: the kernel (bpf/, cgroup_skb egress) copies at most
 * HF_PAYLOAD_CAPTURE bytes of the first datagrams of each UDP conversation
 * that start with a long-header Initial of QUIC v1 or v2.
 *
 * Initial packets are encrypted, but with keys anyone can derive from the
 * packet's own Destination Connection ID (RFC 9001 5.2; v2: RFC 9369 3.3):
 *
 *   initial_secret = HKDF-Extract(version's salt, DCID)
 *   client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   key, iv, hp    = HKDF-Expand-Label(client_secret, "quic key" | "quic iv" | "quic hp")
 *                    (v2: "quicv2 key" | "quicv2 iv" | "quicv2 hp")
 *
 * Header protection is removed with AES-128-ECB over a 16-byte sample of
 * the ciphertext (RFC 9001 5.4), the payload opened with AES-128-GCM (nonce
 * = iv XOR packet number, the header as associated data), and its frames
 * walked (RFC 9000 12.4: PADDING, PING, ACK, CRYPTO; anything else ends the
 * walk). The CRYPTO frames carry the ClientHello as a bare handshake message
 * (RFC 9001 4.1.3), read by the TLS parser (src/names/tls-client-hello.ts).
 *
 * A ClientHello can span several Initial packets and datagrams (post-quantum
 * key shares make it longer than one 1200-byte datagram; Chrome sends two),
 * so `QuicHelloAssembler` keeps the CRYPTO bytes of each (conversation,
 * DCID) until the hello is whole, bounded in entries (least recently active
 * dropped first), in bytes per hello and in time. Other packets coalesced
 * into the datagram (0-RTT, Handshake, 1-RTT) are skipped.
 *
 * The input is untrusted: nothing here throws, and the work per datagram is
 * bounded by its length. Pure: time comes from the events.
 */
import { createDecipheriv, createCipheriv, createHmac } from 'node:crypto';
import { parseClientHelloMessage, type ClientHelloParse } from './tls-client-hello.js';

export const QUIC_V1 = 0x0000_0001;
export const QUIC_V2 = 0x6b33_43cf;

interface VersionParams {
  salt: Buffer;
  labels: { key: string; iv: string; hp: string };
  /** The long-header type bits (0x30 of the first byte, shifted) of an Initial. */
  initialType: number;
  /** And of a Retry, which has no Length field. */
  retryType: number;
}

const VERSIONS = new Map<number, VersionParams>([
  [
    QUIC_V1,
    {
      salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'),
      labels: { key: 'quic key', iv: 'quic iv', hp: 'quic hp' },
      initialType: 0b00,
      retryType: 0b11,
    },
  ],
  [
    QUIC_V2,
    {
      salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'),
      labels: { key: 'quicv2 key', iv: 'quicv2 iv', hp: 'quicv2 hp' },
      initialType: 0b01,
      retryType: 0b00,
    },
  ],
]);

/** RFC 9000 17.2: connection IDs of versions 1 and 2 are at most 20 bytes. */
const CID_MAX = 20;
const AEAD_TAG = 16;
const HP_SAMPLE = 16;
/** Packets read from one datagram; a client's first flight coalesces at most Initial, 0-RTT and Handshake. */
const PACKETS_PER_DATAGRAM_MAX = 8;
/** A datagram is at most 65527 bytes; the kernel copies far fewer. Beyond this nothing is read. */
const DATAGRAM_MAX = 65_527;

const FRAME_PADDING = 0x00;
const FRAME_PING = 0x01;
const FRAME_ACK = 0x02;
const FRAME_ACK_ECN = 0x03;
const FRAME_CRYPTO = 0x06;

/** The client's Initial keys: AEAD key and IV, header-protection key. */
export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with SHA-256 and an empty context. */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, fullLabel.length]), fullLabel, Buffer.from([0])]);
  const blocks: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let counter = 1; counter * 32 - 32 < length; counter++) {
    previous = createHmac('sha256', secret)
      .update(previous)
      .update(info)
      .update(Buffer.from([counter]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The client Initial secret of `version` for `dcid`; null for a version other than 1 and 2. */
export function clientInitialSecret(version: number, dcid: Uint8Array): Buffer | null {
  const params = VERSIONS.get(version);
  if (!params) return null;
  const initialSecret = createHmac('sha256', params.salt).update(dcid).digest();
  return hkdfExpandLabel(initialSecret, 'client in', 32);
}

/** The keys protecting the client's Initial packets of `version` sent to `dcid` (RFC 9001 5.2, RFC 9369 3.3.1); null for other versions. */
export function clientInitialKeys(version: number, dcid: Uint8Array): InitialKeys | null {
  const params = VERSIONS.get(version);
  const secret = clientInitialSecret(version, dcid);
  if (!params || !secret) return null;
  return {
    key: hkdfExpandLabel(secret, params.labels.key, 16),
    iv: hkdfExpandLabel(secret, params.labels.iv, 12),
    hp: hkdfExpandLabel(secret, params.labels.hp, 16),
  };
}

/** The header-protection mask of a 16-byte sample (RFC 9001 5.4.3). */
export function headerProtectionMask(hp: Buffer, sample: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-ecb', hp, null);
  cipher.setAutoPadding(false);
  return cipher.update(sample);
}

export type QuicSkipReason =
  /** The datagram does not start with a long-header Initial packet. */
  | 'not_initial'
  /** A long header of a version other than QUIC v1 and v2. */
  | 'unsupported_version'
  /** A length in the header runs past its packet or datagram, a connection ID is too long, or the packet is too short to sample. */
  | 'malformed'
  /** The Initial's Length runs past the captured bytes (the kernel cut the datagram). */
  | 'truncated'
  /** The Initial does not open with the keys of its own DCID: a later Initial of a connection (after the server chose its ID), or not QUIC. */
  | 'decrypt_failed'
  /** The ClientHello (or a CRYPTO frame's end) is beyond `maxHelloBytes`. */
  | 'too_large'
  /** The CRYPTO data came in more separate pieces than `maxPieces`. */
  | 'too_fragmented';

/** What became of a ClientHello that was never whole: dropped to make room, quiet too long, or left when the run ended. */
export type QuicDropReason = 'evicted' | 'expired' | 'incomplete';

/** The name of a whole ClientHello, why it names nothing, or why the datagram gave none. */
export type QuicHelloParse = ClientHelloParse | { ok: false; reason: QuicSkipReason };

/** One CRYPTO frame's data and where it goes in the stream. */
export interface CryptoPiece {
  offset: number;
  data: Buffer;
}

/** The Initial packets of one datagram, opened: their version, DCID and CRYPTO data. */
export type InitialsRead =
  | {
      ok: true;
      version: number;
      dcid: Buffer;
      crypto: CryptoPiece[];
    }
  | { ok: false; reason: QuicSkipReason };

/** A variable-length integer (RFC 9000 16) at `at`, as [value, next]; null past `end`. Values beyond 2^53 lose precision, never matter here. */
function varint(bytes: Uint8Array, at: number, end: number): [number, number] | null {
  if (at >= end) return null;
  const first = bytes[at] as number;
  const length = 1 << (first >> 6);
  if (at + length > end) return null;
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + (bytes[at + i] as number);
  return [value, at + length];
}

/**
 * Opens the Initial packets at the start of `datagram` (a client's, to
 * the DCID of the first) and collects their CRYPTO data.
 */
export function readInitials(datagram: Uint8Array): InitialsRead {
  const bytes = datagram.length > DATAGRAM_MAX ? datagram.subarray(0, DATAGRAM_MAX) : datagram;
  let at = 0;
  let first: { version: number; dcid: Buffer; keys: InitialKeys } | null = null;
  const crypto: CryptoPiece[] = [];
  for (let packets = 0; packets < PACKETS_PER_DATAGRAM_MAX && at < bytes.length; packets++) {
    const packet = readLongHeader(bytes, at);
    if (first === null) {
      // The first packet decides what the datagram is.
      if (!packet.ok) return packet;
      if (!packet.initial) return { ok: false, reason: 'not_initial' };
      const keys = clientInitialKeys(packet.version, packet.dcid);
      if (!keys) return { ok: false, reason: 'unsupported_version' };
      first = { version: packet.version, dcid: Buffer.from(packet.dcid), keys };
      const opened = openInitial(bytes, at, packet, keys);
      if (!opened.ok) return opened;
      if (!readFrames(opened.payload, crypto)) return { ok: false, reason: 'malformed' };
    } else {
      // Coalesced packets: further Initials to the same DCID are read, anything else skipped.
      if (!packet.ok) break;
      if (packet.initial && packet.version === first.version && first.dcid.equals(packet.dcid)) {
        const opened = openInitial(bytes, at, packet, first.keys);
        if (opened.ok) readFrames(opened.payload, crypto);
      }
    }
    at = packet.end;
  }
  if (first === null) return { ok: false, reason: 'not_initial' };
  return { ok: true, version: first.version, dcid: first.dcid, crypto };
}

type LongHeader =
  | {
      ok: true;
      version: number;
      initial: boolean;
      dcid: Uint8Array;
      /** Where the (protected) packet number starts. */
      pnOffset: number;
      /** Where the packet ends: its Length counted from pnOffset. */
      end: number;
    }
  | { ok: false; reason: QuicSkipReason };

/** The long header at `at` (RFC 9000 17.2), up to its packet number; the packet's end from its Length. */
function readLongHeader(bytes: Uint8Array, at: number): LongHeader {
  const firstByte = bytes[at] as number;
  if ((firstByte & 0x80) === 0) return { ok: false, reason: 'not_initial' }; // a short header: the rest is 1-RTT
  if (at + 6 > bytes.length) return { ok: false, reason: 'malformed' };
  const version = (((bytes[at + 1] as number) << 24) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 8) | (bytes[at + 4] as number)) >>> 0;
  const params = VERSIONS.get(version);
  if (!params) return { ok: false, reason: version === 0 ? 'not_initial' : 'unsupported_version' };
  const type = (firstByte >> 4) & 0x03;
  if (type === params.retryType) return { ok: false, reason: 'not_initial' };
  let cursor = at + 5;
  const dcidLength = bytes[cursor++] as number;
  if (dcidLength > CID_MAX || cursor + dcidLength >= bytes.length) return { ok: false, reason: 'malformed' };
  const dcid = bytes.subarray(cursor, cursor + dcidLength);
  cursor += dcidLength;
  const scidLength = bytes[cursor++] as number;
  if (scidLength > CID_MAX || cursor + scidLength > bytes.length) return { ok: false, reason: 'malformed' };
  cursor += scidLength;
  const initial = type === params.initialType;
  if (initial) {
    const token = varint(bytes, cursor, bytes.length);
    if (!token || token[1] + token[0] > bytes.length) return { ok: false, reason: 'malformed' };
    cursor = token[1] + token[0];
  }
  const length = varint(bytes, cursor, bytes.length);
  if (!length) return { ok: false, reason: 'malformed' };
  const pnOffset = length[1];
  const end = pnOffset + length[0];
  if (end > bytes.length) return { ok: false, reason: 'truncated' };
  return { ok: true, version, initial, dcid, pnOffset, end };
}

/** Removes header protection and opens the payload of the Initial at `start`. */
function openInitial(
  bytes: Uint8Array,
  start: number,
  header: { pnOffset: number; end: number },
  keys: InitialKeys,
): { ok: true; payload: Buffer } | { ok: false; reason: QuicSkipReason } {
  const { pnOffset, end } = header;
  const sampleAt = pnOffset + 4;
  // The smallest packet: a 1-byte packet number and enough payload for a sample after a 4-byte one (RFC 9001 5.4.2).
  if (sampleAt + HP_SAMPLE > end) return { ok: false, reason: 'malformed' };
  const mask = headerProtectionMask(keys.hp, bytes.subarray(sampleAt, sampleAt + HP_SAMPLE));
  const firstByte = (bytes[start] as number) ^ ((mask[0] as number) & 0x0f);
  const pnLength = (firstByte & 0x03) + 1;
  const aad = Buffer.from(bytes.subarray(start, pnOffset + pnLength));
  aad[0] = firstByte;
  let packetNumber = 0;
  for (let i = 0; i < pnLength; i++) {
    const at = pnOffset - start + i;
    aad[at] = (aad[at] as number) ^ (mask[1 + i] as number);
    packetNumber = packetNumber * 256 + (aad[at] as number);
  }
  const payloadAt = pnOffset + pnLength;
  if (end - payloadAt < AEAD_TAG) return { ok: false, reason: 'malformed' };
  // The packet number (at most 4 bytes here) is XORed into the IV's end (RFC 9001 5.3).
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i] = (nonce[11 - i] as number) ^ ((packetNumber / 2 ** (8 * i)) & 0xff);
  try {
    const decipher = createDecipheriv('aes-128-gcm', keys.key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(end - AEAD_TAG, end));
    const payload = Buffer.concat([decipher.update(bytes.subarray(payloadAt, end - AEAD_TAG)), decipher.final()]);
    return { ok: true, payload };
  } catch {
    return { ok: false, reason: 'decrypt_failed' };
  }
}

/**
 * Walks the frames of an Initial's payload and collects its CRYPTO data.
 * A frame an Initial may not carry (or CONNECTION_CLOSE) ends the walk
 * (RFC 9000 12.4 makes it a connection error); false when a frame runs past
 * the payload.
 */
function readFrames(payload: Buffer, crypto: CryptoPiece[]): boolean {
  let at = 0;
  const end = payload.length;
  while (at < end) {
    const type = payload[at] as number;
    at++;
    switch (type) {
      case FRAME_PADDING:
      case FRAME_PING:
        continue;
      case FRAME_ACK:
      case FRAME_ACK_ECN: {
        // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range; then the ranges; then the ECN counts.
        const fields: number[] = [];
        for (let i = 0; i < 3; i++) {
          const field = varint(payload, at, end);
          if (!field) return false;
          fields.push(field[0]);
          at = field[1];
        }
        const rangeCount = fields[2] as number;
        // Each range is two varints of at least one byte: a count past that is malformed, not a long loop.
        const more = 1 + 2 * rangeCount + (type === FRAME_ACK_ECN ? 3 : 0);
        if (more > end - at) return false;
        for (let i = 0; i < more; i++) {
          const field = varint(payload, at, end);
          if (!field) return false;
          at = field[1];
        }
        continue;
      }
      case FRAME_CRYPTO: {
        const offset = varint(payload, at, end);
        if (!offset) return false;
        const length = varint(payload, offset[1], end);
        if (!length || length[1] + length[0] > end) return false;
        crypto.push({ offset: offset[0], data: payload.subarray(length[1], length[1] + length[0]) });
        at = length[1] + length[0];
        continue;
      }
      default:
        return true;
    }
  }
  return true;
}

export interface QuicHelloOptions {
  /** Bytes of one ClientHello (its handshake header included): a post-quantum hello is about 1.9 KB; more than this is `too_large`. @default 16384 */
  maxHelloBytes?: number;
  /** ClientHellos waiting for their rest at once; the least recently active is dropped first (`evicted`). @default 256 */
  maxPending?: number;
  /** Separate pieces of CRYPTO data one hello may wait in (Chrome scatters its hello in a few dozen at most). @default 64 */
  maxPieces?: number;
  /** A waiting hello quiet this long (kernel time) is dropped (`expired`): a client resends its first flight within about a second. @default 3 s */
  maxIdleNs?: number;
  /** Hellos already read that are remembered, so their resent datagrams are not read twice. @default 4096 */
  maxDone?: number;
}

export interface QuicHelloStats {
  /** Datagrams handed in. */
  datagrams: number;
  /** ClientHellos read whole (each gives one result; a CRYPTO stream that starts with another message gives `not_client_hello` and is not counted here). */
  hellos: number;
  /** Of those, the ones gathered from more than one datagram. */
  reassembled: number;
  /** Datagrams of a hello already read (resent, or later Initials of its connection): ignored. */
  repeats: number;
  /** Datagrams whose Initials opened but held no CRYPTO data (ACK, PING, PADDING only). */
  withoutCrypto: number;
  /** ClientHellos that were never whole, by why they were dropped. */
  dropped: Partial<Record<QuicDropReason, number>>;
  /** Hellos waiting now. */
  pending: number;
  /** Bytes they hold. */
  pendingBytes: number;
}

interface Pending {
  conversation: string;
  /** The CRYPTO stream from offset 0, with holes. */
  bytes: Buffer;
  /** Byte ranges of `bytes` received, [start, end), sorted and merged. */
  pieces: Array<[number, number]>;
  lastNs: number;
  datagrams: number;
}

const SWEEP_EVERY_NS = 1e9;
const HANDSHAKE_HEADER = 4;
const HANDSHAKE_CLIENT_HELLO = 0x01;

/**
 * Puts ClientHellos back together from the Initial packets of QUIC
 * conversations, each keyed by the caller's conversation key and the DCID.
 */
export class QuicHelloAssembler {
  readonly #stats = { datagrams: 0, hellos: 0, reassembled: 0, repeats: 0, withoutCrypto: 0, dropped: {} as Partial<Record<QuicDropReason, number>> };
  private readonly maxHelloBytes: number;
  private readonly maxPending: number;
  private readonly maxPieces: number;
  private readonly maxIdleNs: number;
  private readonly maxDone: number;
  /** Insertion order is activity order. */
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  /** (conversation, DCID) keys whose hello was read or given up on. */
  private readonly done = new Map<string, true>();
  /** Conversations with a hello read: their Initials that do not open are the connection's later ones. */
  private readonly doneConversations = new Map<string, true>();
  private lastSweepNs = 0;

  constructor(options: QuicHelloOptions = {}) {
    this.maxHelloBytes = options.maxHelloBytes ?? 16_384;
    this.maxPending = options.maxPending ?? 256;
    this.maxPieces = options.maxPieces ?? 64;
    this.maxIdleNs = options.maxIdleNs ?? 3e9;
    this.maxDone = options.maxDone ?? 4096;
  }

  get stats(): QuicHelloStats {
    return { ...this.#stats, dropped: { ...this.#stats.dropped }, pending: this.pending.size, pendingBytes: this.pendingBytes };
  }

  /**
   * One datagram a client sent in `conversation` (the caller's key: the
   * socket and the addresses), at kernel time `nowNs`. Returns the result
   * once a ClientHello is whole, the reason when the datagram gives none,
   * or null while the hello waits for its rest (or was read already).
   */
  add(conversation: string, datagram: Uint8Array, nowNs: number): QuicHelloParse | null {
    this.#stats.datagrams++;
    if (nowNs - this.lastSweepNs >= SWEEP_EVERY_NS) this.sweep(nowNs);
    const read = readInitials(datagram);
    if (!read.ok) {
      if (read.reason === 'decrypt_failed' && this.doneConversations.has(conversation)) {
        this.#stats.repeats++;
        return null;
      }
      return read;
    }
    const key = `${conversation}|${read.dcid.toString('hex')}`;
    if (this.done.has(key)) {
      this.#stats.repeats++;
      return null;
    }
    if (read.crypto.length === 0) {
      this.#stats.withoutCrypto++;
      return null;
    }
    let entry = this.pending.get(key);
    if (entry) {
      this.pending.delete(key);
      entry.lastNs = nowNs;
      entry.datagrams++;
    } else {
      entry = { conversation, bytes: Buffer.alloc(0), pieces: [], lastNs: nowNs, datagrams: 1 };
    }
    const failure = this.addCrypto(entry, read.crypto);
    if (failure) return this.finishEntry(key, entry, { ok: false, reason: failure });
    const hello = this.wholeHello(entry);
    if (hello === 'too_large') return this.finishEntry(key, entry, { ok: false, reason: 'too_large' });
    if (hello) {
      if (hello[0] === HANDSHAKE_CLIENT_HELLO) this.#stats.hellos++;
      if (hello[0] === HANDSHAKE_CLIENT_HELLO && entry.datagrams > 1) this.#stats.reassembled++;
      return this.finishEntry(key, entry, parseClientHelloMessage(hello));
    }
    this.makeRoom();
    this.pending.set(key, entry);
    return null;
  }

  /** The run ended: hellos still waiting are counted `incomplete`. */
  finish(): void {
    for (const [key, entry] of this.pending) this.drop(key, entry, 'incomplete');
  }

  private addCrypto(entry: Pending, pieces: CryptoPiece[]): QuicSkipReason | null {
    for (const { offset, data } of pieces) {
      if (data.length === 0) continue;
      const end = offset + data.length;
      if (end > this.maxHelloBytes) return 'too_large';
      if (end > entry.bytes.length) {
        const grown = Buffer.alloc(Math.min(this.maxHelloBytes, Math.max(end, entry.bytes.length * 2)));
        entry.bytes.copy(grown);
        this.pendingBytes += grown.length - entry.bytes.length;
        entry.bytes = grown;
      }
      data.copy(entry.bytes, offset);
      entry.pieces = mergeRange(entry.pieces, offset, end);
      if (entry.pieces.length > this.maxPieces) return 'too_fragmented';
    }
    return null;
  }

  /** The hello's bytes when they are all there, 'too_large' when it declares more than the bound, else null. */
  private wholeHello(entry: Pending): Buffer | 'too_large' | null {
    const head = entry.pieces[0];
    if (!head || head[0] !== 0) return null;
    // Not a ClientHello: the TLS parser says so as soon as it sees the type.
    if (entry.bytes[0] !== HANDSHAKE_CLIENT_HELLO) return entry.bytes.subarray(0, head[1]);
    if (head[1] < HANDSHAKE_HEADER) return null;
    const total = HANDSHAKE_HEADER + entry.bytes.readUIntBE(1, 3);
    if (total > this.maxHelloBytes) return 'too_large';
    return head[1] >= total ? entry.bytes.subarray(0, total) : null;
  }

  private finishEntry(key: string, entry: Pending, result: QuicHelloParse): QuicHelloParse {
    this.pendingBytes -= entry.bytes.length;
    this.remember(this.done, key);
    this.remember(this.doneConversations, entry.conversation);
    return result;
  }

  private remember(set: Map<string, true>, key: string): void {
    set.delete(key);
    set.set(key, true);
    if (set.size > this.maxDone) set.delete(set.keys().next().value as string);
  }

  private makeRoom(): void {
    while (this.pending.size >= this.maxPending) {
      const [oldestKey, oldest] = this.pending.entries().next().value as [string, Pending];
      this.drop(oldestKey, oldest, 'evicted');
    }
  }

  private drop(key: string, entry: Pending, reason: QuicDropReason): void {
    this.#stats.dropped[reason] = (this.#stats.dropped[reason] ?? 0) + 1;
    this.pendingBytes -= entry.bytes.length;
    this.pending.delete(key);
  }

  private sweep(nowNs: number): void {
    this.lastSweepNs = nowNs;
    for (const [key, entry] of this.pending) {
      if (nowNs - entry.lastNs < this.maxIdleNs) break; // the rest are more recent
      this.drop(key, entry, 'expired');
    }
  }
}

/** `ranges` (sorted, disjoint, not touching) with [start, end) added, merged. */
function mergeRange(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let merged: [number, number] = [start, end];
  let placed = false;
  for (const range of ranges) {
    if (range[1] < merged[0]) out.push(range);
    else if (range[0] > merged[1]) {
      if (!placed) {
        out.push(merged);
        placed = true;
      }
      out.push(range);
    } else merged = [Math.min(range[0], merged[0]), Math.max(range[1], merged[1])];
  }
  if (!placed) out.push(merged);
  return out;
}
