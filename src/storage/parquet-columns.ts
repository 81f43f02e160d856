/**
 * One row group's columns as they fill, record by record, and each column
 * as Parquet pages; pure. Values go into growing typed arrays (numbers,
 * booleans, definition and repetition levels) and text into a dictionary
 * per column (ids, each distinct string once), so adding a record costs
 * a type check and a store per field and no object per row. A column
 * chunk is written as a dictionary page and RLE_DICTIONARY data pages when
 * that is smaller than PLAIN, as PLAIN otherwise, with min/max statistics.
 */
import { ByteWriter } from '../records/json-bytes.js';
import type { Kind } from '../records/columns.js';
import { epochMicros, normalizeTime } from './layout.js';
import { bitWidth, writeHybrid, writeLevels } from './parquet-rle.js';

export const PHYSICAL = { BOOLEAN: 0, INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export const ENCODING = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;

/** One page of a column chunk, before compression. */
export interface RawPage {
  dictionary: boolean;
  /** Level entries (data page) or dictionary entries (dictionary page). */
  values: number;
  encoding: number;
  body: Buffer;
}

export interface ColumnStatistics {
  nullCount: number;
  min?: Buffer;
  max?: Buffer;
  /** Whether min and max may also go in the deprecated fields (signed numeric order). */
  legacy: boolean;
}

export interface EncodedColumn {
  pages: RawPage[];
  encodings: number[];
  /** Level entries in the chunk (rows, or list elements and empty or null lists). */
  values: number;
  statistics: ColumnStatistics;
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(array: T, need: number): T {
  if (need <= array.length) return array;
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(need, array.length * 2));
  bigger.set(array);
  return bigger;
}

const INITIAL = 1024;

/**
 * What a row group's columns add up to, kept as values are added so that
 * the size bound is a few operations per record, not a walk of columns.
 */
export class GroupSize {
  /** PLAIN bytes of the values and one byte per level entry: a bound of the data before compression. */
  bytes = 0;
  /** Bytes the chunks' min and max statistics can take at most. */
  statistics = 0;
}

/** Distinct strings of a column, numbered in order of appearance. */
class Dictionary {
  private readonly ids = new Map<string, number>();
  private longest = 0;
  private lastValue: string | null = null;
  private lastId = 0;
  readonly entries: string[] = [];
  readonly entryBytes: number[] = [];
  /** Bytes of the dictionary as a PLAIN page (length prefix and UTF-8 per entry). */
  bytes = 0;

  constructor(private readonly size: GroupSize) {}

  /** The entry's id. */
  id(value: string): number {
    // Many columns repeat their last value (type, event, probe, a process's fields): no hash lookup then.
    if (value === this.lastValue) return this.lastId;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.entries.length;
      this.ids.set(value, id);
      this.entries.push(value);
      const bytes = Buffer.byteLength(value);
      this.entryBytes.push(bytes);
      this.bytes += 4 + bytes;
      if (bytes > this.longest) {
        // Min and max of text are entries: twice the longest bounds them.
        this.size.statistics += 2 * (bytes - this.longest);
        this.longest = bytes;
      }
    }
    this.lastValue = value;
    this.lastId = id;
    return id;
  }
}

/** Microseconds since the epoch of an ISO-8601 time; NaN when it is none. */
class TimeParser {
  // No time starts with it: the first one is parsed.
  private second = '\u0000';
  private secondMicros = 0;

  micros(value: string): number {
    // Records carry normalized times (YYYY-MM-DDTHH:MM:SS.ffffffZ); consecutive ones share their second.
    if (value.length === 27 && value.charCodeAt(19) === 0x2e && value.charCodeAt(26) === 0x5a) {
      if (!value.startsWith(this.second)) {
        const ms = Date.parse(`${value.slice(0, 19)}Z`);
        if (!Number.isFinite(ms)) return NaN;
        this.second = value.slice(0, 19);
        this.secondMicros = ms * 1000;
      }
      let fraction = 0;
      for (let i = 20; i < 26; i++) {
        const digit = value.charCodeAt(i) - 0x30;
        if (digit < 0 || digit > 9) return NaN;
        fraction = fraction * 10 + digit;
      }
      return this.secondMicros + fraction;
    }
    try {
      return Number(epochMicros(normalizeTime(value)));
    } catch {
      return NaN;
    }
  }
}

