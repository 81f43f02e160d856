import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { formatAddress, formatIPv6 } from '../../../src/net/address.js';

function bytes6(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

test('IPv4 addresses print as dotted quads', () => {
  assert.equal(formatAddress(4, Uint8Array.from([10, 0, 0, 1])), '10.0.0.1');
  assert.equal(formatAddress(4, Uint8Array.from([255, 255, 255, 255])), '255.255.255.255');
});

test('IPv6 addresses print in RFC 5952 form', () => {
  const cases: Array<[string, string]> = [
    ['fd00 0000 0000 0000 0000 0000 0000 0001', 'fd00::1'],
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['2001 0db8 0000 0000 0001 0000 0000 0001', '2001:db8::1:0:0:1'],
    ['2001 0db8 0000 0001 0001 0001 0001 0001', '2001:db8:0:1:1:1:1:1'],
    ['2001 0db8 0000 0000 0000 0001 0000 0000', '2001:db8::1:0:0'],
    ['fe80 0000 0000 0000 0000 0000 0000 0000', 'fe80::'],
    ['0000 0000 0000 0000 0000 ffff 0a00 0001', '::ffff:10.0.0.1'],
    ['2001 0DB8 AAAA BBBB CCCC DDDD EEEE FFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
  ];
  for (const [hex, text] of cases) assert.equal(formatIPv6(bytes6(hex)), text, hex);
});

test('every formatted IPv6 address is valid and unique for its bytes', () => {
  const seen = new Map<string, string>();
  for (let i = 0; i < 2000; i++) {
    const bytes = new Uint8Array(16);
    for (let j = 0; j < 16; j++) bytes[j] = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256);
    const text = formatIPv6(bytes);
    assert.equal(isIP(text), 6, text);
    const key = Buffer.from(bytes).toString('hex');
    assert.ok(!seen.has(text) || seen.get(text) === key, `${text} printed for two addresses`);
    seen.set(text, key);
  }
});
