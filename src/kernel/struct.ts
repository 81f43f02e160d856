/**
 * A tiny description of C structs, enough to mirror bpf/hostflow.h: fields
 * in declaration order with their C types; offsets and sizes follow the C
 * rules for natural alignment (what clang does for both the BPF target and
 * x86_64 with the explicit-width types the header uses). The layout test
 * compiles the header and checks every offset computed here.
 */

export type Scalar = 'u8' | 'u16' | 'u32' | 'u64' | 's32' | 'char';

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, char: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

/** `[name, type]` or `[name, type, arrayLength]`; type is a scalar or another struct. */
export type FieldSpec = readonly [string, Scalar | StructLayout] | readonly [string, Scalar | StructLayout, number];

export interface StructLayout {
  /** The C struct tag, e.g. 'hf_task'. */
  readonly cName: string;
  readonly size: number;
  readonly align: number;
  /** Offset of every field and nested field, by dotted path ('task.pid'). */
  readonly offsets: Readonly<Record<string, number>>;
  /** The C member designator of every path in `offsets` ('addrs.family' -> 'addrs[0].family'). */
  readonly designators: Readonly<Record<string, string>>;
  /** Bytes of padding the compiler would insert; hostflow.h spells all padding out, so this must be 0. */
  readonly implicitPadding: number;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function struct(cName: string, fields: readonly FieldSpec[]): StructLayout {
  const offsets: Record<string, number> = {};
  const designators: Record<string, string> = {};
  let offset = 0;
  let align = 1;
  let declared = 0;
  for (const [name, type, count = 1] of fields) {
    const fieldSize = typeof type === 'string' ? SCALAR_SIZE[type] : type.size;
    const fieldAlign = typeof type === 'string' ? SCALAR_SIZE[type] : type.align;
    offset = alignUp(offset, fieldAlign);
    align = Math.max(align, fieldAlign);
    offsets[name] = offset;
    designators[name] = name;
    if (typeof type !== 'string') {
      const prefix = count > 1 ? `${name}[0]` : name;
      for (const [inner, innerOffset] of Object.entries(type.offsets)) {
        offsets[`${name}.${inner}`] = offset + innerOffset;
        designators[`${name}.${inner}`] = `${prefix}.${type.designators[inner]}`;
      }
    }
    offset += fieldSize * count;
    declared += fieldSize * count;
  }
  const size = alignUp(offset, align);
  return { cName, size, align, offsets, designators, implicitPadding: size - declared };
}

/** Offset of a field, failing loudly at module load when the path is misspelt. */
export function offsetOf(layout: StructLayout, path: string): number {
  const offset = layout.offsets[path];
  if (offset === undefined) throw new Error(`struct ${layout.cName} has no field ${path}`);
  return offset;
}
