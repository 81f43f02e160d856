/**
 * Decoding throughput of one batch path: a 1 MiB batch of mixed records
 * (connect, close, lookup) through decodeBatch, next to the same events
 * handed over as JSON text and parsed with JSON.parse, the obvious
 * alternative to a binary ring-buffer format.
 */
import { decodeBatch } from '../src/kernel/decode.js';
import { AF_INET, EventType, closeEvent, connectEvent, lookupEvent } from '../src/kernel/layout.js';
import type { StructLayout } from '../src/kernel/struct.js';

function record(layout: StructLayout, type: number): Buffer {
  const bytes = Buffer.alloc(layout.size);
  const at = (path: string) => layout.offsets[path] ?? 0;
  bytes.writeUInt32LE(type, at('hdr.type'));
  bytes.writeBigUInt64LE(123_456_789_000n, at('hdr.ts_ns'));
  if (layout !== lookupEvent) {
    bytes.writeUInt16LE(AF_INET, at('tuple.family'));
    bytes.set([10, 0, 0, 1], at('tuple.saddr'));
    bytes.set([10, 0, 0, 2], at('tuple.daddr'));
  } else {
    bytes.write('www.example.com\0', at('name'));
    bytes.writeUInt32LE(2, at('naddrs'));
    for (let i = 0; i < 2; i++) {
      bytes.writeUInt16LE(AF_INET, at('addrs.family') + i * 24);
      bytes.set([93, 184, 216, 34 + i], at('addrs.addr') + i * 24);
    }
  }
  if (layout === connectEvent) bytes.writeUInt32LE(3, at('probe'));
  bytes.write('curl\0', at('task.comm'));
  return bytes;
}

function buildBatch(targetBytes: number): { batch: Buffer; records: number } {
  const kinds = [record(connectEvent, EventType.connect), record(closeEvent, EventType.close), record(lookupEvent, EventType.lookup)];
  const parts: Buffer[] = [];
  let size = 0;
  let records = 0;
  while (size < targetBytes) {
    const body = kinds[records % kinds.length] as Buffer;
    const head = Buffer.alloc(8);
    head.writeUInt32LE(body.length, 0);
    const padded = Buffer.alloc((body.length + 7) & ~7);
    body.copy(padded);
    parts.push(head, padded);
    size += 8 + padded.length;
    records++;
  }
  return { batch: Buffer.concat(parts), records };
}

/** Items per second of `run` (which handles `records` items) over `seconds`, after one warm-up run. */
export function rate(run: () => void, records: number, seconds = 1): number {
  run();
  const start = process.hrtime.bigint();
  let rounds = 0;
  while (Number(process.hrtime.bigint() - start) < seconds * 1e9) {
    run();
    rounds++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return Math.round((rounds * records) / elapsed);
}

export function benchDecode(): Record<string, unknown> {
  const { batch, records } = buildBatch(1 << 20);
  let sink = 0;
  const decoded = rate(() => decodeBatch(batch, () => sink++, { records: 0, malformed: 0 }), records);
  const events: unknown[] = [];
  decodeBatch(batch, (event) => events.push(event), { records: 0, malformed: 0 });
  const jsonLines = events.map((event) => JSON.stringify(event, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  const reference = rate(() => {
    for (const line of jsonLines) sink += (JSON.parse(line) as { tsNs: number }).tsNs > 0 ? 1 : 0;
  }, records);
  return {
    name: 'decode_batch',
    unit: 'events/s',
    batch_bytes: batch.length,
    records_per_batch: records,
    value: decoded,
    reference: { name: 'JSON.parse of the same events as JSON lines', value: reference },
    ratio: Number((decoded / reference).toFixed(3)),
    sink: sink > 0,
  };
}
