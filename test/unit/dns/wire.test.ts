import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import fc from 'fast-check';
import { countDnsParse, emptyDnsParseStats, parseDnsResponse, type WireAnswer, type WireParse } from '../../../src/dns/wire.js';

/** Bound on one parse: a hang or a super-linear path would blow far past it. */
/** A hang (a decompression loop) fails the test instead of stalling the suite. */
const HANG_MS = 60_000;

function response(questionName: string, answers: Answer[], extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: questionName }],
    answers,
    ...extra,
  });
}

function parseWhole(message: Uint8Array): WireParse {
  return parseDnsResponse(message, message.length);
}

function answerOf(result: WireParse): WireAnswer {
  assert.ok(result.ok, `expected an answer, got ${JSON.stringify(result)}`);
  return result.answer;
}

/**
 * A parse that must end: name decompression is bounded in hops, not in
 * time, so a pointer loop is caught by the test's own timeout (a hang),
 * never by a stopwatch that a loaded CI machine would trip.
 */
function boundedParse(message: Uint8Array, messageLength: number): WireParse {
  return parseDnsResponse(message, messageLength);
}

function assertWellFormed(result: WireParse): void {
  if (!result.ok) {
    assert.ok(['not_response', 'truncated', 'malformed', 'no_question'].includes(result.reason));
    return;
  }
  const { answer } = result;
  for (const addr of answer.addrs) {
    assert.notEqual(isIP(addr), 0, addr);
    assert.equal(typeof answer.addrTtls[addr], 'number');
  }
  assert.equal(new Set(answer.addrs).size, answer.addrs.length);
  assert.ok(answer.ttl === null || (Number.isInteger(answer.ttl) && answer.ttl >= 0));
}

/** Hand-made message: header fields, then raw section bytes. */
function handMade(counts: { qd: number; an: number; ns?: number; ar?: number }, body: number[], flags = 0x8180): Uint8Array {
  const header = [0xab, 0xcd, flags >> 8, flags & 0xff, 0, counts.qd, 0, counts.an, 0, counts.ns ?? 0, 0, counts.ar ?? 0];
  return Uint8Array.from([...header, ...body]);
}

/** 'a.example' as labels, 11 bytes. */
const A_EXAMPLE = [1, 0x61, 7, ...Buffer.from('example'), 0];
const QTYPE_A_IN = [0, 1, 0, 1];
/** TYPE A, CLASS IN, TTL 60, RDLENGTH 4, 192.0.2.1 */
const A_RECORD_TAIL = [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1];

test('an A answer gives the host, its address and TTL', () => {
  const answer = answerOf(parseWhole(response('example.com', [{ type: 'A', name: 'example.com', ttl: 300, data: '93.184.216.34' }])));
  assert.deepEqual(answer, {
    id: 0x1234,
    rcode: 'NOERROR',
    host: 'example.com',
    qtype: 'A',
    cnames: [],
    addrs: ['93.184.216.34'],
    ttl: 300,
    addrTtls: { '93.184.216.34': 300 },
    truncatedFlag: false,
  });
});

test('AAAA addresses print in RFC 5952 form, not dns-packet’s', () => {
  const message = dnsPacket.encode({
    type: 'response',
    questions: [{ type: 'AAAA', name: 'v6.example' }],
    answers: [
      { type: 'AAAA', name: 'v6.example', ttl: 30, data: '2001:db8:0:0:1:0:0:0' },
      { type: 'AAAA', name: 'v6.example', ttl: 30, data: '2001:DB8::A' },
    ],
  });
  const answer = answerOf(parseWhole(message));
  assert.equal(answer.qtype, 'AAAA');
  assert.deepEqual(answer.addrs, ['2001:db8:0:0:1::', '2001:db8::a']);
});

test('names are lower case without a trailing dot, whatever the case on the wire', () => {
  const answer = answerOf(parseWhole(response('WWW.Example.COM.', [{ type: 'A', name: 'www.EXAMPLE.com', ttl: 5, data: '192.0.2.7' }])));
  assert.equal(answer.host, 'www.example.com');
  assert.deepEqual(answer.addrs, ['192.0.2.7']);
});

