/**
 * Which TCP payloads flow_tc copies for server names, on the real kernel
 * (BPF_PROG_TEST_RUN on hand-built frames): a TLS ClientHello record and
 * every HTTP/1.x request line it knows by their first 8 bytes, and not the
 * near misses (a method without its space, another handshake type).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeBatch, type KernelEvent } from '../../src/kernel/decode.js';
import { loadNative } from '../../src/kernel/native.js';
import { frame } from '../helpers/frames.js';
import { privilegedSuite } from '../helpers/privileged.js';

/** A TCP frame whose payload starts with `head` (and goes on with 'a's to 64 bytes). */
function tcpWithPayload(head: Buffer | string, sport: number): Buffer {
  const bytes = typeof head === 'string' ? Buffer.from(head, 'latin1') : head;
  const payload = 64;
  const data = frame({ saddr: '10.30.0.1', daddr: '10.30.0.2', proto: 6, sport, dport: 443, payload });
  bytes.copy(data, data.length - payload);
  return data;
}

const TLS_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]);
const TLS_SERVER_HELLO = Buffer.from([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00]);
const TLS_FUTURE_VERSION = Buffer.from([0x16, 0x03, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01]);

const CASES: ReadonlyArray<[head: Buffer | string, expected: 'tls' | 'http' | null]> = [
  [TLS_CLIENT_HELLO, 'tls'],
  [TLS_SERVER_HELLO, null],
  [TLS_FUTURE_VERSION, null],
  ['GET / HTTP/1.1', 'http'],
  ['PUT /x HTTP/1.1', 'http'],
  ['POST /x HTTP/1.1', 'http'],
  ['HEAD / HTTP/1.1', 'http'],
  ['PATCH /x HTTP/1.1', 'http'],
  ['DELETE /x HTTP/1.1', 'http'],
  ['OPTIONS * HTTP/1.1', 'http'],
  ['CONNECT h:443 HTTP/1.1', 'http'],
  ['GETS / HTTP/1.1', null],
  ['POSTS /x', null],
  ['PATCHY /x', null],
  ['DELETES /x', null],
  ['OPTIONSX', null],
  ['CONNECTX', null],
  ['get / HTTP/1.1', null],
  ['aaaaaaaaaaaaaaaa', null],
];

describe('server-name payloads flow_tc copies', privilegedSuite({ features: ['btf'] }), () => {
  test('a ClientHello and each HTTP method with its space are copied; near misses are not', async () => {
    const native = loadNative();
    const object = new native.BpfObject();
    for (const program of object.programs()) object.setAutoload(program, program === 'flow_tc');
    object.setConst('capture_dns', Buffer.from([0]));
    object.setConst('count_flows', Buffer.from([0]));
    object.load();
    const events: KernelEvent[] = [];
    const stats = { records: 0, malformed: 0 };
    const poller = new native.RingPoller(object, ['payload_events'], (batch) => decodeBatch(batch, (event) => events.push(event), stats));
    try {
      CASES.forEach(([head], index) => object.testRun('flow_tc', tcpWithPayload(head, 30000 + index), 1));
    } finally {
      await poller.stop();
      object.close();
    }
    assert.equal(stats.malformed, 0);
    const copied = new Map<number, string>();
    for (const event of events) if (event.kind === 'payload') copied.set(event.tuple.sport, event.protocol);
    const got = CASES.map(([head], index) => [head.toString('latin1').slice(0, 8), copied.get(30000 + index) ?? null]);
    assert.deepEqual(
      got,
      CASES.map(([head, expected]) => [head.toString('latin1').slice(0, 8), expected]),
    );
  });
});
