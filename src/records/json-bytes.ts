/**
 * A record as one JSON line written straight into bytes: the same bytes as
 * Buffer.from(JSON.stringify(record)) for a record built in the schema's
 * order (src/records/columns.ts), with no string made on the way. Pure.
 *
 * Why: building the line as a string allocated about five times its
 * length (a rope node per concatenation, then a flat copy to write it),
 * 40% of all the allocation of a tracer writing 25 k records a second, and
 * the garbage that made its heap swell. Here a string value costs one pass
 * over its characters and no allocation; a number one small string at most.
 */
import { RECORD_COLUMNS, type ColumnKind } from './columns.js';
import type { HostflowRecord, RecordType } from './types.js';

/** Bytes written at the end of a buffer that grows when a write needs more room. */
export class ByteWriter {
  buffer: Buffer;
  length = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  /** Makes room for `bytes` more. */
  room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }

  /** Text as UTF-8, unescaped. */
  text(value: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  /** Bytes made once (a key and its punctuation). */
  bytes(value: Uint8Array): void {
    this.room(value.length);
    const { buffer } = this;
    // A key is a dozen bytes: a loop beats TypedArray#set's fixed cost by far at that size.
    if (value.length <= 32) {
      let at = this.length;
      for (let i = 0; i < value.length; i++) buffer[at++] = value[i] as number;
      this.length = at;
      return;
    }
    buffer.set(value, this.length);
    this.length += value.length;
  }
}

const HEX = '0123456789abcdef';
const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

/** The escape JSON.stringify writes for a character below 0x20, by code. */
const SHORT_ESCAPES: Record<number, number> = { 0x08: 0x62, 0x09: 0x74, 0x0a: 0x6e, 0x0c: 0x66, 0x0d: 0x72 };

/** `\uXXXX` with lower-case hex, as JSON.stringify escapes controls and lone surrogates. */
function unicodeEscape(buffer: Buffer, at: number, code: number): number {
  buffer[at] = 0x5c;
  buffer[at + 1] = 0x75;
  buffer[at + 2] = HEX.charCodeAt((code >> 12) & 0xf);
  buffer[at + 3] = HEX.charCodeAt((code >> 8) & 0xf);
  buffer[at + 4] = HEX.charCodeAt((code >> 4) & 0xf);
  buffer[at + 5] = HEX.charCodeAt(code & 0xf);
  return at + 6;
}

/** From this length on a string is copied natively first (the call costs more than a short string's loop). */
const PLAIN_COPY_MIN = 16;

/** No byte in [from, to) needs an escape: none below 0x20, no quote, no backslash (ASCII already checked). */
function plainBytes(buffer: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const byte = buffer[i] as number;
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c) return false;
  }
  return true;
}

/** A string as JSON.stringify writes it (ES2019: lone surrogates escaped), in UTF-8. */
export function writeJsonString(out: ByteWriter, value: string): void {
  // Worst case: six bytes per unit (an escape), and the quotes.
  out.room(value.length * 6 + 2);
  const buffer = out.buffer;
  let at = out.length;
  buffer[at++] = 0x22;
  // Longer strings (timestamps, paths) are mostly plain ASCII and often ropes: the engine copies them in one
  // native pass, and the bytes are checked after. As many bytes as units means every unit was ASCII.
  if (value.length >= PLAIN_COPY_MIN && buffer.write(value, at, 'utf8') === value.length && plainBytes(buffer, at, at + value.length)) {
    at += value.length;
    buffer[at++] = 0x22;
    out.length = at;
    return;
  }
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7f) {
      if (code === 0x22 || code === 0x5c) buffer[at++] = 0x5c;
      buffer[at++] = code;
    } else if (code < 0x20) {
      const short = SHORT_ESCAPES[code];
      if (short === undefined) at = unicodeEscape(buffer, at, code);
      else {
        buffer[at++] = 0x5c;
        buffer[at++] = short;
      }
    } else if (code < 0x800) {
      buffer[at++] = 0xc0 | (code >> 6);
      buffer[at++] = 0x80 | (code & 0x3f);
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        buffer[at++] = 0xf0 | (point >> 18);
        buffer[at++] = 0x80 | ((point >> 12) & 0x3f);
        buffer[at++] = 0x80 | ((point >> 6) & 0x3f);
        buffer[at++] = 0x80 | (point & 0x3f);
        i++;
      } else {
        at = unicodeEscape(buffer, at, code);
      }
    } else {
      buffer[at++] = 0xe0 | (code >> 12);
      buffer[at++] = 0x80 | ((code >> 6) & 0x3f);
      buffer[at++] = 0x80 | (code & 0x3f);
    }
  }
  buffer[at++] = 0x22;
  out.length = at;
}

