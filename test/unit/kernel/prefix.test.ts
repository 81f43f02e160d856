import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressBytes, parsePrefix, prefixMask } from '../../../src/kernel/prefix.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('an address without a length is a host prefix, in canonical text', () => {
  assert.equal(parsePrefix('192.0.2.1').text, '192.0.2.1/32');
  assert.equal(parsePrefix(' FD00:0:0::1 ').text, 'fd00::1/128');
  assert.equal(parsePrefix('10.0.0.0/8').length, 8);
});

test('addresses become 16 network-order bytes, IPv4 in the first four', () => {
  assert.equal(hex(parsePrefix('10.1.2.3').bytes), `0a010203${'0'.repeat(24)}`);
  assert.equal(hex(addressBytes('fd00:213:7::1').bytes), 'fd000213000700000000000000000001');
  assert.equal(hex(addressBytes('::ffff:192.0.2.1').bytes), '00000000000000000000ffffc0000201');
  assert.equal(hex(addressBytes('1::').bytes), '00010000000000000000000000000000');
  assert.equal(hex(addressBytes('::').bytes), '0'.repeat(32));
  assert.equal(hex(addressBytes('1:2:3:4:5:6:7:8').bytes), '00010002000300040005000600070008');
});

test('masks cover whole and partial bytes', () => {
  assert.equal(hex(prefixMask(0)), '0'.repeat(32));
  assert.equal(hex(prefixMask(12)), `fff0${'0'.repeat(28)}`);
  assert.equal(hex(prefixMask(128)), 'f'.repeat(32));
});

test('host bits, bad lengths and non-addresses are refused with a message that helps', () => {
  assert.throws(() => parsePrefix('10.1.2.3/8'), /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/);
  assert.throws(() => parsePrefix('fd00::1/64'), /did you mean fd00::\/64/);
  assert.throws(() => parsePrefix('10.0.0.0/33'), /0\.\.32/);
  assert.throws(() => parsePrefix('10.0.0.0/'), /0\.\.32/);
  assert.throws(() => parsePrefix('fd00::/129'), /0\.\.128/);
  assert.throws(() => parsePrefix('example.com'), /not an IP address or prefix/);
  assert.throws(() => parsePrefix('10.0.0.0/8/8'), /0\.\.32/);
});
