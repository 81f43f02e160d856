import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientInitialKeys,
  clientInitialSecret,
  QUIC_V1,
  QUIC_V2,
  QuicHelloAssembler,
  readInitials,
  type QuicHelloParse,
} from '../../../src/names/quic-initial.js';
import { RFC9001_CLIENT_INITIAL, RFC9369_CLIENT_INITIAL, RFC_DCID } from './quic-initials.js';
import {
  clientHelloMessage,
  cryptoFrame,
  encryptedClientHello,
  padded,
  postQuantumKeyShare,
  sealInitial,
  serverName,
  splitHello,
  TEST_DCID,
} from './quic-packets.js';

const hex = (bytes: Buffer | null | undefined): string | undefined => bytes?.toString('hex');

function nameOf(result: QuicHelloParse | null): string {
  assert.ok(result?.ok, JSON.stringify(result));
  return result.name;
}

test('RFC 9001 A.1: the client Initial secret and keys of DCID 8394c8f03e515708 (QUIC v1)', () => {
  const dcid = Buffer.from(RFC_DCID, 'hex');
  assert.equal(hex(clientInitialSecret(QUIC_V1, dcid)), 'c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
  const keys = clientInitialKeys(QUIC_V1, dcid);
  assert.equal(hex(keys?.key), '1f369613dd76d5467730efcbe3b1a22d');
  assert.equal(hex(keys?.iv), 'fa044b2f42a3fd3b46fb255c');
  assert.equal(hex(keys?.hp), '9f50449e04a0e810283a1e9933adedd2');
});

test('RFC 9369 A.1: the client Initial secret and keys of the same DCID (QUIC v2)', () => {
  const dcid = Buffer.from(RFC_DCID, 'hex');
  assert.equal(hex(clientInitialSecret(QUIC_V2, dcid)), '14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b');
  const keys = clientInitialKeys(QUIC_V2, dcid);
  assert.equal(hex(keys?.key), '8b1a0bc121284290a29e0971b5cd045d');
  assert.equal(hex(keys?.iv), '91f73e2351d8fa91660e909f');
  assert.equal(hex(keys?.hp), '45b95e15235d6f45a6b19cbcb0294ba9');
  assert.equal(clientInitialKeys(0xff00_001d, dcid), null, 'a draft version has no keys here');
});

test('RFC 9001 A.2 and RFC 9369 A.2: the protected client Initials open to a ClientHello for example.com', () => {
  for (const [packet, version] of [
    [RFC9001_CLIENT_INITIAL, QUIC_V1],
    [RFC9369_CLIENT_INITIAL, QUIC_V2],
  ] as const) {
    const read = readInitials(Buffer.from(packet, 'hex'));
    assert.ok(read.ok, JSON.stringify(read));
    assert.equal(read.version, version);
    assert.equal(hex(read.dcid), RFC_DCID);
    assert.deepEqual(
      read.crypto.map((piece) => [piece.offset, piece.data.length]),
      [[0, 241]],
    );
    assert.equal(nameOf(new QuicHelloAssembler().add('conv', Buffer.from(packet, 'hex'), 1)), 'example.com');
  }
});

test("the test's own sealing gives RFC 9001 A.2's packet byte for byte, so packets it builds are real ones", () => {
  const read = readInitials(Buffer.from(RFC9001_CLIENT_INITIAL, 'hex'));
  assert.ok(read.ok);
  const hello = read.crypto[0]?.data;
  assert.ok(hello);
  const payload = padded(cryptoFrame(0, hello), 1162);
  assert.equal(payload.subarray(0, 4).toString('hex'), '060040f1');
  const sealed = sealInitial({ dcid: Buffer.from(RFC_DCID, 'hex'), packetNumber: 2, payload });
  assert.equal(sealed.toString('hex'), RFC9001_CLIENT_INITIAL);
  const sealedV2 = sealInitial({ version: QUIC_V2, dcid: Buffer.from(RFC_DCID, 'hex'), packetNumber: 2, payload });
  assert.equal(sealedV2.toString('hex'), RFC9369_CLIENT_INITIAL);
});

const PQ_HELLO = clientHelloMessage([postQuantumKeyShare(), serverName('pq.example.com'), { type: 43, data: [2, 3, 4] }]);

test('a ClientHello longer than a datagram, in two Initials of two datagrams, is read once the second comes', () => {
  assert.ok(PQ_HELLO.length > 1200, `${PQ_HELLO.length} bytes`);
  for (const version of [QUIC_V1, QUIC_V2]) {
    const [first, second] = splitHello(PQ_HELLO, { version });
    const assembler = new QuicHelloAssembler();
    assert.equal(assembler.add('conv', first, 1_000), null);
    assert.equal(assembler.stats.pending, 1);
    assert.equal(nameOf(assembler.add('conv', second, 2_000)), 'pq.example.com');
    assert.deepEqual(
      { ...assembler.stats, dropped: undefined },
      {
        datagrams: 2,
        hellos: 1,
        reassembled: 1,
        repeats: 0,
        withoutCrypto: 0,
        dropped: undefined,
        pending: 0,
        pendingBytes: 0,
      },
    );
  }
});

test('the two halves in the other order, or coalesced in one datagram, give the name too', () => {
  const [first, second] = splitHello(PQ_HELLO);
  const reversed = new QuicHelloAssembler();
  assert.equal(reversed.add('conv', second, 1), null);
  assert.equal(nameOf(reversed.add('conv', first, 2)), 'pq.example.com');

  const coalesced = new QuicHelloAssembler();
  assert.equal(nameOf(coalesced.add('conv', Buffer.concat([first, second]), 1)), 'pq.example.com');
  assert.equal(coalesced.stats.reassembled, 0, 'one datagram');
});

test('CRYPTO frames scattered between PING, PADDING and ACK frames, out of order and overlapping, as Chrome sends them', () => {
  const hello = clientHelloMessage([serverName('chaos.example'), { type: 21, data: new Array<number>(300).fill(0) }]);
  const frames = Buffer.concat([
    Buffer.from([0x01, 0x00, 0x00]),
    cryptoFrame(200, hello.subarray(200)),
    Buffer.from([0x02, 0x05, 0x00, 0x01, 0x00, 0x02, 0x01]), // ACK: largest 5, delay 0, 1 more range, first 0, gap 2, length 1
    cryptoFrame(0, hello.subarray(0, 120)),
    Buffer.from([0x03, 0x01, 0x00, 0x00, 0x00, 0x07, 0x08, 0x09]), // ACK with ECN counts
    cryptoFrame(100, hello.subarray(100, 210)),
  ]);
  const packet = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(frames, 1160) });
  assert.equal(nameOf(new QuicHelloAssembler().add('conv', packet, 1)), 'chaos.example');
});