/** Digits of a non-negative safe integer, straight into the buffer. */
function writeDigits(out: ByteWriter, value: number): void {
  out.room(16);
  const buffer = out.buffer;
  if (value <= 0x7fffffff) {
    // Ports, pids, most counts: integer division on small integers.
    let digits = 1;
    for (let rest = value; rest >= 10; rest = (rest / 10) | 0) digits++;
    let at = out.length + digits;
    out.length = at;
    let rest = value | 0;
    do {
      buffer[--at] = 0x30 + (rest % 10);
      rest = (rest / 10) | 0;
    } while (rest > 0);
    return;
  }
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let at = out.length + digits;
  out.length = at;
  let rest = value;
  do {
    buffer[--at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  } while (rest > 0);
}

/**
 * Below this, a number of whole thousandths prints as its plain decimal:
 * doubles there are far closer together than 0.001, so no shorter decimal
 * stands for the same double, and the engine's shortest form is that one.
 */
const THOUSANDTHS_MAX = 1e9;

/** A number as JSON.stringify writes it: NaN and the infinities are null. */
export function writeJsonNumber(out: ByteWriter, value: number): void {
  // The common case, counts and ports: digits without a string.
  if (Number.isSafeInteger(value) && value >= 0) return writeDigits(out, value);
  // Milliseconds to the microsecond (latencies, durations): digits without a string too.
  if (value > 0 && value < THOUSANDTHS_MAX) {
    const thousandths = Math.round(value * 1000);
    if (thousandths / 1000 === value) {
      writeDigits(out, Math.floor(thousandths / 1000));
      let fraction = thousandths % 1000;
      let digits = 3;
      while (fraction % 10 === 0) {
        fraction /= 10;
        digits--;
      }
      out.room(4);
      const buffer = out.buffer;
      buffer[out.length] = 0x2e;
      for (let i = digits; i > 0; i--) {
        buffer[out.length + i] = 0x30 + (fraction % 10);
        fraction = Math.floor(fraction / 10);
      }
      out.length += digits + 1;
      return;
    }
  }
  if (!Number.isFinite(value)) return out.bytes(NULL);
  // Negative, finer than thousandths, or past 2^53: the engine's shortest form (always ASCII).
  const text = String(value);
  out.room(text.length);
  out.length += out.buffer.write(text, out.length, 'latin1');
}

function writeText(out: ByteWriter, value: unknown): void {
  if (value == null) out.bytes(NULL);
  else if (typeof value === 'string') writeJsonString(out, value);
  else if (Array.isArray(value)) {
    out.byte(0x5b);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.byte(0x2c);
      const item: unknown = value[i];
      // As JSON.stringify: what a list cannot hold as JSON is null.
      if (typeof item === 'string') writeJsonString(out, item);
      else if (typeof item === 'number') writeJsonNumber(out, item);
      else out.bytes(NULL);
    }
    out.byte(0x5d);
  } else out.text(JSON.stringify(value));
}

function writeNumber(out: ByteWriter, value: unknown): void {
  if (typeof value === 'number') writeJsonNumber(out, value);
  else out.bytes(NULL);
}

function writeBoolean(out: ByteWriter, value: unknown): void {
  if (value == null) out.bytes(NULL);
  else out.bytes(value ? TRUE : FALSE);
}

/** The writer of a column kind, by its parameter name in the generated code. */
function writerOf(kind: ColumnKind): 'text' | 'number' | 'boolean' {
  if (kind.startsWith('boolean')) return 'boolean';
  if (kind.startsWith('int') || kind.startsWith('double')) return 'number';
  return 'text';
}

type Encode = (record: HostflowRecord, out: ByteWriter) => void;

/** `b[a + i] = byte;` for each byte, then the position moved past them. */
function constantStores(bytes: Buffer): string {
  return `${Array.from(bytes, (byte, i) => `b[a + ${i}] = ${byte};`).join(' ')} a += ${bytes.length};`;
}

/**
 * The encoder of one record type, generated from its columns: one call
 * per field in schema order. Only the schema's field names (checked to be
 * identifiers) reach the generated code.
 *
 * A key and its punctuation (and `null`, for a null field) are stores of
 * constant bytes in the generated code: copied from an array they took
 * about 5% of a connection flood's CPU (perf), four records per connection
 * and a dozen bytes per field. The room for every such byte still to come
 * is made before them, and again after each value, whose writer may have
 * grown the buffer.
 */
function compile(columns: Readonly<Record<string, ColumnKind>>): Encode {
  const fields = Object.entries(columns).map(([name, kind], index) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`record field '${name}' is not an identifier`);
    const key = Buffer.from(`${index === 0 ? '{' : ','}${JSON.stringify(name)}:`);
    return { name, writer: writerOf(kind), key, keyAndNull: Buffer.concat([key, NULL]) };
  });
  // Fixed bytes after each field (a null is the longer form of each), and the closing brace.
  const fixedAfter: number[] = [];
  let fixed = 1;
  for (let i = fields.length - 1; i >= 0; i--) {
    fixedAfter[i] = fixed;
    fixed += (fields[i] as (typeof fields)[number]).keyAndNull.length;
  }
  const lines = fields.map(
    ({ name, writer, key, keyAndNull }, index) =>
      `v = r.${name}; if (v == null) { ${constantStores(keyAndNull)} } else { ${constantStores(key)} o.length = a; ${writer}(o, v); o.room(${fixedAfter[index]}); b = o.buffer; a = o.length; }`,
  );
  const body = `return (r, o) => { o.room(${fixed}); let b = o.buffer; let a = o.length; let v; ${lines.join(' ')} b[a] = 0x7d; o.length = a + 1; };`;
  return new Function('text', 'number', 'boolean', body)(writeText, writeNumber, writeBoolean) as Encode;
}

const BY_TYPE = Object.fromEntries(Object.entries(RECORD_COLUMNS).map(([type, columns]) => [type, compile(columns)])) as Record<RecordType, Encode>;

/** Appends the record as a JSON object on one line (no newline). */
export function writeJsonLine(record: HostflowRecord, out: ByteWriter): void {
  BY_TYPE[record.type](record, out);
}
