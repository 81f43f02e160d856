/**
 * How full each bounded table is, and the warning before one starts to
 * lose entries: every kernel map and user-space table with a bound reports
 * its entries, its bound and the highest count it reached this run. Pure;
 * the session gathers the counts (Session.fillLevels).
 */

/** A table's fill: `used` now, `peak` the most it held this run, of `capacity`. */
export interface FillLevel {
  /** snake_case, as `ctl stats` keys it: 'connections', 'kernel_flows'. */
  table: string;
  used: number;
  peak: number;
  capacity: number;
  /** The option that sets the bound; null for a fixed one. */
  option: string | null;
}

/** Past this share of its bound a table is reported as nearly full. */
export const FILL_WARN_SHARE = 0.8;

const percent = (count: number, capacity: number): number => (capacity > 0 ? Math.round((1000 * count) / capacity) / 10 : 0);

/** Tables whose peak reached FILL_WARN_SHARE of their bound, fullest first. */
export function crowdedTables(levels: readonly FillLevel[]): FillLevel[] {
  return levels
    .filter((level) => level.capacity > 0 && level.peak >= FILL_WARN_SHARE * level.capacity)
    .sort((a, b) => b.peak / b.capacity - a.peak / a.capacity);
}

/** `ctl stats` keys: fill_<table> as "used/capacity", and fill_<table>_peak_pct. */
export function fillStats(levels: readonly FillLevel[]): Record<string, string | number> {
  const stats: Record<string, string | number> = {};
  for (const level of levels) {
    stats[`fill_${level.table}`] = `${level.used}/${level.capacity}`;
    stats[`fill_${level.table}_peak_pct`] = percent(level.peak, level.capacity);
  }
  return stats;
}

/** "connections 85% (of 1048576, --socket-table-size)": a crowded table, for a warning. */
export function describeCrowded(level: FillLevel): string {
  return `${level.table} ${percent(level.peak, level.capacity)}% (of ${level.capacity}${level.option ? `, ${level.option}` : ''})`;
}

/** The warning line's text, null when no table reached the warning share. */
export function crowdedWarning(levels: readonly FillLevel[]): string | null {
  const crowded = crowdedTables(levels);
  if (crowded.length === 0) return null;
  return `${crowded.map(describeCrowded).join(', ')}: over ${FILL_WARN_SHARE * 100}% full, the oldest entries go once one is full`;
}
