/**
 * One screen, as data: lines of toned segments and tables of fitted
 * cells. The controller builds it; the Ink components only draw it.
 */
import type { Align } from './layout.js';
import type { RowTone } from './views.js';

/** How a piece of text looks; the theme maps tones to terminal styles (and drops colour under NO_COLOR). */
export type Tone = 'normal' | 'title' | 'dim' | 'key' | 'tab' | 'tabActive' | 'heading' | 'headingSorted' | 'selected' | 'warn' | 'alert' | 'paused';

export interface Segment {
  text: string;
  tone: Tone;
}

export type Line = Segment[];

export interface TableRow {
  key: string;
  /** One cell per kept column, padded or cut to its width. */
  cells: string[];
  tone: RowTone;
  selected: boolean;
}

export interface TableFrame {
  /** Widths of the kept columns (a gap of one space follows each but the last). */
  widths: number[];
  aligns: Align[];
  heading: string[];
  /** Index of the column the rows are sorted by, -1 when not shown. */
  sortedColumn: number;
  rows: TableRow[];
}

export type Block = { kind: 'line'; line: Line } | { kind: 'table'; table: TableFrame };

export interface Frame {
  width: number;
  /** Lines drawn: one less than the terminal's rows, so the terminal never scrolls. */
  height: number;
  header: Line[];
  tabs: Line;
  caption: Line;
  /** Exactly `height - 5` lines' worth (a table counts its heading and rows). */
  body: Block[];
  footer: Line;
}

export const seg = (text: string, tone: Tone = 'normal'): Segment => ({ text, tone });

/** Lines a body block takes. */
export function blockHeight(block: Block): number {
  return block.kind === 'line' ? 1 : block.table.rows.length + 1;
}

/** Plain text of a line (tests, logs). */
export function lineText(line: Line): string {
  return line.map((segment) => segment.text).join('');
}
