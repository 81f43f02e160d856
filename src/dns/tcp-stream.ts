/**
 * DNS over TCP (RFC 7766): the kernel copies each TCP segment from port 53
 * with its sequence number (bpf/dns.bpf.h); this stage, between the reorder
 * buffer and the correlator, puts each stream's bytes back in order and cuts
 * them into the length-prefixed messages (RFC 1035 4.2.2) they carry. It
 * is a part of the wire stage (src/wire/stage.ts), which parses each whole
 * message as it parses a UDP answer.
 *
 * What the wire does to a stream, and what happens here:
 * - duplicates (lo is seen by both XDP ingress and TC egress; a segment can
 *   be retransmitted): bytes before the stream's in-order end are dropped,
 *   counted in `duplicates`;
 * - reordering: a segment ahead of the in-order end waits, within the
 *   stream's byte bound, for the bytes before it;
 * - several messages in one segment, one message over several: both;
 * - a segment the kernel cut (longer than HF_DNS_CAPTURE), a stream over its
 *   byte bound, a stream evicted (too many streams) or idle too long, or one
 *   that ends mid-message: its unframed bytes are dropped and counted in
 *   `skipped` by reason. A stream that lost bytes it cannot frame past is
 *   ignored until it ends.
 *
 * A stream starts at the byte after its SYN when the SYN was seen, else at
 * the first segment seen (hostflow started during the connection: a wrong
 * guess makes messages the wire stage's parser rejects and counts).
 *
 * Pure and bounded: no timers, time comes from the events themselves.
 */
import type { DnsSegmentEvent, Tuple } from '../kernel/decode.js';

/** One whole DNS message a TCP stream carried, with the segment that completed it. */
export interface DnsTcpMessage {
  /** The segment whose bytes completed the message: its time, where it was seen. */
  segment: DnsSegmentEvent;
  message: Buffer;
}

export interface DnsTcpOptions {
  /** Bytes one stream may hold while a message is incomplete: the largest message (65535) with its 2-byte prefix, and segments waiting ahead of it. @default 65537 */
  maxStreamBytes?: number;
  /** Streams tracked at once; the least recently active is dropped first. @default 1024 */
  maxStreams?: number;
  /** A stream quiet this long (kernel time) is dropped; DNS clients close idle connections far sooner (RFC 7766: seconds). @default 10 s */
  maxIdleNs?: number;
  /** How long an ended stream is remembered, so the second copy of its last segments reads as a duplicate. @default 2 s */
  lingerNs?: number;
}

export type DnsTcpSkipReason =
  /** A segment longer than the kernel copies: the rest of the stream cannot be framed. */
  | 'capture_cut'
  /** A segment too far ahead of the stream's in-order end, or a stream holding more than maxStreamBytes. */
  | 'too_large'
  /** A stream with bytes dropped to make room for a newer one (maxStreams). */
  | 'streams_full'
  /** A stream with bytes quiet for maxIdleNs. */
  | 'expired'
  /** A stream that ended (FIN, RST, end of the run) in the middle of a message. */
  | 'incomplete'
  /** A message length of 0. */
  | 'empty_message'
  /** Payload after the end of a stream that already ended. */
  | 'after_close';

export interface DnsTcpStats {
  /** TCP segments from port 53 seen (copies included). */
  segments: number;
  /** Whole messages emitted. */
  messages: number;
  /** Segments (or their leading parts) already seen. */
  duplicates: number;
  skipped: Partial<Record<DnsTcpSkipReason, number>>;
}