test('other packets coalesced after the Initial are skipped', () => {
  const initial = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(cryptoFrame(0, clientHelloMessage([serverName('co.example')])), 400) });
  // A Handshake packet (type 0b10 in v1) with a Length, then a short-header packet.
  const handshake = Buffer.from([0xe0, 0, 0, 0, 1, 8, ...TEST_DCID, 0, 0x40, 24, ...new Array<number>(24).fill(0x33)]);
  const shortHeader = Buffer.from([0x40, ...TEST_DCID, ...new Array<number>(40).fill(0x44)]);
  assert.equal(nameOf(new QuicHelloAssembler().add('conv', Buffer.concat([initial, handshake, shortHeader]), 1)), 'co.example');
});

test('resent datagrams and the later Initials of a connection (new DCID: they do not open) are repeats, not failures', () => {
  const packet = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(cryptoFrame(0, clientHelloMessage([serverName('once.example')])), 1160) });
  // After the server's Initial the client sends to the server's chosen ID, still with the first DCID's keys.
  const later = Buffer.from(packet);
  later.fill(0x99, 6, 14);
  const assembler = new QuicHelloAssembler();
  assert.equal(nameOf(assembler.add('conv', packet, 1)), 'once.example');
  assert.equal(assembler.add('conv', packet, 2), null);
  assert.equal(assembler.add('conv', later, 3), null);
  assert.equal(assembler.stats.repeats, 2);
  assert.deepEqual(
    new QuicHelloAssembler().add('other', later, 1),
    { ok: false, reason: 'decrypt_failed' },
    'in a conversation without a hello it is a failure',
  );
});

test('an Initial with only ACK and PADDING waits for nothing and names nothing', () => {
  const ackOnly = sealInitial({ dcid: TEST_DCID, packetNumber: 3, payload: padded(Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00]), 1160) });
  const assembler = new QuicHelloAssembler();
  assert.equal(assembler.add('conv', ackOnly, 1), null);
  assert.equal(assembler.stats.withoutCrypto, 1);
  assert.equal(assembler.stats.pending, 0);
});

