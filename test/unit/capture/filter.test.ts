import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CaptureFilterError, encodeFilter, filterMatches, formatFilter, parseCaptureSpec, parseFilter } from '../../../src/capture/filter.js';
import { AF_INET, AF_INET6, FilterEnd, FilterFlag, captureFilter, filterNet, filterPort, filterTerm } from '../../../src/kernel/layout.js';
import { addressBytes } from '../../../src/kernel/prefix.js';

const canonical = (expression: string) => formatFilter(parseFilter(expression));

test('dropped and all are modes of their own, anything else is a filter', () => {
  assert.deepEqual(parseCaptureSpec('dropped'), { mode: 'dropped', filter: null, text: 'dropped' });
  assert.deepEqual(parseCaptureSpec(' ALL '), { mode: 'all', filter: null, text: 'all' });
  const spec = parseCaptureSpec('port 53');
  assert.equal(spec.mode, 'filter');
  assert.equal(spec.filter?.length, captureFilter.size);
  assert.equal(spec.text, 'port 53');
});

test('tcpdump spellings of the subset parse to their canonical form', () => {
  assert.equal(canonical('tcp port 443'), 'tcp and port 443');
  assert.equal(canonical('udp && dst port 53 || icmp'), 'udp and dst port 53 or icmp');
  assert.equal(canonical('host 10.0.0.1 and src port 80'), 'net 10.0.0.1/32 and src port 80');
  assert.equal(canonical('src 192.0.2.1'), 'src net 192.0.2.1/32');
  assert.equal(canonical('dst net fd00::/8 and ip6'), 'dst net fd00::/8');
  assert.equal(canonical('ip6'), 'ip6');
  assert.equal(canonical('proto 47'), 'proto 47');
  assert.equal(canonical('dropped and 10.0.0.0/8'), 'dropped and net 10.0.0.0/8');
  assert.equal(canonical('icmp6 or proto udp'), 'icmp6 or udp');
});

test('and and or group from the left with equal precedence, as in tcpdump', () => {
  assert.equal(canonical('udp or tcp and port 53'), 'udp and port 53 or tcp and port 53');
  assert.equal(canonical('tcp port 443 or udp port 53'), 'tcp and port 443 or udp and port 53');
  assert.equal(canonical('port 1 and port 2 or dropped'), 'port 1 and port 2 or dropped');
  // The ICMPv6 alternative needs a port: it can never match and is left out.
  assert.equal(canonical('icmp6 or src host 192.0.2.7 and dst port 5353'), 'src net 192.0.2.7/32 and dst port 5353');
  assert.equal(canonical('host 10.0.0.1 or host 10.0.0.1'), 'net 10.0.0.1/32 or net 10.0.0.1/32');
  assert.equal(canonical('port 53 and port 53'), 'port 53');
});