interface Stream {
  /** Sequence number of buffer[0]: the next byte to frame. */
  start: number;
  /** Bytes from `start` on, in order, not yet framed. */
  buffer: Buffer;
  /** Segments ahead of the in-order end, by sequence number. */
  ahead: Map<number, Buffer>;
  aheadBytes: number;
  lastNs: number;
  /** Lost bytes it cannot frame past: ignore its data until it ends. */
  broken: boolean;
  /** FIN or RST seen: kept only to recognize copies. */
  ended: boolean;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const LENGTH_PREFIX = 2;
const SWEEP_EVERY_NS = 1e9;

/** The signed 32-bit distance from b to a in sequence space (RFC 9293 3.4). */
const seqDiff = (a: number, b: number): number => (a - b) | 0;
const seqAdd = (a: number, n: number): number => (a + n) >>> 0;

/** One key for both directions' copies and every interface: the stream is the 4-tuple. */
function streamKey(tuple: Tuple): string {
  return `${tuple.saddr}|${tuple.sport}|${tuple.daddr}|${tuple.dport}`;
}

export class DnsTcpReassembler {
  readonly stats: DnsTcpStats = { segments: 0, messages: 0, duplicates: 0, skipped: {} };
  private readonly maxStreamBytes: number;
  private readonly maxStreams: number;
  private readonly maxIdleNs: number;
  private readonly lingerNs: number;
  /** Insertion order is activity order: every segment moves its stream to the end. */
  private readonly streams = new Map<string, Stream>();
  private lastSweepNs = 0;

  constructor(options: DnsTcpOptions = {}) {
    this.maxStreamBytes = options.maxStreamBytes ?? 65_537;
    this.maxStreams = options.maxStreams ?? 1024;
    this.maxIdleNs = options.maxIdleNs ?? 10e9;
    this.lingerNs = options.lingerNs ?? 2e9;
  }

  /** Streams tracked now (ended ones that linger included). */
  get size(): number {
    return this.streams.size;
  }

  /** Takes one segment; emits the whole messages it completes, in stream order. */
  handle(segment: DnsSegmentEvent, emit: (message: DnsTcpMessage) => void): void {
    this.stats.segments++;
    if (segment.tsNs - this.lastSweepNs >= SWEEP_EVERY_NS) this.sweep(segment.tsNs);
    this.onSegment(segment, segment.seq, segment.flags, emit);
  }

  /** The run ended: streams in the middle of a message are counted. */
  finish(): void {
    for (const stream of this.streams.values()) this.drop(stream, 'incomplete');
    this.streams.clear();
  }

  private skip(reason: DnsTcpSkipReason): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
  }

  /** Forgets a stream's bytes, counting them under `reason` when there were any. */
  private drop(stream: Stream, reason: DnsTcpSkipReason): void {
    if (!stream.ended && !stream.broken && (stream.buffer.length > 0 || stream.aheadBytes > 0)) this.skip(reason);
    stream.buffer = Buffer.alloc(0);
    stream.ahead.clear();
    stream.aheadBytes = 0;
  }

  private sweep(nowNs: number): void {
    this.lastSweepNs = nowNs;
    for (const [key, stream] of this.streams) {
      const limit = stream.ended ? this.lingerNs : this.maxIdleNs;
      if (nowNs - stream.lastNs < Math.min(this.lingerNs, this.maxIdleNs)) break; // the rest are more recent
      if (nowNs - stream.lastNs < limit) continue;
      this.drop(stream, 'expired');
      this.streams.delete(key);
    }
  }

  private newStream(key: string, start: number, nowNs: number): Stream {
    while (this.streams.size >= this.maxStreams) {
      const [oldestKey, oldest] = this.streams.entries().next().value as [string, Stream];
      this.drop(oldest, 'streams_full');
      this.streams.delete(oldestKey);
    }
    const stream: Stream = { start, buffer: Buffer.alloc(0), ahead: new Map(), aheadBytes: 0, lastNs: nowNs, broken: false, ended: false };
    this.streams.set(key, stream);
    return stream;
  }

