import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PcapWriter } from '../../../src/capture/pcap-writer.js';
import type { CapturedPacket } from '../../../src/kernel/packets.js';
import { frame } from '../../helpers/frames.js';
import { readPcap, readPcapng } from '../../helpers/pcap.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Kernel time 1 s = 2026-01-01T00:00:00.000001Z + 1 s. */
const EPOCH_MS = Date.UTC(2026, 0, 1) + 0.001;
const clock = { wallMs: (ns: number) => EPOCH_MS + ns / 1e6 };

function packet(overrides: Partial<CapturedPacket> = {}): CapturedPacket {
  const data = overrides.data ?? frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', payload: 10 });
  return { tsNs: 1_000_000_000, cpu: 0, ifindex: 2, direction: 'in', wireLength: data.length, dropped: false, gso: false, data, ...overrides };
}

test('classic pcap: Ethernet, the snaplen, microsecond kernel timestamps, captured and real lengths', () => {
  const path = join(dir, 'classic.pcap');
  const writer = PcapWriter.open({ path, clock, snaplen: 96 });
  const big = frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', payload: 1400 });
  writer.write(packet());
  writer.write(packet({ tsNs: 1_000_123_456, data: big.subarray(0, 96), wireLength: big.length }));
  writer.close();
  const file = readPcap(readFileSync(path));
  assert.equal(file.linkType, 1);
  assert.equal(file.snaplen, 96);
  assert.equal(file.resolution, 'us');
  const [first, second] = file.packets;
  assert.equal(first?.seconds, Date.UTC(2026, 0, 1) / 1000 + 1);
  assert.equal(first?.fraction, 1);
  assert.equal(second?.fraction, 124);
  assert.equal(second?.capturedLength, 96);
  assert.equal(second?.originalLength, big.length);
  assert.ok(second?.data.equals(big.subarray(0, 96)));
  assert.equal(writer.stats.packets, 2);
  assert.equal(writer.stats.fileBytes, statSync(path).size);
});

test('pcapng: an interface block per interface, direction flags, and comments from the blocklist and the hook', () => {
  const path = join(dir, 'annotated.pcapng');
  const writer = PcapWriter.open({
    path,
    format: 'pcapng',
    clock,
    interfaceName: (ifindex) => `veth${ifindex}`,
    annotate: (p) => (p.ifindex === 2 ? 'process curl pid 42; dst host wörld.test' : null),
  });
  writer.write(packet({ dropped: true }));
  writer.write(packet({ ifindex: 3, direction: 'out', data: frame({ saddr: 'fd00::1', daddr: 'fd00::2', payload: 3 }) }));
  writer.write(packet({ ifindex: 2, tsNs: 2_000_000_000 }));
  writer.close();
  const file = readPcapng(readFileSync(path));
  assert.equal(file.sectionOptions.find((o) => o.code === 4)?.value.toString(), 'hostflow');
  assert.deepEqual(
    file.interfaces.map((i) => [i.name, i.linkType, i.tsresol, i.snaplen]),
    [
      ['veth2', 1, 6, 65536],
      ['veth3', 1, 6, 65536],
    ],
  );
  assert.deepEqual(
    file.packets.map((p) => [p.interfaceId, p.flags, p.comment]),
    [
      [0, 1, 'dropped by the hostflow blocklist; process curl pid 42; dst host wörld.test'],
      [1, 2, null],
      [0, 1, 'process curl pid 42; dst host wörld.test'],
    ],
  );
  assert.equal(file.packets[2]?.timestamp, BigInt(Date.UTC(2026, 0, 1) * 1000 + 1 + 2_000_000));
  assert.equal(file.packets[1]?.data.length, 14 + 40 + 8 + 3, 'odd lengths are padded in the block, not in the frame');
  assert.equal(writer.stats.annotated, 2);
});

test('an annotate hook that throws costs the comment, not the frame', () => {
  const path = join(dir, 'throwing.pcapng');
  const writer = PcapWriter.open({
    path,
    format: 'pcapng',
    clock,
    annotate: () => {
      throw new Error('boom');
    },
  });
  writer.write(packet());
  writer.close();
  assert.equal(readPcapng(readFileSync(path)).packets.length, 1);
  assert.equal(writer.stats.annotateErrors, 1);
});

test('writes are buffered until the buffer fills, frames larger than the buffer included', () => {
  const path = join(dir, 'buffered.pcap');
  const writer = PcapWriter.open({ path, clock, bufferBytes: 4096, flushIntervalMs: 0 });
  assert.equal(statSync(path).size, 24, 'the header is written at once');
  const small = packet();
  for (let i = 0; i < 10; i++) writer.write(small);
  assert.equal(statSync(path).size, 24, 'frames wait in the buffer');
  const huge = frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', payload: 9000 });
  writer.write(packet({ data: huge }));
  writer.write(small);
  writer.flush();
  const file = readPcap(readFileSync(path));
  assert.equal(file.packets.length, 12);
  assert.ok(file.packets[10]?.data.equals(huge));
  writer.close();
  writer.close();
  writer.write(small);
  assert.equal(readPcap(readFileSync(path)).packets.length, 12, 'nothing is written after close');
});

test('a file that cannot be created is a one-line error naming it', () => {
  assert.throws(() => PcapWriter.open({ path: join(dir, 'missing', 'x.pcap'), clock }), /cannot write the capture file .*missing\/x\.pcap: ENOENT/);
});