/** A column of one row group: checks values, stores them, writes its pages. */
export abstract class ColumnBuilder {
  /** Rows added. */
  rows = 0;

  constructor(
    readonly name: string,
    readonly optional: boolean,
    protected readonly size: GroupSize,
  ) {}

  /** Whether the value fits the column; a value that does not is never added. */
  abstract fits(value: unknown): boolean;
  /** Adds a value that fits. */
  abstract add(value: unknown): void;
  /** The chunk's pages, `pageRows` rows per data page at most. */
  abstract encode(pageRows: number): EncodedColumn;
}

/** A column of one value per row: numbers, booleans, times or text. */
export class ScalarColumn extends ColumnBuilder {
  /** Definition levels (1 set, 0 null), for an optional column. */
  private defs = new Uint8Array(0);
  private nulls = 0;
  private count = 0;
  private numbers = new Float64Array(0);
  private ints = new Int32Array(0);
  private flags = new Uint8Array(0);
  private readonly dictionary: Dictionary | null;
  /** PLAIN bytes of the text values (length prefixes and UTF-8). */
  private textBytes = 0;
  private readonly times: TimeParser | null;
  /** The micros of the timestamp `fits` parsed last, so `add` does not parse it again. */
  private parsedTime = 0;

  constructor(
    name: string,
    optional: boolean,
    readonly kind: Exclude<Kind, 'list'>,
    size: GroupSize,
  ) {
    super(name, optional, size);
    this.dictionary = kind === 'string' ? new Dictionary(size) : null;
    if (kind !== 'string') size.statistics += 16;
    this.times = kind === 'timestamp' ? new TimeParser() : null;
    if (optional) this.defs = new Uint8Array(INITIAL);
    if (kind === 'int32' || kind === 'string') this.ints = new Int32Array(INITIAL);
    else if (kind === 'boolean') this.flags = new Uint8Array(INITIAL);
    else this.numbers = new Float64Array(INITIAL);
  }

  fits(value: unknown): boolean {
    if (value === null || value === undefined) return this.optional;
    switch (this.kind) {
      case 'string':
        return typeof value === 'string';
      case 'int32':
        return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31;
      case 'int64':
        return Number.isSafeInteger(value);
      case 'double':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      case 'timestamp':
        if (typeof value !== 'string') return false;
        this.parsedTime = (this.times as TimeParser).micros(value);
        return !Number.isNaN(this.parsedTime);
    }
  }

  add(value: unknown): void {
    const row = this.rows++;
    if (this.optional) {
      this.defs = grown(this.defs, row + 1);
      this.size.bytes++;
      if (value === null || value === undefined) {
        this.defs[row] = 0;
        this.nulls++;
        return;
      }
      this.defs[row] = 1;
    }
    const at = this.count++;
    switch (this.kind) {
      case 'string': {
        const dictionary = this.dictionary as Dictionary;
        const id = dictionary.id(value as string);
        this.ints = grown(this.ints, at + 1);
        this.ints[at] = id;
        const bytes = 4 + (dictionary.entryBytes[id] as number);
        this.textBytes += bytes;
        this.size.bytes += bytes;
        break;
      }
      case 'int32':
        this.ints = grown(this.ints, at + 1);
        this.ints[at] = value as number;
        this.size.bytes += 4;
        break;
      case 'boolean':
        this.flags = grown(this.flags, at + 1);
        this.flags[at] = value ? 1 : 0;
        this.size.bytes += 1;
        break;
      case 'timestamp':
        this.numbers = grown(this.numbers, at + 1);
        this.numbers[at] = this.parsedTime;
        this.size.bytes += 8;
        break;
      default:
        this.numbers = grown(this.numbers, at + 1);
        this.numbers[at] = value as number;
        this.size.bytes += 8;
    }
  }

