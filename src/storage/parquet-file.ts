/**
 * A Parquet file's parts around the columns' pages; pure: the schema
 * elements of a record type, a row group's column chunks (each page
 * SNAPPY-compressed behind its header) with their metadata, and the
 * footer. Layout and field numbers: the format's parquet.thrift.
 */
import snappy from 'snappyjs';
import { ByteWriter } from '../records/json-bytes.js';
import type { RecordType } from '../records/types.js';
import type { ColumnBuilder, ColumnStatistics, EncodedColumn, GroupSize } from './parquet-columns.js';
import { ListColumn, PHYSICAL, ScalarColumn } from './parquet-columns.js';
import { parquetFields, type ParquetField } from './parquet-schema.js';
import { binary, i32, i64, list, struct, writeStruct, type ThriftStruct } from './thrift-compact.js';

export const MAGIC = Buffer.from('PAR1');
const CODEC_SNAPPY = 1;
const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
const ENCODING_RLE = 3;
const REPETITION = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;
const CONVERTED = { UTF8: 0, LIST: 3, TIMESTAMP_MICROS: 10 } as const;
/** What wrote the file, in the footer, as readers show it. */
const CREATED_BY = 'hostflow';

const LEAF: Record<string, { physical: number; converted?: number }> = {
  UTF8: { physical: PHYSICAL.BYTE_ARRAY, converted: CONVERTED.UTF8 },
  INT32: { physical: PHYSICAL.INT32 },
  INT64: { physical: PHYSICAL.INT64 },
  DOUBLE: { physical: PHYSICAL.DOUBLE },
  BOOLEAN: { physical: PHYSICAL.BOOLEAN },
  TIMESTAMP_MICROS: { physical: PHYSICAL.INT64, converted: CONVERTED.TIMESTAMP_MICROS },
};

/** One record type's layout: its schema elements and, per top-level field, its leaf column. */
export interface FileLayout {
  schema: ThriftStruct[];
  leaves: Array<{ name: string; path: string[]; physical: number; optional: boolean; list: boolean; kind: ParquetField }>;
}

function element(name: string, field: ParquetField, repetition: number): ThriftStruct {
  const leaf = field.type && field.type !== 'LIST' ? LEAF[field.type] : undefined;
  const children = field.fields ? Object.keys(field.fields).length : undefined;
  return [
    [1, leaf ? i32(leaf.physical) : undefined],
    [3, i32(repetition)],
    [4, binary(name)],
    [5, children === undefined ? undefined : i32(children)],
    [6, leaf?.converted !== undefined ? i32(leaf.converted) : field.type === 'LIST' ? i32(CONVERTED.LIST) : undefined],
  ];
}

const layouts = new Map<RecordType, FileLayout>();

/** The schema of ./parquet-schema.ts as the footer's schema elements. */
export function fileLayout(type: RecordType): FileLayout {
  let layout = layouts.get(type);
  if (layout) return layout;
  const fields = parquetFields(type);
  const schema: ThriftStruct[] = [
    [
      [4, binary('root')],
      [5, i32(Object.keys(fields).length)],
    ],
  ];
  const leaves: FileLayout['leaves'] = [];
  for (const [name, field] of Object.entries(fields)) {
    const leafField = field.type === 'LIST' ? field.fields?.list?.fields?.element : field;
    // The writer has one codec; the schema says which, so a change there cannot go unnoticed.
    if (leafField?.compression !== 'SNAPPY') throw new Error(`Parquet column ${name}: compression ${leafField?.compression} is not the writer's SNAPPY`);
    const repetition = field.optional ? REPETITION.OPTIONAL : REPETITION.REQUIRED;
    schema.push(element(name, field, repetition));
    if (field.type === 'LIST') {
      const repeated = field.fields?.list as ParquetField;
      const item = repeated.fields?.element as ParquetField;
      schema.push(element('list', repeated, REPETITION.REPEATED));
      schema.push(element('element', item, REPETITION.REQUIRED));
      leaves.push({ name, path: [name, 'list', 'element'], physical: PHYSICAL.BYTE_ARRAY, optional: !!field.optional, list: true, kind: field });
    } else {
      leaves.push({
        name,
        path: [name],
        physical: (LEAF[field.type as string] as { physical: number }).physical,
        optional: !!field.optional,
        list: false,
        kind: field,
      });
    }
  }
  layout = { schema, leaves };
  layouts.set(type, layout);
  return layout;
}

const KIND_OF_TYPE: Record<string, 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'timestamp'> = {
  UTF8: 'string',
  INT32: 'int32',
  INT64: 'int64',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  TIMESTAMP_MICROS: 'timestamp',
};

