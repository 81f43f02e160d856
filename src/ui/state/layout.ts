/**
 * Fitting table columns to the terminal width: the least important
 * columns go first when the minimum widths do not fit, and the space left
 * goes to the flexible ones. Cells are padded or cut to their width.
 */

export type Align = 'left' | 'right';

export interface ColumnShape {
  /** Narrowest useful width. */
  min: number;
  /** Share of the spare width (0: fixed). @default 0 */
  flex?: number;
  /** Widest it grows. @default unbounded */
  max?: number;
  /** Lower is more important; the highest goes first when space runs out. @default 0 */
  priority?: number;
}

/** One space between columns. */
export const COLUMN_GAP = 1;

/**
 * Widths of the columns that fit in `width` (0 for the ones dropped).
 * The sum of the kept widths plus one gap between each pair never exceeds `width`.
 */
export function fitColumns(columns: readonly ColumnShape[], width: number): number[] {
  const kept = columns.map(() => true);
  const used = () => columns.reduce((sum, column, i) => (kept[i] ? sum + column.min + COLUMN_GAP : sum), -COLUMN_GAP);
  while (used() > width) {
    let drop = -1;
    columns.forEach((column, i) => {
      if (kept[i] && (drop < 0 || (column.priority ?? 0) >= (columns[drop]?.priority ?? 0))) drop = i;
    });
    if (drop < 0 || kept.filter(Boolean).length === 1) break;
    kept[drop] = false;
  }
  const widths = columns.map((column, i) => (kept[i] ? column.min : 0));
  let spare = Math.max(0, width - used());
  // Hand out the spare width by flex share, repeatedly, as capped columns fill up.
  for (let round = 0; round < columns.length && spare > 0; round++) {
    const growing = columns.map((column, i) => (kept[i] && (column.flex ?? 0) > 0 && widths[i]! < (column.max ?? Infinity) ? (column.flex ?? 0) : 0));
    const shares = growing.reduce((sum, flex) => sum + flex, 0);
    if (shares === 0) break;
    let given = 0;
    columns.forEach((column, i) => {
      if (growing[i] === 0) return;
      const room = (column.max ?? Infinity) - widths[i]!;
      const add = Math.min(room, Math.floor((spare * growing[i]!) / shares));
      widths[i]! += add;
      given += add;
    });
    if (given === 0) {
      // Less spare than shares: one column each, most important first.
      const order = columns.map((_, i) => i).filter((i) => growing[i]! > 0);
      for (const i of order) {
        if (spare - given === 0) break;
        widths[i]! += 1;
        given++;
      }
    }
    spare -= given;
  }
  return widths;
}

/** `text` cut (with an ellipsis) or padded to exactly `width` characters. */
export function fitCell(text: string, width: number, align: Align = 'left'): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'right' ? pad + text : text + pad;
}
