/**
 * `--since` and `--until`: an ISO date or time (UTC unless it says
 * otherwise), or a span back from now (`90m`, `6h`, `2d`, `1w`); pure.
 */
import { HostflowError } from '../errors.js';
import { normalizeTime } from '../storage/layout.js';

const SPAN = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The time as hostflow writes it (2026-11-23T18:36:04.123456Z). */
export function parseTimeFlag(flag: string, value: string, nowMs: number): string {
  const text = value.trim();
  const span = SPAN.exec(text);
  if (span) return normalizeTime(new Date(nowMs - Number(span[1]) * (UNIT_MS[span[2] as string] as number)).toISOString());
  let iso = text;
  if (/^\d{4}-\d\d-\d\d$/.test(iso)) iso = `${iso}T00:00:00Z`;
  else if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(iso)) iso = `${iso.replace(' ', 'T')}${iso.length === 16 ? ':00' : ''}Z`;
  try {
    return normalizeTime(iso.replace(' ', 'T'));
  } catch {
    throw new HostflowError(
      `query: ${flag} ${JSON.stringify(value)} is not a time: give 2026-11-23, 2026-11-23T18:00, an ISO time, or a span back from now such as 6h or 2d`,
    );
  }
}

export interface TimeRange {
  since?: string;
  until?: string;
}

export function timeRange(flags: { since?: string; until?: string }, nowMs = Date.now()): TimeRange {
  const range: TimeRange = {};
  if (flags.since !== undefined) range.since = parseTimeFlag('--since', flags.since, nowMs);
  if (flags.until !== undefined) range.until = parseTimeFlag('--until', flags.until, nowMs);
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
    throw new HostflowError(`query: --since ${flags.since} is not before --until ${flags.until}`);
  }
  return range;
}
