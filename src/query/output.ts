/**
 * A query's rows as text; pure. A table for a terminal (every value
 * escaped: hostnames and process names are hostile input and must never
 * put an escape sequence on the screen), JSON lines or CSV for programs.
 */
import { sanitize } from '../format/sanitize.js';
import type { QueryResult } from './engine.js';
import type { PlainValue } from './values.js';

export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One object per row, keyed by column; JSON escapes control characters itself. */
export function jsonLines(result: QueryResult): string {
  return result.rows.map((row) => `${JSON.stringify(Object.fromEntries(result.columns.map((column, i) => [column, row[i] ?? null])))}\n`).join('');
}

function csvField(value: PlainValue | undefined, escapeControls: boolean): string {
  if (value === null || value === undefined) return '';
  const text = Array.isArray(value) ? JSON.stringify(value) : String(value);
  const safe = escapeControls ? sanitize(text) : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** RFC 4180 with a header line; lists as JSON arrays; NULL as an empty field. `escapeControls` for a terminal. */
export function csv(result: QueryResult, escapeControls = false): string {
  const lines = [result.columns.map((column) => csvField(column, escapeControls)).join(',')];
  for (const row of result.rows) lines.push(result.columns.map((_, i) => csvField(row[i], escapeControls)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function cellText(value: PlainValue | undefined): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map((item) => cellText(item)).join(',');
  return sanitize(String(value));
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * Columns as wide as their widest value up to `maxWidth` (longer values
 * end in …), numbers right-aligned, and a line saying how many rows.
 */
export function table(result: QueryResult, maxWidth = 48): string {
  const cells = result.rows.map((row) => result.columns.map((_, i) => cellText(row[i])));
  const numeric = result.columns.map((_, i) => result.rows.length > 0 && result.rows.every((row) => row[i] === null || typeof row[i] === 'number'));
  const widths = result.columns.map((column, i) => Math.min(maxWidth, Math.max(sanitize(column).length, ...cells.map((row) => (row[i] as string).length))));
  const line = (values: string[]) =>
    values
      .map((value, i) => {
        const text = clip(value, widths[i] as number);
        return numeric[i] ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number);
      })
      .join('  ')
      .trimEnd();
  const out = [line(result.columns.map(sanitize)), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)];
  out.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}

export function formatResult(result: QueryResult, format: OutputFormat, terminal: boolean): string {
  if (format === 'json') return jsonLines(result);
  if (format === 'csv') return csv(result, terminal);
  return table(result);
}
