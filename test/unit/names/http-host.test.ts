import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { looksLikeHttpRequest, parseHttpHost, type HttpHostParse } from '../../../src/names/http-host.js';

const REASONS = ['not_http', 'truncated', 'no_host', 'malformed', 'address_literal', 'invalid_name'];

const request = (head: string) => Buffer.from(head, 'latin1');

function nameOf(result: HttpHostParse): string {
  assert.ok(result.ok, JSON.stringify(result));
  return result.name;
}

test('the Host header of a request, without its port, lower case', () => {
  assert.equal(nameOf(parseHttpHost(request('GET / HTTP/1.1\r\nHost: Web.Example.com:8080\r\nAccept: */*\r\n\r\n'))), 'web.example.com');
  assert.equal(nameOf(parseHttpHost(request('POST /form HTTP/1.1\r\nContent-Length: 3\r\nhOsT:api.example.org\r\n\r\nabc'))), 'api.example.org');
  assert.equal(nameOf(parseHttpHost(request('HEAD /x HTTP/1.0\nHost: plain.example.\n\n'))), 'plain.example', 'bare LF line ends');
  for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    assert.equal(nameOf(parseHttpHost(request(`${method} /r HTTP/1.1\r\nHost: m.example\r\n\r\n`))), 'm.example', method);
  }
  assert.equal(nameOf(parseHttpHost(request('CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n'))), 'tunnel.example');
});

test("curl's request head as it sends it", () => {
  const head = 'GET /file HTTP/1.1\r\nHost: curl.hostflow.test:8000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n';
  assert.equal(nameOf(parseHttpHost(request(head))), 'curl.hostflow.test');
});

test('a head cut before its Host line is truncated; a Host line that is complete counts even when the head is cut', () => {
  const head = 'GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: cut.example\r\nAccept: */*\r\n\r\n';
  const hostEnd = head.indexOf('cut.example') + 'cut.example\r\n'.length;
  for (let cut = 4; cut <= head.length; cut++) {
    const result = parseHttpHost(request(head.slice(0, cut)));
    if (cut < hostEnd - 1) assert.deepEqual(result, { ok: false, reason: 'truncated' }, `cut at ${cut}: ${JSON.stringify(head.slice(0, cut))}`);
    else if (cut >= hostEnd) assert.equal(nameOf(result), 'cut.example', `cut at ${cut}`);
  }
});

test('a complete head without Host is no_host; an address is address_literal; two Hosts or an empty one are malformed', () => {
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n')), { ok: false, reason: 'no_host' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: 10.1.2.3:80\r\n\r\n')), { ok: false, reason: 'address_literal' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: [fd00::1]:8080\r\n\r\n')), { ok: false, reason: 'address_literal' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n')), { ok: false, reason: 'malformed' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost:   \r\n\r\n')), { ok: false, reason: 'malformed' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: bad_\u00e9.example\r\n\r\n')), { ok: false, reason: 'invalid_name' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: a b\r\n\r\n')), { ok: false, reason: 'invalid_name' });
});

test('what is not an HTTP/1.x request line is not_http', () => {
  assert.deepEqual(parseHttpHost(request('GETX / HTTP/1.1\r\nHost: a.example\r\n\r\n')), { ok: false, reason: 'not_http' });
  assert.deepEqual(parseHttpHost(request('GET / HTTP/2.0\r\nHost: a.example\r\n\r\n')), { ok: false, reason: 'not_http' });
  assert.deepEqual(parseHttpHost(request('GET  / HTTP/1.1\r\nHost: a.example\r\n\r\n')), { ok: false, reason: 'not_http' });
  assert.deepEqual(parseHttpHost(Buffer.from([0x16, 0x03, 0x01, 0, 5, 1])), { ok: false, reason: 'not_http' });
  assert.equal(looksLikeHttpRequest(request('DELETE /')), true);
  assert.equal(looksLikeHttpRequest(request('get / HTTP/1.1')), false, 'methods are case-sensitive');
});

test('Host values never carry a header line or control characters into a name', () => {
  // A header folded onto the Host line (obs-fold) or a stray CR makes the value invalid, never part of a name.
  assert.deepEqual(parseHttpHost(request('GET / HTTP/1.1\r\nHost: a.example\rX-Evil: 1\r\n\r\n')), { ok: false, reason: 'invalid_name' });
});

test('property: any bytes after a method give a name or a reason, never a throw, in bounded time', () => {
  fc.assert(
    fc.property(fc.constantFrom('GET ', 'POST ', 'CONNECT ', ''), fc.uint8Array({ maxLength: 2048 }), (method, tail) => {
      const input = Buffer.concat([Buffer.from(method), tail]);
      const start = performance.now();
      const result = parseHttpHost(input);
      assert.ok(performance.now() - start < 50);
      if (result.ok) assert.match(result.name, /^[a-z0-9_.-]{1,253}$/);
      else assert.ok(REASONS.includes(result.reason), result.reason);
    }),
    { numRuns: 2000 },
  );
});

test('property: a generated request names its host, and every cut of it is truncated or named', () => {
  fc.assert(
    fc.property(
      fc.domain(),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      fc.array(fc.tuple(fc.stringMatching(/^X-[A-Za-z]{1,10}$/), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 8 }),
      fc.nat(),
      (domain, port, before, cutSeed) => {
        const fields = before.map(([name, value]) => `${name}: ${value}\r\n`).join('');
        const head = `GET /p HTTP/1.1\r\n${fields}Host: ${domain}${port === undefined ? '' : `:${port}`}\r\n\r\n`;
        assert.equal(nameOf(parseHttpHost(request(head))), domain.toLowerCase());
        const cut = 4 + (cutSeed % (head.length - 4));
        const result = parseHttpHost(request(head.slice(0, cut)));
        assert.ok(result.ok ? result.name === domain.toLowerCase() : result.reason === 'truncated', `${JSON.stringify(result)} at ${cut}`);
      },
    ),
    { numRuns: 500 },
  );
});