test('a CNAME chain is followed in order even when its records come shuffled', () => {
  const message = response('www.shop.example', [
    { type: 'AAAA', name: 'edge.cdn.example.net', ttl: 120, data: '2001:db8::10' },
    { type: 'A', name: 'edge.cdn.example.net', ttl: 60, data: '198.51.100.10' },
    { type: 'CNAME', name: 'CDN.example.net', ttl: 300, data: 'Edge.CDN.example.net' },
    { type: 'A', name: 'unrelated.example', ttl: 1, data: '203.0.113.99' },
    { type: 'CNAME', name: 'www.shop.example', ttl: 3600, data: 'cdn.example.net' },
    { type: 'A', name: 'edge.cdn.example.net', ttl: 90, data: '198.51.100.11' },
  ]);
  const answer = answerOf(parseWhole(message));
  assert.deepEqual(answer.cnames, ['cdn.example.net', 'edge.cdn.example.net']);
  assert.deepEqual(answer.addrs, ['198.51.100.10', '198.51.100.11', '2001:db8::10']);
  assert.equal(answer.ttl, 60);
  assert.deepEqual(answer.addrTtls, { '198.51.100.10': 60, '198.51.100.11': 90, '2001:db8::10': 120 });
});

test('the TTL is the smallest of the chain and the addresses used', () => {
  const message = response('a.example', [
    { type: 'CNAME', name: 'a.example', ttl: 20, data: 'b.example' },
    { type: 'A', name: 'b.example', ttl: 600, data: '192.0.2.1' },
    { type: 'A', name: 'a.example', ttl: 1, data: '192.0.2.200' }, // not at the end of the chain: unused
  ]);
  const answer = answerOf(parseWhole(message));
  assert.deepEqual(answer.addrs, ['192.0.2.1']);
  assert.equal(answer.ttl, 20);
});

test('a CNAME loop ends the chain at the last new name', () => {
  const message = response('a.example', [
    { type: 'CNAME', name: 'a.example', ttl: 10, data: 'b.example' },
    { type: 'CNAME', name: 'b.example', ttl: 10, data: 'A.example' },
    { type: 'A', name: 'b.example', ttl: 10, data: '192.0.2.2' },
  ]);
  const answer = answerOf(parseWhole(message));
  assert.deepEqual(answer.cnames, ['b.example']);
  assert.deepEqual(answer.addrs, ['192.0.2.2']);
});

test('several addresses are kept in answer order, A before AAAA, each once with its smallest TTL', () => {
  const message = response('multi.example', [
    { type: 'AAAA', name: 'multi.example', ttl: 40, data: '2001:db8::1' },
    { type: 'A', name: 'multi.example', ttl: 50, data: '192.0.2.3' },
    { type: 'A', name: 'multi.example', ttl: 70, data: '192.0.2.1' },
    { type: 'A', name: 'multi.example', ttl: 30, data: '192.0.2.3' },
  ]);
  const answer = answerOf(parseWhole(message));
  assert.deepEqual(answer.addrs, ['192.0.2.3', '192.0.2.1', '2001:db8::1']);
  assert.deepEqual(answer.addrTtls, { '192.0.2.3': 30, '192.0.2.1': 70, '2001:db8::1': 40 });
  assert.equal(answer.ttl, 30);
});

test('NXDOMAIN gives the rcode, no addresses and no TTL', () => {
  const message = response('missing.example', [], {
    flags: 3,
    authorities: [
      {
        type: 'SOA',
        name: 'example',
        ttl: 900,
        data: { mname: 'ns.example', rname: 'hostmaster.example', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 60 },
      },
    ],
  });
  const answer = answerOf(parseWhole(message));
  assert.equal(answer.rcode, 'NXDOMAIN');
  assert.deepEqual([answer.cnames, answer.addrs, answer.ttl], [[], [], null]);
});

test('records of a class other than IN are ignored, the mDNS cache-flush bit included', () => {
  const message = response('c.example', [
    { type: 'A', name: 'c.example', ttl: 10, class: 'CH', data: '192.0.2.9' },
    { type: 'A', name: 'c.example', ttl: 10, flush: true, data: '192.0.2.8' },
    { type: 'A', name: 'c.example', ttl: 10, data: '192.0.2.7' },
  ]);
  assert.deepEqual(answerOf(parseWhole(message)).addrs, ['192.0.2.7']);
});

test('the TC bit is reported', () => {
  const message = response('tc.example', [], { flags: dnsPacket.TRUNCATED_RESPONSE });
  assert.equal(answerOf(parseWhole(message)).truncatedFlag, true);
});