  private onSegment(event: DnsSegmentEvent, rawSeq: number, flags: number, emit: (message: DnsTcpMessage) => void): void {
    const key = streamKey(event.tuple);
    let stream = this.streams.get(key);
    // The SYN takes one sequence number; data (TCP Fast Open) follows it.
    const seq = flags & TCP_SYN ? seqAdd(rawSeq, 1) : rawSeq;
    const payload = event.payload;
    if (flags & TCP_SYN) {
      if (stream && !stream.ended && seqDiff(seq, stream.start) <= 0) {
        // The SYN's other copy (lo), or a late one: the stream goes on.
        this.stats.duplicates++;
      } else {
        // A new connection (or the tuple reused): start over.
        if (stream) this.drop(stream, 'incomplete');
        this.streams.delete(key);
        stream = this.newStream(key, seq, event.tsNs);
      }
    }
    if (!stream) {
      if (payload.length === 0) return; // FIN or RST of a stream never seen
      stream = this.newStream(key, seq, event.tsNs);
    } else {
      this.streams.delete(key);
      this.streams.set(key, stream);
      stream.lastNs = event.tsNs;
    }

    if (stream.ended) {
      if (payload.length > 0 && seqDiff(seqAdd(seq, payload.length), stream.start) <= 0) this.stats.duplicates++;
      else if (payload.length > 0) this.skip('after_close');
      return;
    }
    if (payload.length > 0 && !stream.broken) {
      const cut = payload.length < event.payloadLength;
      const added = this.add(stream, seq, payload, cut);
      this.frame(stream, event, emit);
      // In order up to the cut: the bytes after it are lost, and with them the framing.
      if (added && cut) this.breakStream(stream, 'capture_cut');
      else if (stream.buffer.length + stream.aheadBytes > this.maxStreamBytes) this.breakStream(stream, 'too_large');
    }
    if (flags & (TCP_FIN | TCP_RST)) {
      // Remember where the stream ended, so copies of its segments still read as duplicates.
      const end = seqAdd(stream.start, stream.buffer.length);
      this.drop(stream, 'incomplete');
      stream.start = end;
      stream.ended = true;
    }
  }

  private breakStream(stream: Stream, reason: DnsTcpSkipReason): void {
    this.skip(reason);
    stream.broken = true;
    stream.buffer = Buffer.alloc(0);
    stream.ahead.clear();
    stream.aheadBytes = 0;
  }

  /**
   * Adds a segment's bytes: in order (true), or ahead to wait, or already
   * seen (false).
   */
  private add(stream: Stream, seq: number, payload: Buffer, cut: boolean): boolean {
    const end = seqAdd(stream.start, stream.buffer.length);
    const rel = seqDiff(seq, end);
    if (rel + payload.length <= 0) {
      this.stats.duplicates++;
      return false;
    }
    if (rel > 0) {
      if (cut) {
        // A hole that can never be filled would follow it: give up now.
        this.breakStream(stream, 'capture_cut');
      } else if (stream.ahead.has(seq)) {
        this.stats.duplicates++;
      } else if (rel + payload.length + stream.buffer.length > this.maxStreamBytes) {
        this.breakStream(stream, 'too_large');
      } else {
        stream.ahead.set(seq, payload);
        stream.aheadBytes += payload.length;
      }
      return false;
    }
    stream.buffer = Buffer.concat([stream.buffer, payload.subarray(-rel)]);
    this.takeAhead(stream);
    return true;
  }

  /** Moves waiting segments that the in-order end has reached into the buffer. */
  private takeAhead(stream: Stream): void {
    let moved = true;
    while (moved && stream.ahead.size > 0) {
      moved = false;
      for (const [seq, bytes] of stream.ahead) {
        const rel = seqDiff(seq, seqAdd(stream.start, stream.buffer.length));
        if (rel > 0) continue;
        stream.ahead.delete(seq);
        stream.aheadBytes -= bytes.length;
        if (rel + bytes.length > 0) stream.buffer = Buffer.concat([stream.buffer, bytes.subarray(-rel)]);
        else this.stats.duplicates++;
        moved = true;
      }
    }
  }

  /** Emits every whole message at the front of the buffer. */
  private frame(stream: Stream, segment: DnsSegmentEvent, emit: (message: DnsTcpMessage) => void): void {
    const { buffer } = stream;
    let offset = 0;
    while (buffer.length - offset >= LENGTH_PREFIX) {
      const length = buffer.readUInt16BE(offset);
      if (length === 0) {
        this.skip('empty_message');
        offset += LENGTH_PREFIX;
        continue;
      }
      if (buffer.length - offset - LENGTH_PREFIX < length) break;
      const message = Buffer.from(buffer.subarray(offset + LENGTH_PREFIX, offset + LENGTH_PREFIX + length));
      offset += LENGTH_PREFIX + length;
      this.stats.messages++;
      emit({ segment, message });
    }
    if (offset > 0) {
      // A copy of the rest, so the framed messages' memory is released.
      stream.buffer = Buffer.from(buffer.subarray(offset));
      stream.start = seqAdd(stream.start, offset);
    }
  }
}
