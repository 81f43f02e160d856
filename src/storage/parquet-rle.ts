/**
 * Parquet's RLE / bit-packing hybrid, for definition and repetition levels
 * and dictionary indices; pure. Runs of 8 or more equal values are one RLE
 * run, everything between them is bit-packed in groups of 8 (the last group
 * padded with zeros: readers stop at the page's value count).
 */
import type { ByteWriter } from '../records/json-bytes.js';

/** Bits needed for values up to `max`; 0 for max 0, as the format says. */
export function bitWidth(max: number): number {
  let bits = 0;
  while (max > 0) {
    bits++;
    max = Math.floor(max / 2);
  }
  return bits;
}

function varint(out: ByteWriter, value: number): void {
  out.room(5);
  while (value >= 0x80) {
    out.buffer[out.length++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out.buffer[out.length++] = value;
}

/** How many values from `at` on equal values[at], counting at most `limit`. */
function runFrom(values: ArrayLike<number>, at: number, end: number, limit: number): number {
  const value = values[at];
  let run = 1;
  while (at + run < end && run < limit && values[at + run] === value) run++;
  return run;
}

/** values[start, end) at `width` bits each. */
export function writeHybrid(out: ByteWriter, values: ArrayLike<number>, start: number, end: number, width: number): void {
  const valueBytes = (width + 7) >> 3;
  let at = start;
  while (at < end) {
    const run = runFrom(values, at, end, Infinity);
    if (run >= 8 || at + run === end) {
      varint(out, run * 2);
      out.room(valueBytes);
      let value = values[at] as number;
      for (let i = 0; i < valueBytes; i++, value >>>= 8) out.buffer[out.length++] = value & 0xff;
      at += run;
      continue;
    }
    // Bit-packed groups of 8 until a run of 8 begins at a group's start.
    let stop = at + 8;
    while (stop < end && runFrom(values, stop, end, 8) < 8) stop += 8;
    const groups = Math.ceil((Math.min(stop, end) - at) / 8);
    varint(out, (groups << 1) | 1);
    out.room(groups * width);
    const buffer = out.buffer;
    let position = out.length;
    let bits = 0;
    let pending = 0;
    const last = at + groups * 8;
    if (width <= 24) {
      // pending + value << bits stays below 2^32: integer operations.
      for (let i = at; i < last; i++) {
        pending = (pending | ((i < end ? (values[i] as number) : 0) << bits)) >>> 0;
        bits += width;
        while (bits >= 8) {
          buffer[position++] = pending & 0xff;
          pending >>>= 8;
          bits -= 8;
        }
      }
      out.length = position;
      at = Math.min(stop, end);
      continue;
    }
    for (let i = at; i < last; i++) {
      const value = i < end ? (values[i] as number) : 0;
      // pending holds fewer than 8 bits, so pending + value << bits stays below 2^40.
      pending += value * 2 ** bits;
      bits += width;
      while (bits >= 8) {
        buffer[position++] = pending & 0xff;
        pending = Math.floor(pending / 256);
        bits -= 8;
      }
    }
    out.length = position;
    at = Math.min(stop, end);
  }
}

/** Levels as data page v1 stores them: the hybrid's byte length (4 bytes, little-endian) first. */
export function writeLevels(out: ByteWriter, levels: ArrayLike<number>, start: number, end: number, maxLevel: number): void {
  out.room(4);
  const lengthAt = out.length;
  out.length += 4;
  writeHybrid(out, levels, start, end, bitWidth(maxLevel));
  out.buffer.writeUInt32LE(out.length - lengthAt - 4, lengthAt);
}