test('a TTL with its top bit set reads as zero (RFC 2181)', () => {
  const message = handMade({ qd: 1, an: 1 }, [...A_EXAMPLE, ...QTYPE_A_IN, 0xc0, 12, 0, 1, 0, 1, 0x80, 0, 0, 5, 0, 4, 192, 0, 2, 1]);
  assert.equal(answerOf(parseWhole(message)).ttl, 0);
});

test('a query is not a response', () => {
  const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'example.com' }] });
  assert.deepEqual(parseWhole(query), { ok: false, reason: 'not_response' });
});

test('a response to a NOTIFY is not an answer', () => {
  const message = handMade({ qd: 1, an: 0 }, [...A_EXAMPLE, 0, 6, 0, 1], 0x8000 | (4 << 11));
  assert.deepEqual(parseWhole(message), { ok: false, reason: 'not_response' });
});

test('a response without a question is reported as such', () => {
  assert.deepEqual(parseWhole(handMade({ qd: 0, an: 0 }, [])), { ok: false, reason: 'no_question' });
});

test('a capture cut inside the answers is truncated', () => {
  const answers: Answer[] = Array.from({ length: 120 }, (_, i) => ({ type: 'A', name: 'big.example', ttl: 60, data: `10.0.${i >> 8}.${i & 0xff}` }));
  const message = response('big.example', answers);
  assert.ok(message.length > 1232);
  assert.deepEqual(parseDnsResponse(message.subarray(0, 1232), message.length), { ok: false, reason: 'truncated' });
});

test('a capture cut after the answers still gives the answers', () => {
  const message = response('sig.example', [{ type: 'A', name: 'sig.example', ttl: 60, data: '192.0.2.5' }], {
    additionals: [{ type: 'TXT', name: 'sig.example', ttl: 60, data: 'x'.repeat(250) }],
  });
  const captured = message.subarray(0, message.length - 100);
  assert.deepEqual(answerOf(parseDnsResponse(captured, message.length)).addrs, ['192.0.2.5']);
});

test('a message shorter than a header is truncated when cut, malformed when whole', () => {
  const message = response('x.example', []);
  assert.deepEqual(parseDnsResponse(message.subarray(0, 8), message.length), { ok: false, reason: 'truncated' });
  assert.deepEqual(parseWhole(message.subarray(0, 8)), { ok: false, reason: 'malformed' });
});

test('a whole message whose sections overrun it is malformed', () => {
  const message = response('x.example', [{ type: 'A', name: 'x.example', ttl: 1, data: '192.0.2.1' }]);
  assert.deepEqual(parseWhole(message.subarray(0, message.length - 2)), { ok: false, reason: 'malformed' });
});

test('bytes after the last record are ignored', () => {
  const message = response('x.example', [{ type: 'A', name: 'x.example', ttl: 1, data: '192.0.2.1' }]);
  const padded = Buffer.concat([message, Buffer.alloc(7, 0xee)]);
  assert.deepEqual(answerOf(parseWhole(padded)).addrs, ['192.0.2.1']);
});

test('an impossible messageLength is malformed', () => {
  const message = response('x.example', []);
  for (const length of [Number.NaN, -1, 1.5, 70000]) {
    assert.deepEqual(parseDnsResponse(message, length), { ok: false, reason: 'malformed' }, String(length));
  }
});

test('compression pointers to earlier names are followed', () => {
  // Answer owner points at the question name; a CNAME target is 'b' + pointer to 'example'.
  const body = [
    ...A_EXAMPLE, // offset 12
    ...QTYPE_A_IN,
    0xc0,
    12,
    0,
    5,
    0,
    1,
    0,
    0,
    0,
    30,
    0,
    4,
    1,
    0x62,
    0xc0,
    14, // a.example CNAME b.example
    1,
    0x62,
    0xc0,
    14,
    ...A_RECORD_TAIL, // b.example A 192.0.2.1
  ];
  const answer = answerOf(parseWhole(handMade({ qd: 1, an: 2 }, body)));
  assert.deepEqual(answer.cnames, ['b.example']);
  assert.deepEqual(answer.addrs, ['192.0.2.1']);
  assert.equal(answer.ttl, 30);
});

