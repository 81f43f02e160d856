import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { looksLikeClientHello, parseClientHello, parseClientHelloMessage, type ClientHelloParse } from '../../../src/names/tls-client-hello.js';
import { NODE_HELLO, OPENSSL_HELLO, OPENSSL_HELLO_NO_SNI } from './client-hellos.js';
import { clientHelloMessage, encryptedClientHello, serverName as serverNameExtension, tlsRecord } from './quic-packets.js';

const REASONS = ['not_client_hello', 'truncated', 'malformed', 'no_sni', 'invalid_name', 'encrypted_client_hello'];

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

interface Extension {
  type: number;
  data: number[];
}

function serverName(name: string, nameType = 0): Extension {
  const bytes = [...Buffer.from(name, 'latin1')];
  const entry = [nameType, ...u16(bytes.length), ...bytes];
  return { type: 0, data: [...u16(entry.length), ...entry] };
}

/** A ClientHello record with these extensions (TLS 1.3 shape: 32-byte session id, 3 suites). */
function clientHello(extensions: Extension[], options: { withExtensionsBlock?: boolean } = {}): Buffer {
  const ext = extensions.flatMap((e) => [...u16(e.type), ...u16(e.data.length), ...e.data]);
  const body = [
    0x03,
    0x03,
    ...new Array<number>(32).fill(0xaa),
    32,
    ...new Array<number>(32).fill(0xbb),
    ...u16(6),
    0x13,
    0x01,
    0x13,
    0x02,
    0x13,
    0x03,
    1,
    0,
    ...(options.withExtensionsBlock === false ? [] : [...u16(ext.length), ...ext]),
  ];
  const handshake = [0x01, ...u24(body.length), ...body];
  return Buffer.from([0x16, 0x03, 0x01, ...u16(handshake.length), ...handshake]);
}

function nameOf(result: ClientHelloParse): string {
  assert.ok(result.ok, JSON.stringify(result));
  return result.name;
}

test('real ClientHellos from openssl s_client and Node give their server name', () => {
  assert.equal(nameOf(parseClientHello(Buffer.from(OPENSSL_HELLO, 'hex'))), 'fixture.hostflow.test');
  assert.equal(nameOf(parseClientHello(Buffer.from(NODE_HELLO, 'hex'))), 'node.fixture.hostflow.test');
});

test('a ClientHello without server_name (openssl -noservername) is no_sni', () => {
  assert.deepEqual(parseClientHello(Buffer.from(OPENSSL_HELLO_NO_SNI, 'hex')), { ok: false, reason: 'no_sni' });
});

test('a real ClientHello cut anywhere before its name ends is truncated, and whole from there on', () => {
  const hello = Buffer.from(OPENSSL_HELLO, 'hex');
  const nameEnd = hello.indexOf(Buffer.from('fixture.hostflow.test')) + 'fixture.hostflow.test'.length;
  for (let cut = 6; cut <= hello.length; cut++) {
    const result = parseClientHello(hello.subarray(0, cut));
    if (cut < nameEnd) assert.deepEqual(result, { ok: false, reason: 'truncated' }, `cut at ${cut}`);
    else assert.equal(nameOf(result), 'fixture.hostflow.test', `cut at ${cut}`);
  }
});

test('the name after a post-quantum-sized key share is found when the capture holds it, truncated when it does not', () => {
  // X25519MLKEM768 key shares are 1216 bytes; browsers randomize extension order, so SNI may come last.
  const keyShare: Extension = { type: 51, data: new Array<number>(1220).fill(7) };
  const padding: Extension = { type: 21, data: new Array<number>(300).fill(0) };
  const hello = clientHello([keyShare, padding, serverName('pq.example.com')]);
  assert.ok(hello.length > 1500 && hello.length <= 2048, `${hello.length} bytes`);
  assert.equal(nameOf(parseClientHello(hello)), 'pq.example.com');
  assert.deepEqual(parseClientHello(hello.subarray(0, 1448)), { ok: false, reason: 'truncated' }, 'first segment of an MSS-1448 path');
});

test('names are lower-cased without a trailing dot; addresses and bad characters are invalid_name', () => {
  assert.equal(nameOf(parseClientHello(clientHello([serverName('WWW.Example.COM.')]))), 'www.example.com');
  for (const bad of ['10.1.2.3', '::1', 'a b.example', 'evil\r\nHost: x', '-lead.example', 'a..b', '', 'x'.repeat(64) + '.example']) {
    assert.deepEqual(parseClientHello(clientHello([serverName(bad)])), { ok: false, reason: 'invalid_name' }, JSON.stringify(bad));
  }
});

test('a server_name list whose entries are not host_name, or no extensions at all, is no_sni', () => {
  assert.deepEqual(parseClientHello(clientHello([serverName('x.example', 7)])), { ok: false, reason: 'no_sni' });
  assert.deepEqual(parseClientHello(clientHello([], { withExtensionsBlock: false })), { ok: false, reason: 'no_sni' });
  assert.deepEqual(parseClientHello(clientHello([{ type: 43, data: [2, 3, 4] }])), { ok: false, reason: 'no_sni' });
});

test('lengths that disagree with their enclosing length are malformed', () => {
  const hello = clientHello([serverName('ok.example')]);
  // The server_name extension claims 200 bytes more than the extensions block holds.
  const extensionsAt = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 6 + 2;
  const broken = Buffer.from(hello);
  broken.writeUInt16BE(hello.readUInt16BE(extensionsAt + 4) + 200, extensionsAt + 4);
  assert.deepEqual(parseClientHello(broken), { ok: false, reason: 'malformed' });
  // The handshake claims more than its record holds: what is past the record is another record's, so the hello reads as cut.
  const split = Buffer.from(hello);
  split.writeUInt16BE(60, 3);
  assert.deepEqual(parseClientHello(split), { ok: false, reason: 'truncated' });
});