test('an ECH ClientHello in a QUIC Initial names nothing, and says its public name', () => {
  const hello = clientHelloMessage([serverName('public.example'), encryptedClientHello(), postQuantumKeyShare()]);
  const [first, second] = splitHello(hello);
  const assembler = new QuicHelloAssembler();
  assert.equal(assembler.add('conv', first, 1), null);
  assert.deepEqual(assembler.add('conv', second, 2), { ok: false, reason: 'encrypted_client_hello', publicName: 'public.example' });
});

test('datagrams that are not a v1/v2 client Initial say why', () => {
  const good = Buffer.from(RFC9001_CLIENT_INITIAL, 'hex');
  const at = (bytes: Buffer) => new QuicHelloAssembler().add('conv', bytes, 1);
  assert.deepEqual(at(Buffer.from([0x40, 1, 2, 3])), { ok: false, reason: 'not_initial' }, 'a short header');
  const draft = Buffer.from(good);
  draft.writeUInt32BE(0xff00_001d, 1);
  assert.deepEqual(at(draft), { ok: false, reason: 'unsupported_version' });
  const handshake = Buffer.from(good);
  handshake[0] = 0xe0;
  assert.deepEqual(at(handshake), { ok: false, reason: 'not_initial' }, 'a Handshake packet first');
  assert.deepEqual(at(good.subarray(0, 1100)), { ok: false, reason: 'truncated' }, 'the kernel cut it');
  const longCid = Buffer.from(good);
  longCid[5] = 21;
  assert.deepEqual(at(longCid), { ok: false, reason: 'malformed' }, 'a 21-byte DCID');
  const flipped = Buffer.from(good);
  flipped[500] = (flipped[500] as number) ^ 1;
  assert.deepEqual(at(flipped), { ok: false, reason: 'decrypt_failed' }, 'one bit changed');
  assert.deepEqual(at(Buffer.alloc(0)), { ok: false, reason: 'not_initial' });
  const notHello = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(cryptoFrame(0, Buffer.from([0x02, 0, 0, 4, 1, 2, 3, 4])), 1160) });
  assert.deepEqual(at(notHello), { ok: false, reason: 'not_client_hello' }, 'a ServerHello in CRYPTO');
});

test('bounds: a hello over maxHelloBytes, too many pieces, too many waiting, too long quiet, left at the end', () => {
  const big = new QuicHelloAssembler({ maxHelloBytes: 1024 });
  const [first] = splitHello(PQ_HELLO);
  assert.deepEqual(big.add('conv', first, 1), { ok: false, reason: 'too_large' }, 'declared length over the bound');
  const far = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(cryptoFrame(5000, Buffer.from([1, 2, 3])), 1160) });
  assert.deepEqual(new QuicHelloAssembler({ maxHelloBytes: 1024 }).add('conv', far, 1), { ok: false, reason: 'too_large' }, 'a frame past the bound');

  const scattered = Buffer.concat(Array.from({ length: 10 }, (_, i) => cryptoFrame(100 + i * 10, Buffer.from([i]))));
  const fragmented = sealInitial({ dcid: TEST_DCID, packetNumber: 0, payload: padded(scattered, 1160) });
  assert.deepEqual(new QuicHelloAssembler({ maxPieces: 4 }).add('conv', fragmented, 1), { ok: false, reason: 'too_fragmented' });

  const waiting = new QuicHelloAssembler({ maxPending: 2, maxIdleNs: 5e9 });
  for (const conv of ['a', 'b', 'c']) assert.equal(waiting.add(conv, first, 1), null);
  assert.equal(waiting.stats.pending, 2);
  assert.deepEqual(waiting.stats.dropped, { evicted: 1 });
  assert.deepEqual(waiting.add('x', Buffer.from([0]), 10e9), { ok: false, reason: 'not_initial' }, 'any later datagram sweeps');
  assert.deepEqual(waiting.stats.dropped, { evicted: 1, expired: 2 });
  assert.equal(waiting.stats.pendingBytes, 0);
  waiting.add('d', first, 11e9);
  waiting.finish();
  assert.deepEqual(waiting.stats.dropped, { evicted: 1, expired: 2, incomplete: 1 });
});