test('a pointer to itself (a loop) is malformed, at once', () => {
  // The answer's owner name at offset 27 is a pointer to offset 27.
  const message = handMade({ qd: 1, an: 1 }, [...A_EXAMPLE, ...QTYPE_A_IN, 0xc0, 27, ...A_RECORD_TAIL]);
  assert.deepEqual(boundedParse(message, message.length), { ok: false, reason: 'malformed' });
});

test('two pointers pointing at each other are malformed, at once', () => {
  // Question name at 12 points to 14, which points back to 12.
  const message = handMade({ qd: 1, an: 0 }, [0xc0, 14, 0xc0, 12, ...QTYPE_A_IN]);
  assert.deepEqual(boundedParse(message, message.length), { ok: false, reason: 'malformed' });
});

test('a forward pointer is malformed', () => {
  // The question name points to 'a.example' written after the question.
  const message = handMade({ qd: 1, an: 0 }, [0xc0, 18, ...QTYPE_A_IN, ...A_EXAMPLE]);
  assert.deepEqual(parseWhole(message), { ok: false, reason: 'malformed' });
});

test('a long chain of pointers to pointers is followed within the bound', { timeout: HANG_MS }, () => {
  // Record 1 (an unknown type) carries 500 pointers in its data, each to the
  // one before it, the first to the question name; record 2's owner points
  // at the last one. Every jump goes backwards, so this is legal, if odd.
  const CHAIN = 500;
  const firstPointer = 12 + A_EXAMPLE.length + QTYPE_A_IN.length + 2 + 10;
  const pointers = Array.from({ length: CHAIN }, (_, i) => (i === 0 ? 12 : firstPointer + 2 * (i - 1))).flatMap((target) => [
    0xc0 | (target >> 8),
    target & 0xff,
  ]);
  const lastPointer = firstPointer + 2 * (CHAIN - 1);
  const body = [
    ...A_EXAMPLE,
    ...QTYPE_A_IN,
    0xc0,
    12,
    0xff,
    0,
    0,
    1,
    0,
    0,
    0,
    60,
    (2 * CHAIN) >> 8,
    (2 * CHAIN) & 0xff,
    ...pointers,
    0xc0 | (lastPointer >> 8),
    lastPointer & 0xff,
    ...A_RECORD_TAIL,
  ];
  const message = handMade({ qd: 1, an: 2 }, body);
  assert.deepEqual(answerOf(boundedParse(message, message.length)).addrs, ['192.0.2.1']);
});

test('an A record whose data is not 4 bytes is malformed', () => {
  const tail = [0, 1, 0, 1, 0, 0, 0, 60, 0, 16, ...new Array<number>(16).fill(1)];
  const message = handMade({ qd: 1, an: 1 }, [...A_EXAMPLE, ...QTYPE_A_IN, 0xc0, 12, ...tail]);
  assert.deepEqual(parseWhole(message), { ok: false, reason: 'malformed' });
});

test('huge record counts over a small body are malformed, at once', () => {
  const message = handMade({ qd: 1, an: 255, ns: 255, ar: 255 }, [...A_EXAMPLE, ...QTYPE_A_IN, 0xc0, 12, ...A_RECORD_TAIL]);
  message[6] = 0xff;
  message[4] = 0xff;
  assert.deepEqual(boundedParse(message, message.length), { ok: false, reason: 'malformed' });
});

test('parse outcomes are counted by kind', () => {
  const stats = emptyDnsParseStats();
  countDnsParse(stats, parseWhole(response('x.example', [])));
  countDnsParse(stats, { ok: false, reason: 'not_response' });
  countDnsParse(stats, { ok: false, reason: 'truncated' });
  countDnsParse(stats, { ok: false, reason: 'malformed' });
  countDnsParse(stats, { ok: false, reason: 'no_question' });
  assert.deepEqual(stats, { parsed: 1, notResponse: 1, truncated: 1, malformed: 2 });
});

// Property tests ----------------------------------------------------------

/** An address as 8 full hex groups (IPv6) or itself (IPv4), to compare texts of the same address. */
function expandAddress(text: string): string {
  if (isIP(text) === 4) return text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted
    ? text.slice(0, dotted.index) +
      [
        [1, 2],
        [3, 4],
      ]
        .map(([hi, lo]) => ((Number(dotted[hi!]) << 8) | Number(dotted[lo!])).toString(16))
        .join(':')
    : text;
  const [head = '', tail] = hex.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) => group.toLowerCase().padStart(4, '0')).join(':');
}