test('anything that is not a ClientHello record is not_client_hello', () => {
  assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { ok: false, reason: 'not_client_hello' });
  assert.deepEqual(parseClientHello(Buffer.from([0x16, 0x03, 0x03, 0, 4, 0x02])), { ok: false, reason: 'not_client_hello' }, 'a ServerHello');
  assert.deepEqual(parseClientHello(Buffer.from([0x17, 0x03, 0x03, 0, 4, 0x01])), { ok: false, reason: 'not_client_hello' }, 'application data');
  assert.deepEqual(parseClientHello(new Uint8Array(0)), { ok: false, reason: 'not_client_hello' });
});

test('property: any bytes after a ClientHello prefix give a name or a reason, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2100 }), fc.boolean(), (tail, prefixed) => {
      const input = prefixed ? Buffer.concat([Buffer.from([0x16, 0x03, 0x01, tail[0] ?? 0, tail[1] ?? 0, 0x01]), tail]) : Buffer.from(tail);
      const result = parseClientHello(input);
      if (result.ok) assert.match(result.name, /^[a-z0-9_.-]{1,253}$/);
      else assert.ok(REASONS.includes(result.reason), result.reason);
      assert.equal(looksLikeClientHello(input) || !result.ok, true);
    }),
    { numRuns: 2000 },
  );
});

test('property: every generated host name round-trips, and every cut of its hello is truncated or named', () => {
  fc.assert(
    fc.property(fc.domain(), fc.nat({ max: 600 }), fc.nat(), (domain, filler, cutSeed) => {
      const hello = clientHello([{ type: 10, data: new Array<number>(filler).fill(1) }, serverName(domain)]);
      assert.equal(nameOf(parseClientHello(hello)), domain.toLowerCase());
      const cut = 6 + (cutSeed % (hello.length - 6));
      const result = parseClientHello(hello.subarray(0, cut));
      assert.ok(result.ok ? result.name === domain.toLowerCase() : result.reason === 'truncated', `${JSON.stringify(result)} at ${cut}`);
    }),
    { numRuns: 500 },
  );
});

test('a ClientHello with Encrypted Client Hello names nothing, and says its public name, wherever the extension is', () => {
  const ech = { ok: false, reason: 'encrypted_client_hello', publicName: 'public.example' };
  assert.deepEqual(parseClientHello(tlsRecord(clientHelloMessage([serverNameExtension('public.example'), encryptedClientHello()]))), ech);
  assert.deepEqual(parseClientHello(tlsRecord(clientHelloMessage([encryptedClientHello(), serverNameExtension('Public.Example.')]))), ech);
  const noName = { ok: false, reason: 'encrypted_client_hello', publicName: null };
  assert.deepEqual(parseClientHello(tlsRecord(clientHelloMessage([encryptedClientHello()]))), noName, 'no outer server_name');
  assert.deepEqual(
    parseClientHello(tlsRecord(clientHelloMessage([serverNameExtension('192.0.2.1'), encryptedClientHello()]))),
    noName,
    'an address is no name',
  );
});

test('an ECH ClientHello cut after its ECH extension is still ECH; cut after the name and before ECH, the name is all there is', () => {
  const echFirst = tlsRecord(
    clientHelloMessage([encryptedClientHello(), { type: 10, data: new Array<number>(400).fill(1) }, serverNameExtension('public.example')]),
  );
  const nameAt = echFirst.indexOf(Buffer.from('public.example'));
  assert.deepEqual(parseClientHello(echFirst.subarray(0, nameAt - 20)), { ok: false, reason: 'encrypted_client_hello', publicName: null });
  const nameFirst = tlsRecord(
    clientHelloMessage([serverNameExtension('public.example'), { type: 10, data: new Array<number>(400).fill(1) }, encryptedClientHello()]),
  );
  const echAt = nameFirst.length - 246; // the ECH extension: 4 bytes of type and length, 242 of data
  assert.equal(nameOf(parseClientHello(nameFirst.subarray(0, echAt))), 'public.example');
  assert.deepEqual(
    parseClientHello(nameFirst.subarray(0, echAt + 2)),
    { ok: false, reason: 'encrypted_client_hello', publicName: 'public.example' },
    'its type is enough',
  );
});

test('the handshake-message entry point (QUIC CRYPTO data) reads what the record one reads', () => {
  for (const hex of [OPENSSL_HELLO, NODE_HELLO, OPENSSL_HELLO_NO_SNI]) {
    const record = Buffer.from(hex, 'hex');
    assert.deepEqual(parseClientHelloMessage(record.subarray(5)), parseClientHello(record));
    for (const cut of [0, 3, 40, 120])
      assert.deepEqual(parseClientHelloMessage(record.subarray(5, 5 + cut)), { ok: false, reason: 'truncated' }, `cut at ${cut}`);
  }
  assert.deepEqual(parseClientHelloMessage(Buffer.from([0x02, 0, 0, 0])), { ok: false, reason: 'not_client_hello' });
  const hello = clientHelloMessage([serverNameExtension('message.example')]);
  assert.equal(nameOf(parseClientHelloMessage(hello)), 'message.example');
  const lying = Buffer.from(hello);
  lying.writeUIntBE(hello.length, 1, 3); // claims 4 bytes more than the message holds
  assert.equal(nameOf(parseClientHelloMessage(lying)), 'message.example', 'the name is read before the end the length claims');
});
