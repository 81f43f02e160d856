/**
 * Hostile input for the QUIC Initial reader and its assembler: random
 * bytes, mutated and cut real Initials, and well-sealed packets with
 * random frames and broken ClientHellos inside (which only a sender with
 * the keys, i.e. anyone, can make). Seeded, so a failure repeats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { QUIC_V1, QUIC_V2, QuicHelloAssembler, readInitials, type QuicHelloParse } from '../../../src/names/quic-initial.js';
import { RFC9001_CLIENT_INITIAL, RFC9369_CLIENT_INITIAL } from './quic-initials.js';
import {
  clientHelloMessage,
  cryptoFrame,
  encryptedClientHello,
  padded,
  postQuantumKeyShare,
  sealInitial,
  serverName,
  splitHello,
  varint,
} from './quic-packets.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS = new Set([
  'not_initial',
  'unsupported_version',
  'malformed',
  'truncated',
  'decrypt_failed',
  'too_large',
  'too_fragmented',
  'not_client_hello',
  'no_sni',
  'invalid_name',
  'encrypted_client_hello',
]);
const HOSTNAME = /^[a-z0-9_.-]{1,253}$/;
/**
 * Far above a real call (about 0.1 ms; a garbage collection can stop one
 * for tens of ms): a loop over an attacker-chosen count (an ACK's half a
 * billion ranges) would take seconds.
 */
const CALL_BUDGET_MS = 250;
/** And on average, over all the calls. */
const MEAN_BUDGET_MS = 2;

const BOUNDS = { maxPending: 8, maxHelloBytes: 4096, maxPieces: 16, maxIdleNs: 2e9 };

function checkResult(result: QuicHelloParse | null, context: string): void {
  if (result === null) return;
  if (result.ok) assert.match(result.name, HOSTNAME, context);
  else assert.ok(REASONS.has(result.reason), `${result.reason} (${context})`);
}

test('property: random bytes, mutated and cut Initials, and sealed junk never throw, stay in budget and in bounds', () => {
  const random = prng(0x9001);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const pq = clientHelloMessage([postQuantumKeyShare(), serverName('pq.example.com')]);
  const ech = clientHelloMessage([encryptedClientHello(), serverName('public.example')]);
  const valid = [
    Buffer.from(RFC9001_CLIENT_INITIAL, 'hex'),
    Buffer.from(RFC9369_CLIENT_INITIAL, 'hex'),
    ...splitHello(pq),
    ...splitHello(ech, { version: QUIC_V2 }),
  ];

  const generators: Array<[string, () => Buffer]> = [
    ['random bytes', () => bytes(int(2049))],
    [
      'random bytes behind a v1/v2 Initial header',
      () => {
        const out = bytes(int(2049) + 7);
        out[0] = 0xc0 | int(4) | (int(2) << 4);
        out.writeUInt32BE(int(2) ? QUIC_V1 : QUIC_V2, 1);
        out[5] = int(24);
        return out;
      },
    ],
    [
      'a valid Initial with bytes flipped',
      () => {
        const out = Buffer.from(valid[int(valid.length)] as Buffer);
        for (let flips = 1 + int(4); flips > 0; flips--) out[int(Math.min(out.length, int(2) ? 40 : out.length))] = int(256);
        return out;
      },
    ],
    ['a valid Initial cut', () => (valid[int(valid.length)] as Buffer).subarray(0, int(1300))],
    ['a valid Initial with junk after it', () => Buffer.concat([valid[int(valid.length)] as Buffer, bytes(int(800))])],
    [
      'sealed random frames',
      () => sealInitial({ version: int(2) ? QUIC_V1 : QUIC_V2, dcid: bytes(int(21)), packetNumber: int(1000), payload: bytes(20 + int(1180)) }),
    ],
    [
      'sealed frames with hostile counts and offsets',
      () => {
        const frames = [
          Buffer.from([0x02, ...varint(5), 0, ...varint(int(1 << 29)), 0]), // an ACK claiming half a billion ranges
          Buffer.from([0x06, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 1, 2, 3, 4, 5]), // a CRYPTO offset near 2^62
          Buffer.from([0x06, 0x00, 0x7f, 0xff, 1]), // a CRYPTO length past the payload
          cryptoFrame(int(5000), bytes(int(300))),
          Buffer.from([0x1c, 0, 0, 0]),
          Buffer.from([int(256)]),
        ];
        const payload = Buffer.concat(Array.from({ length: 1 + int(6) }, () => frames[int(frames.length)] as Buffer));
        return sealInitial({ dcid: bytes(8), packetNumber: 0, payload: padded(payload, int(2) ? 1100 : 30) });
      },
    ],
    [
      'a sealed ClientHello with broken bytes, in many pieces',
      () => {
        const hello = Buffer.from(int(2) ? pq : ech);
        for (let flips = int(6); flips > 0; flips--) hello[int(hello.length)] = int(256);
        const pieces: Buffer[] = [];
        for (let at = 0; at < hello.length;) {
          const size = 1 + int(400);
          pieces.push(cryptoFrame(at, hello.subarray(at, at + size)));
          at += size;
        }
        pieces.sort(() => random() - 0.5);
        return sealInitial({
          dcid: Buffer.from('0102030405060708', 'hex'),
          packetNumber: int(4),
          payload: Buffer.concat(pieces.slice(0, 1 + int(pieces.length))),
        });
      },
    ],
  ];

  const assembler = new QuicHelloAssembler(BOUNDS);
  let slowest = 0;
  let total = 0;
  let nowNs = 0;
  const seen = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const [kind, generate] = generators[i % generators.length] as [string, () => Buffer];
    const datagram = generate();
    nowNs += int(2) ? 1e6 : int(1e9);
    const started = performance.now();
    let result: QuicHelloParse | null = null;
    assert.doesNotThrow(() => {
      result = assembler.add(`conv${int(12)}`, datagram, nowNs);
      readInitials(datagram);
    }, `${kind} #${i}`);
    const took = performance.now() - started;
    slowest = Math.max(slowest, took);
    total += took;
    checkResult(result, `${kind} #${i}`);
    const label = result === null ? 'null' : (result as QuicHelloParse).ok ? 'named' : (result as { reason: string }).reason;
    seen.set(label, (seen.get(label) ?? 0) + 1);
    const stats = assembler.stats;
    assert.ok(stats.pending <= BOUNDS.maxPending, `pending ${stats.pending}`);
    assert.ok(stats.pendingBytes >= 0 && stats.pendingBytes <= BOUNDS.maxPending * BOUNDS.maxHelloBytes, `pendingBytes ${stats.pendingBytes}`);
  }
  assembler.finish();
  assert.equal(assembler.stats.pending, 0);
  assert.equal(assembler.stats.pendingBytes, 0);
  assert.ok(slowest < CALL_BUDGET_MS, `slowest call ${slowest.toFixed(2)} ms`);
  assert.ok(total / 6000 < MEAN_BUDGET_MS, `mean call ${(total / 6000).toFixed(3)} ms`);
  // The generators reach deep: names, parse failures inside sealed packets, and waiting hellos all happen.
  for (const outcome of ['named', 'null', 'decrypt_failed', 'malformed', 'not_initial', 'truncated'])
    assert.ok(seen.has(outcome), `${outcome} never seen: ${JSON.stringify([...seen])}`);
});