const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const ipv4 = fc.ipV4();
// Full eight-group text: dns-packet's encoder mis-reads some of fc.ipV6()'s
// forms with an embedded IPv4 tail (it writes '::0:0:0:0:0:0.0.0.1' as '::').
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((groups) => groups.map((group) => group.toString(16)).join(':'));

/** A response with a CNAME chain of distinct names and addresses at its end, records shuffled. */
const chainResponse = fc
  .record({
    names: fc.uniqueArray(hostname, { minLength: 1, maxLength: 5 }),
    v4: fc.uniqueArray(ipv4, { maxLength: 6 }),
    v6: fc.uniqueArray(ipv6, { maxLength: 6 }),
    ttls: fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { minLength: 20, maxLength: 20 }),
    seed: fc.integer(),
  })
  .map(({ names, v4, v6, ttls, seed }) => {
    const end = names[names.length - 1]!;
    const answers: Answer[] = [
      ...names.slice(1).map((target, i): Answer => ({ type: 'CNAME', name: names[i]!, ttl: ttls[i]!, data: target })),
      ...v4.map((data, i): Answer => ({ type: 'A', name: end, ttl: ttls[5 + i]!, data })),
      ...v6.map((data, i): Answer => ({ type: 'AAAA', name: end, ttl: ttls[11 + i]!, data })),
    ];
    const shuffled = answers
      .map((answer, i) => ({ answer, key: Math.imul(seed ^ (i * 0x9e3779b1), 0x85ebca6b) >>> 0 }))
      .sort((a, b) => a.key - b.key)
      .map(({ answer }) => answer);
    const usedTtls = [...ttls.slice(0, names.length - 1), ...ttls.slice(5, 5 + v4.length), ...ttls.slice(11, 11 + v6.length)];
    return { names, v4, v6, usedTtls, message: response(names[0]!, shuffled) };
  });

test('any response built with a chain and addresses reads back to that chain and those addresses', () => {
  fc.assert(
    fc.property(chainResponse, ({ names, v4, v6, usedTtls, message }) => {
      const answer = answerOf(parseWhole(message));
      assert.equal(answer.host, names[0]);
      assert.deepEqual(answer.cnames, names.slice(1));
      // In answer order (shuffled here), A before AAAA.
      const sorted = (texts: string[]): string[] => texts.map(expandAddress).sort();
      assert.deepEqual(sorted(answer.addrs.slice(0, v4.length)), sorted(v4));
      assert.deepEqual(sorted(answer.addrs.slice(v4.length)), sorted(v6));
      assert.equal(answer.ttl, usedTtls.length === 0 ? null : Math.min(...usedTtls));
    }),
    { numRuns: 500 },
  );
});

test('random bytes never throw and parse within the bound', { timeout: HANG_MS }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1300 }), fc.integer({ min: -2, max: 1400 }), (bytes, extra) => {
      assertWellFormed(boundedParse(bytes, bytes.length + extra));
    }),
    { numRuns: 2000 },
  );
});

test('random bodies behind a response header never throw and parse within the bound', { timeout: HANG_MS }, () => {
  const header = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 1232 }), ([qd, an, ar], body) => {
      const message = Uint8Array.from([0, 1, 0x81, 0x80, 0, qd, an >> 8, an & 0xff, 0, 0, ar >> 8, ar & 0xff, ...body]);
      assertWellFormed(boundedParse(message, message.length));
    }),
    { numRuns: 2000 },
  );
});

test('mutated valid responses never throw and parse within the bound', { timeout: HANG_MS }, () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0x3fff }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  );
  fc.assert(
    fc.property(chainResponse, fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), ({ message }, mutations, claimWhole) => {
      let bytes = Uint8Array.from(message);
      for (const { kind, at, value } of mutations) {
        const offset = at % Math.max(bytes.length, 1);
        if (kind === 'flip') bytes[offset] = value;
        else if (kind === 'pointer' && offset + 1 < bytes.length) {
          bytes[offset] = 0xc0 | (value >> 8);
          bytes[offset + 1] = value & 0xff;
        } else if (kind === 'cut') bytes = bytes.subarray(0, offset);
      }
      assertWellFormed(boundedParse(bytes, claimWhole ? bytes.length : message.length));
    }),
    { numRuns: 2000 },
  );
});