  encode(pageRows: number): EncodedColumn {
    const dictionary = this.dictionary ? dictionaryPlan(this.dictionary, this.count, this.textBytes) : this.numberDictionary();
    const ids = dictionary && 'ids' in dictionary ? dictionary.ids : this.ints;
    const pages: RawPage[] = dictionary ? [dictionary.page] : [];
    const out = new ByteWriter(64 * 1024);
    let value = 0;
    for (let start = 0; start < this.rows; start += pageRows) {
      const end = Math.min(this.rows, start + pageRows);
      out.length = 0;
      let values = end - start;
      if (this.optional) {
        writeLevels(out, this.defs, start, end, 1);
        values = 0;
        for (let row = start; row < end; row++) values += this.defs[row] as number;
      }
      if (dictionary) {
        out.byte(dictionary.width);
        writeHybrid(out, ids, value, value + values, dictionary.width);
      } else this.writePlain(out, value, value + values);
      value += values;
      pages.push(dataPage(out, end - start, Boolean(dictionary)));
    }
    return {
      pages,
      encodings: chunkEncodings(Boolean(dictionary)),
      values: this.rows,
      statistics: this.statistics(dictionary && 'plain' in dictionary ? dictionary.plain : null),
    };
  }

  /**
   * The numbers' dictionary when it and the indices are smaller than
   * PLAIN: pids, ports, uids, a flow interval's times and small counters
   * repeat; byte counters and most times do not, which the first 1024
   * values tell before much work is done.
   */
  private numberDictionary(): { page: RawPage; width: number; ids: Int32Array } | null {
    if (this.kind === 'boolean' || this.count === 0) return null;
    const source = this.kind === 'int32' ? this.ints : this.numbers;
    const valueBytes = this.kind === 'int32' ? 4 : 8;
    const count = this.count;
    const ids = new Int32Array(count);
    const known = new Map<number, number>();
    const entries: number[] = [];
    let last = NaN;
    let lastId = 0;
    for (let i = 0; i < count; i++) {
      const value = source[i] as number;
      if (value !== last) {
        let id = known.get(value);
        if (id === undefined) {
          id = entries.length;
          known.set(value, id);
          entries.push(value);
          if (entries.length > count / 2 || (i === 1023 && entries.length > 512)) return null;
        }
        last = value;
        lastId = id;
      }
      ids[i] = lastId;
    }
    const width = bitWidth(entries.length - 1);
    if (entries.length * valueBytes + Math.ceil((count * (width + 6)) / 8) + 16 >= count * valueBytes) return null;
    const out = new ByteWriter(entries.length * valueBytes);
    writePlainNumbers(out, this.kind, this.kind === 'int32' ? Int32Array.from(entries) : Float64Array.from(entries), 0, entries.length);
    return { page: { dictionary: true, values: entries.length, encoding: ENCODING.PLAIN, body: Buffer.from(out.buffer.subarray(0, out.length)) }, width, ids };
  }

  private writePlain(out: ByteWriter, from: number, to: number): void {
    const n = to - from;
    switch (this.kind) {
      case 'string': {
        const entries = (this.dictionary as Dictionary).entries;
        for (let i = from; i < to; i++) {
          const text = entries[this.ints[i] as number] as string;
          out.room(4 + text.length * 3);
          const length = out.buffer.write(text, out.length + 4, 'utf8');
          out.buffer.writeUInt32LE(length, out.length);
          out.length += 4 + length;
        }
        return;
      }
      case 'boolean': {
        out.room((n + 7) >> 3);
        out.buffer.fill(0, out.length, out.length + ((n + 7) >> 3));
        const buffer = out.buffer;
        for (let i = 0; i < n; i++) if (this.flags[from + i]) buffer[out.length + (i >> 3)] = (buffer[out.length + (i >> 3)] as number) | (1 << (i & 7));
        out.length += (n + 7) >> 3;
        return;
      }
      case 'int32':
        writePlainNumbers(out, this.kind, this.ints, from, to);
        return;
      default:
        writePlainNumbers(out, this.kind, this.numbers, from, to);
    }
  }