test('what is outside the subset or can never match is refused with a reason', () => {
  const refused: Array<[string, RegExp]> = [
    ['', /empty/],
    ['not port 53', /no 'not' and no parentheses/],
    ['(port 53)', /no 'not' and no parentheses/],
    ['port http', /'port' needs a number/],
    ['port 70000', /'port' needs a number/],
    ['host 10.0.0.1 and host fd00::1', /can never match/],
    ['icmp and ip6', /can never match/],
    ['tcp and udp', /can never match/],
    ['icmp and port 1', /can never match/],
    ['host 10.0.0.0/8', /use 'net'/],
    ['net 10.1.0.0/8', /host bits set/],
    ['port 1 or port 2 or port 3 or port 4 or port 5', /needs 5 alternatives; the kernel side takes at most 4/],
    ['port 1 and port 2 and port 3', /at most 2 port conditions/],
    ['host 10.0.0.1 and host 10.0.0.2 and host 10.0.0.3', /at most 2 host\/net conditions/],
    ['or port 53', /on both sides/],
    ['port 53 and', /on both sides/],
    ['src tcp', /must be followed by/],
    ['greater 100', /not in hostflow's filter subset/],
  ];
  for (const [expression, reason] of refused) {
    assert.throws(
      () => parseFilter(expression),
      (error: unknown) => error instanceof CaptureFilterError && reason.test(error.message),
      expression,
    );
  }
});

test('the encoding is struct hf_capture_filter: terms, nets with masks, ports, family, protocol, flags', () => {
  const buffer = encodeFilter(parseFilter('udp and src net 10.1.0.0/16 and dst port 53 or dropped ip6'));
  assert.equal(buffer.readUInt32LE(captureFilter.offsets.terms ?? -1), 2);
  const term0 = captureFilter.offsets.term ?? -1;
  const net0 = term0 + (filterTerm.offsets.nets ?? -1);
  assert.equal(buffer.subarray(net0, net0 + 4).toString('hex'), '0a010000');
  assert.equal(buffer.subarray(net0 + (filterNet.offsets.mask ?? -1), net0 + (filterNet.offsets.mask ?? -1) + 4).toString('hex'), 'ffff0000');
  assert.equal(buffer[net0 + (filterNet.offsets.ends ?? -1)], FilterEnd.src);
  assert.equal(buffer[net0 + filterNet.size + (filterNet.offsets.ends ?? -1)], 0, 'the second net is unused');
  const port0 = term0 + (filterTerm.offsets.ports ?? -1);
  assert.equal(buffer.readUInt16LE(port0 + (filterPort.offsets.port ?? -1)), 53);
  assert.equal(buffer[port0 + (filterPort.offsets.ends ?? -1)], FilterEnd.dst);
  assert.equal(buffer.readUInt16LE(term0 + (filterTerm.offsets.family ?? -1)), AF_INET);
  assert.equal(buffer[term0 + (filterTerm.offsets.proto ?? -1)], 17);
  const term1 = term0 + filterTerm.size;
  assert.equal(buffer.readUInt16LE(term1 + (filterTerm.offsets.family ?? -1)), AF_INET6);
  assert.equal(buffer[term1 + (filterTerm.offsets.flags ?? -1)], FilterFlag.dropped);
  assert.ok(
    buffer.subarray(term1 + filterTerm.size).every((byte) => byte === 0),
    'unused terms are zero',
  );
});

test('the JavaScript verdict follows the same rules as the kernel', () => {
  const packet = (saddr: string, daddr: string, proto: number, sport: number | null, dport: number | null, dropped = false) => {
    const source = addressBytes(saddr);
    return { family: source.family, proto, saddr: source.bytes, daddr: addressBytes(daddr).bytes, sport, dport, dropped };
  };
  const terms = parseFilter('udp and port 53 or src net 10.9.0.0/16 or dropped');
  assert.equal(filterMatches(terms, packet('192.0.2.1', '192.0.2.2', 17, 5353, 53)), true);
  assert.equal(filterMatches(terms, packet('192.0.2.1', '192.0.2.2', 6, 5353, 53)), false);
  assert.equal(filterMatches(terms, packet('10.9.3.4', '192.0.2.2', 6, 1, 2)), true);
  assert.equal(filterMatches(terms, packet('192.0.2.2', '10.9.3.4', 6, 1, 2)), false, 'src only');
  assert.equal(filterMatches(terms, packet('fd00::1', 'fd00::2', 58, null, null, true)), true);
  // ICMP type/code are not ports; later fragments have none.
  assert.equal(filterMatches(parseFilter('port 8'), packet('192.0.2.1', '192.0.2.2', 1, 8, 0)), false);
  assert.equal(filterMatches(parseFilter('port 53'), packet('192.0.2.1', '192.0.2.2', 17, null, null)), false);
  // Non-IP frames match only terms without conditions on IP.
  const other = { family: null, proto: null, saddr: null, daddr: null, sport: null, dport: null, dropped: false };
  assert.equal(filterMatches(parseFilter('dropped or port 1'), other), false);
});
