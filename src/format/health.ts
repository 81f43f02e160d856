/**
 * The exit summary's shape: one line per topic, each saying plainly whether
 * it reports a problem, and a verdict after them. `ok` is healthy; `note`
 * is worth knowing and not a fault (a fallback in use, input hostflow could
 * not read); `PROBLEM` means records or events were lost or wrong and says
 * what to do. A healthy run reads as healthy. Pure.
 */

export type Health = 'ok' | 'note' | 'problem';

export interface SummaryLine {
  health: Health;
  /** What the line is about: 'events', 'libc', 'xdp', 'storage', ... */
  topic: string;
  text: string;
}

const WORD: Record<Health, string> = { ok: 'ok', note: 'note', problem: 'PROBLEM' };

export const ok = (topic: string, text: string): SummaryLine => ({ health: 'ok', topic, text });
export const note = (topic: string, text: string): SummaryLine => ({ health: 'note', topic, text });
export const problem = (topic: string, text: string): SummaryLine => ({ health: 'problem', topic, text });

/** "summary: ok events: 1520 delivered; none lost, malformed or late". */
export function formatSummaryLine(line: SummaryLine): string {
  return `summary: ${WORD[line.health]} ${line.topic}: ${line.text}`;
}

/** The last line: "summary: healthy: nothing lost, nothing failed" or "summary: 2 PROBLEMS: events, storage (see above)". */
export function verdictLine(lines: readonly SummaryLine[]): string {
  const topics = [...new Set(lines.filter((line) => line.health === 'problem').map((line) => line.topic))];
  const notes = lines.filter((line) => line.health === 'note').length;
  if (topics.length === 0) return `summary: healthy: nothing lost, nothing failed${notes > 0 ? ` (${notes} note${notes === 1 ? '' : 's'} above)` : ''}`;
  return `summary: ${topics.length} PROBLEM${topics.length === 1 ? '' : 'S'}: ${topics.join(', ')} (see above)`;
}

/** "drop_connect 3, drop_close 2" of the non-zero counts. */
export function byName(counts: Partial<Record<string, number>>): string {
  return Object.entries(counts)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

export function sum(counts: Partial<Record<string, number>>): number {
  return Object.values(counts).reduce((total: number, n) => total + (n ?? 0), 0);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Every line, then the verdict, as the log prints them. */
export function summaryText(lines: readonly SummaryLine[]): string[] {
  return [...lines.map(formatSummaryLine), verdictLine(lines)];
}