  private statistics(dictionaryBody: Buffer | null): ColumnStatistics {
    const statistics: ColumnStatistics = { nullCount: this.nulls, legacy: this.kind !== 'string' };
    if (this.count === 0) return statistics;
    switch (this.kind) {
      case 'string':
        return { ...statistics, ...textRange(this.dictionary as Dictionary, dictionaryBody) };
      case 'boolean': {
        let any = 0;
        let all = 1;
        for (let i = 0; i < this.count; i++) {
          any |= this.flags[i] as number;
          all &= this.flags[i] as number;
        }
        return { ...statistics, min: Buffer.from([all]), max: Buffer.from([any]) };
      }
      case 'int32': {
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < this.count; i++) {
          const v = this.ints[i] as number;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        const bytes = Buffer.alloc(8);
        bytes.writeInt32LE(min, 0);
        bytes.writeInt32LE(max, 4);
        return { ...statistics, min: bytes.subarray(0, 4), max: bytes.subarray(4) };
      }
      default: {
        // NaN has no place in an order: left out, as the format asks.
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < this.count; i++) {
          const v = this.numbers[i] as number;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        if (min > max) return statistics;
        const bytes = Buffer.alloc(16);
        const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
        if (this.kind === 'double') {
          view.setFloat64(0, min, true);
          view.setFloat64(8, max, true);
        } else {
          setInt64(view, 0, min);
          setInt64(view, 8, max);
        }
        return { ...statistics, min: bytes.subarray(0, 8), max: bytes.subarray(8) };
      }
    }
  }
}

/**
 * A list of strings per row (`addrs`, `cnames`): a 3-level LIST, one level
 * entry per element and one per empty or null list; repetition level 0
 * starts a row, 1 continues it.
 */
export class ListColumn extends ColumnBuilder {
  private defs = new Uint8Array(INITIAL);
  private reps = new Uint8Array(INITIAL);
  private entries = 0;
  private ids = new Int32Array(INITIAL);
  private count = 0;
  private empties = 0;
  private textBytes = 0;
  private readonly dictionary: Dictionary;
  private readonly maxDef: number;

  constructor(name: string, optional: boolean, size: GroupSize) {
    super(name, optional, size);
    this.dictionary = new Dictionary(size);
    this.maxDef = optional ? 2 : 1;
  }

  fits(value: unknown): boolean {
    if (value === null || value === undefined) return this.optional;
    if (!Array.isArray(value)) return false;
    for (const item of value) if (typeof item !== 'string') return false;
    return true;
  }

  private entry(def: number, rep: number): void {
    const at = this.entries++;
    if (at >= this.defs.length) {
      this.defs = grown(this.defs, at + 1);
      this.reps = grown(this.reps, at + 1);
    }
    this.defs[at] = def;
    this.reps[at] = rep;
    this.size.bytes++;
  }

  add(value: unknown): void {
    this.rows++;
    if (value === null || value === undefined || (value as string[]).length === 0) {
      this.entry(value ? this.maxDef - 1 : 0, 0);
      this.empties++;
      return;
    }
    const items = value as string[];
    this.ids = grown(this.ids, this.count + items.length);
    for (let i = 0; i < items.length; i++) {
      this.entry(this.maxDef, i === 0 ? 0 : 1);
      const id = this.dictionary.id(items[i] as string);
      this.ids[this.count++] = id;
      const bytes = 4 + (this.dictionary.entryBytes[id] as number);
      this.textBytes += bytes;
      this.size.bytes += bytes;
    }
  }

  encode(pageRows: number): EncodedColumn {
    const dictionary = dictionaryPlan(this.dictionary, this.count, this.textBytes);
    const pages: RawPage[] = dictionary ? [dictionary.page] : [];
    const out = new ByteWriter(64 * 1024);
    let value = 0;
    let start = 0;
    while (start < this.entries) {
      // The page ends where row number pageRows after its first begins.
      let end = start + 1;
      let rows = 1;
      while (end < this.entries && (this.reps[end] !== 0 || rows < pageRows)) {
        if (this.reps[end] === 0) rows++;
        end++;
      }
      out.length = 0;
      writeLevels(out, this.reps, start, end, 1);
      writeLevels(out, this.defs, start, end, this.maxDef);
      let values = 0;
      for (let i = start; i < end; i++) if (this.defs[i] === this.maxDef) values++;
      if (dictionary) {
        out.byte(dictionary.width);
        writeHybrid(out, this.ids, value, value + values, dictionary.width);
      } else {
        for (let i = value; i < value + values; i++) {
          const text = this.dictionary.entries[this.ids[i] as number] as string;
          out.room(4 + text.length * 3);
          const length = out.buffer.write(text, out.length + 4, 'utf8');
          out.buffer.writeUInt32LE(length, out.length);
          out.length += 4 + length;
        }
      }
      value += values;
      pages.push(dataPage(out, end - start, Boolean(dictionary)));
      start = end;
    }
    return {
      pages,
      encodings: chunkEncodings(Boolean(dictionary)),
      values: this.entries,
      statistics: { nullCount: this.empties, legacy: false, ...textRange(this.dictionary, dictionary?.plain ?? null) },
    };
  }
}