/** Empty columns for one row group of the type, in schema order. */
export function newColumns(layout: FileLayout, size: GroupSize): ColumnBuilder[] {
  return layout.leaves.map((leaf) =>
    leaf.list
      ? new ListColumn(leaf.name, leaf.optional, size)
      : new ScalarColumn(leaf.name, leaf.optional, KIND_OF_TYPE[leaf.kind.type as string] as never, size),
  );
}

function statistics(stats: ColumnStatistics): ThriftStruct {
  return [
    [1, stats.legacy && stats.max ? binary(stats.max) : undefined],
    [2, stats.legacy && stats.min ? binary(stats.min) : undefined],
    [3, i64(stats.nullCount)],
    [5, stats.max ? binary(stats.max) : undefined],
    [6, stats.min ? binary(stats.min) : undefined],
  ];
}

/** A column chunk's bytes, and its ColumnChunk metadata, the chunk starting at `offset` in the file. */
export function columnChunk(
  encoded: EncodedColumn,
  leaf: FileLayout['leaves'][number],
  offset: number,
): { bytes: Buffer; metadata: ThriftStruct; uncompressed: number } {
  const out = new ByteWriter(64 * 1024);
  let dictionaryOffset: number | undefined;
  let dataOffset: number | undefined;
  let uncompressed = 0;
  for (const page of encoded.pages) {
    const compressed = snappy.compress(page.body) as Buffer;
    const start = out.length;
    if (page.dictionary) dictionaryOffset = offset + start;
    else dataOffset ??= offset + start;
    writeStruct(out, [
      [1, i32(page.dictionary ? PAGE.DICTIONARY : PAGE.DATA)],
      [2, i32(page.body.length)],
      [3, i32(compressed.length)],
      [
        5,
        page.dictionary
          ? undefined
          : struct([
              [1, i32(page.values)],
              [2, i32(page.encoding)],
              [3, i32(ENCODING_RLE)],
              [4, i32(ENCODING_RLE)],
            ]),
      ],
      [
        7,
        page.dictionary
          ? struct([
              [1, i32(page.values)],
              [2, i32(page.encoding)],
            ])
          : undefined,
      ],
    ]);
    uncompressed += out.length - start + page.body.length;
    out.bytes(compressed);
  }
  const metadata: ThriftStruct = [
    [1, i32(leaf.physical)],
    [2, list('i32', encoded.encodings)],
    [3, list('binary', leaf.path)],
    [4, i32(CODEC_SNAPPY)],
    [5, i64(encoded.values)],
    [6, i64(uncompressed)],
    [7, i64(out.length)],
    [9, i64(dataOffset ?? offset)],
    [11, dictionaryOffset === undefined ? undefined : i64(dictionaryOffset)],
    [12, struct(statistics(encoded.statistics))],
  ];
  return {
    bytes: Buffer.from(out.buffer.subarray(0, out.length)),
    metadata: [
      [2, i64(offset)],
      [3, struct(metadata)],
    ],
    uncompressed,
  };
}

/** A RowGroup struct, serialized once so the footer only copies it. */
export function rowGroupMetadata(chunks: ThriftStruct[], rows: number, offset: number, compressed: number, uncompressed: number): Buffer {
  const out = new ByteWriter(1024);
  writeStruct(out, [
    [1, list('struct', chunks)],
    [2, i64(uncompressed)],
    [3, i64(rows)],
    [5, i64(offset)],
    [6, i64(compressed)],
  ]);
  return Buffer.from(out.buffer.subarray(0, out.length));
}

/** FileMetaData, its length and the closing magic. */
export function footer(layout: FileLayout, rowGroups: Buffer[], rows: number): Buffer {
  const out = new ByteWriter(4096);
  writeStruct(out, [
    [1, i32(1)],
    [2, list('struct', layout.schema)],
    [3, i64(rows)],
    [4, list('struct', rowGroups)],
    [6, binary(CREATED_BY)],
    // TypeDefinedOrder for every leaf: readers then trust min_value/max_value.
    [
      7,
      list(
        'struct',
        layout.leaves.map((): ThriftStruct => [[1, struct([])]]),
      ),
    ],
  ]);
  const length = out.length;
  out.room(8);
  out.buffer.writeUInt32LE(length, out.length);
  out.length += 4;
  out.bytes(MAGIC);
  return Buffer.from(out.buffer.subarray(0, out.length));
}

/** Bytes the footer can take besides the row groups' metadata. */
export function footerBase(layout: FileLayout): number {
  const out = new ByteWriter(4096);
  for (const item of layout.schema) writeStruct(out, item);
  return out.length + 64 + 4 * layout.leaves.length;
}
