/**
 * Thrift's compact protocol, write side only, for Parquet's page headers
 * and footer; pure. A struct is given as its fields in ascending id order,
 * each with the kind of value it holds; optional fields are left out.
 */
import { ByteWriter } from '../records/json-bytes.js';

/** A value: i32 and i64 are JS numbers (i64 within the safe integers). */
export type ThriftValue =
  | { t: 'bool'; v: boolean }
  | { t: 'i32'; v: number }
  | { t: 'i64'; v: number }
  | { t: 'binary'; v: string | Uint8Array }
  | { t: 'struct'; v: ThriftStruct }
  | { t: 'list'; of: 'i32' | 'binary' | 'struct'; v: ReadonlyArray<number | string | Uint8Array | ThriftStruct> };

/** Fields by id, ascending; undefined fields are not written. */
export type ThriftStruct = ReadonlyArray<readonly [number, ThriftValue | undefined]>;

const TYPE = { bool: 1, i32: 5, i64: 6, binary: 8, list: 9, struct: 12 } as const;

export const i32 = (v: number): ThriftValue => ({ t: 'i32', v });
export const i64 = (v: number): ThriftValue => ({ t: 'i64', v });
export const bool = (v: boolean): ThriftValue => ({ t: 'bool', v });
export const binary = (v: string | Uint8Array): ThriftValue => ({ t: 'binary', v });
export const struct = (v: ThriftStruct): ThriftValue => ({ t: 'struct', v });
export const list = (of: 'i32' | 'binary' | 'struct', v: ReadonlyArray<number | string | Uint8Array | ThriftStruct>): ThriftValue => ({ t: 'list', of, v });

function varint(out: ByteWriter, value: number): void {
  // Numbers past 2^31 cannot go through the bit operators: divide instead.
  out.room(10);
  while (value >= 0x80) {
    out.buffer[out.length++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out.buffer[out.length++] = value;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function bytesOf(out: ByteWriter, value: string | Uint8Array): void {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    varint(out, bytes);
    out.room(bytes);
    out.length += out.buffer.write(value, out.length, 'utf8');
  } else {
    varint(out, value.length);
    out.bytes(value);
  }
}

function element(out: ByteWriter, of: 'i32' | 'binary' | 'struct', value: number | string | Uint8Array | ThriftStruct): void {
  if (of === 'i32') varint(out, zigzag(value as number));
  else if (of === 'binary') bytesOf(out, value as string | Uint8Array);
  // A struct serialized earlier is copied as it is.
  else if (value instanceof Uint8Array) out.bytes(value);
  else writeStruct(out, value as ThriftStruct);
}

export function writeStruct(out: ByteWriter, fields: ThriftStruct): void {
  let last = 0;
  for (const [id, value] of fields) {
    if (value === undefined) continue;
    const type = value.t === 'bool' ? (value.v ? 1 : 2) : TYPE[value.t];
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.byte((delta << 4) | type);
    else {
      out.byte(type);
      varint(out, zigzag(id));
    }
    last = id;
    switch (value.t) {
      case 'bool':
        break;
      case 'i32':
      case 'i64':
        varint(out, zigzag(value.v));
        break;
      case 'binary':
        bytesOf(out, value.v);
        break;
      case 'struct':
        writeStruct(out, value.v);
        break;
      case 'list': {
        const size = value.v.length;
        if (size < 15) out.byte((size << 4) | TYPE[value.of]);
        else {
          out.byte(0xf0 | TYPE[value.of]);
          varint(out, size);
        }
        for (const item of value.v) element(out, value.of, item);
        break;
      }
    }
  }
  out.byte(0);
}