/** A data page of what `out` holds: `entries` level entries, values indices into the dictionary or PLAIN. */
function dataPage(out: ByteWriter, entries: number, dictionary: boolean): RawPage {
  return {
    dictionary: false,
    values: entries,
    encoding: dictionary ? ENCODING.RLE_DICTIONARY : ENCODING.PLAIN,
    body: Buffer.from(out.buffer.subarray(0, out.length)),
  };
}

/** The encodings a column chunk's pages use, for its metadata. */
function chunkEncodings(dictionary: boolean): number[] {
  return dictionary ? [ENCODING.PLAIN, ENCODING.RLE, ENCODING.RLE_DICTIONARY] : [ENCODING.PLAIN, ENCODING.RLE];
}

/** Min and max of a dictionary's entries by bytes (UTF-8 order, as readers compare); every entry is used. */
function textRange(dictionary: Dictionary, dictionaryBody: Buffer | null): { min?: Buffer; max?: Buffer } {
  if (dictionary.entries.length === 0) return {};
  const body = dictionaryBody ?? plainDictionary(dictionary);
  let at = 0;
  let min: Buffer | null = null;
  let max: Buffer | null = null;
  for (const bytes of dictionary.entryBytes) {
    const entry = body.subarray(at + 4, at + 4 + bytes);
    at += 4 + bytes;
    if (!min || Buffer.compare(entry, min) < 0) min = entry;
    if (!max || Buffer.compare(entry, max) > 0) max = entry;
  }
  return { min: Buffer.from(min as Buffer), max: Buffer.from(max as Buffer) };
}

/** Numbers source[from, to) as PLAIN: INT32, DOUBLE or INT64 (times and counters), little-endian. */
function writePlainNumbers(out: ByteWriter, kind: Kind, source: Int32Array | Float64Array, from: number, to: number): void {
  const n = to - from;
  const size = kind === 'int32' ? 4 : 8;
  out.room(size * n);
  const view = new DataView(out.buffer.buffer, out.buffer.byteOffset + out.length, size * n);
  if (kind === 'int32') for (let i = 0; i < n; i++) view.setInt32(4 * i, source[from + i] as number, true);
  else if (kind === 'double') for (let i = 0; i < n; i++) view.setFloat64(8 * i, source[from + i] as number, true);
  else for (let i = 0; i < n; i++) setInt64(view, 8 * i, source[from + i] as number);
  out.length += size * n;
}

/** A safe integer as a little-endian INT64. */
function setInt64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setInt32(at + 4, Math.floor(value / 2 ** 32), true);
}

/** The dictionary's entries as a PLAIN page body. */
function plainDictionary(dictionary: Dictionary): Buffer {
  const body = Buffer.allocUnsafe(dictionary.bytes);
  let at = 0;
  for (let id = 0; id < dictionary.entries.length; id++) {
    const bytes = dictionary.entryBytes[id] as number;
    body.writeUInt32LE(bytes, at);
    body.write(dictionary.entries[id] as string, at + 4, 'utf8');
    at += 4 + bytes;
  }
  return body;
}

/**
 * Dictionary encoding when its worst case is smaller than PLAIN: the
 * dictionary page and the indices, at most (width + 6) bits each (an RLE
 * run of 8 takes 6 bytes at most, a bit-packed group of 8 adds 3 bits each).
 */
function dictionaryPlan(dictionary: Dictionary, count: number, valuesPlainBytes: number): { page: RawPage; width: number; plain: Buffer } | null {
  const width = bitWidth(Math.max(0, dictionary.entries.length - 1));
  if (dictionary.bytes + Math.ceil((count * (width + 6)) / 8) + 16 >= valuesPlainBytes) return null;
  const plain = plainDictionary(dictionary);
  return { page: { dictionary: true, values: dictionary.entries.length, encoding: ENCODING.PLAIN, body: plain }, width, plain };
}
