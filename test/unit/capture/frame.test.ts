import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packetAnnotator } from '../../../src/capture/annotate.js';
import { frameTuple } from '../../../src/capture/frame.js';
import type { CapturedPacket } from '../../../src/kernel/packets.js';
import { frame } from '../../helpers/frames.js';

test('a frame gives its addresses, protocol and TCP/UDP ports, VLAN or not', () => {
  assert.deepEqual(frameTuple(frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', proto: 6, sport: 1234, dport: 443 })), {
    family: 4,
    proto: 6,
    saddr: '10.0.0.1',
    daddr: '10.0.0.2',
    sport: 1234,
    dport: 443,
  });
  assert.deepEqual(frameTuple(frame({ saddr: 'fd00::1', daddr: 'fd00::2', sport: 53, dport: 5353, vlan: 7 })), {
    family: 6,
    proto: 17,
    saddr: 'fd00::1',
    daddr: 'fd00::2',
    sport: 53,
    dport: 5353,
  });
});

test('ICMP and later fragments have no ports; cut and non-IP frames give null', () => {
  assert.equal(frameTuple(frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', proto: 1 }))?.sport, null);
  assert.equal(frameTuple(frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', fragmentOffset: 10 }))?.dport, null);
  assert.equal(frameTuple(frame({ saddr: '10.0.0.1', daddr: '10.0.0.2' }).subarray(0, 30)), null);
  const arp = Buffer.alloc(42);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(frameTuple(arp), null);
});

test('the annotator names the process and the hosts it knows, and says nothing when it knows nothing', () => {
  const packet = (data: Buffer): CapturedPacket => ({
    tsNs: 0,
    cpu: 0,
    ifindex: 1,
    direction: 'out',
    wireLength: data.length,
    dropped: false,
    gso: false,
    data,
  });
  const annotate = packetAnnotator({
    nameOf: (address) => (address === '192.0.2.80' ? 'web.example.test' : null),
    processOf: (tuple) => (tuple.sport === 40000 ? { pid: 4242, comm: 'curl' } : null),
  });
  assert.equal(
    annotate(packet(frame({ saddr: '10.0.0.1', daddr: '192.0.2.80', proto: 6, sport: 40000, dport: 80 }))),
    'process curl pid 4242; dst host web.example.test',
  );
  assert.equal(annotate(packet(frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1 }))), null);
});
