/** Small most-recent-first lists with a cap, for the few names and addresses a row keeps. */

/** Puts `value` first in `list` (moving it if present), keeping at most `cap` entries. */
export function pushRecent<T>(list: T[], value: T, cap: number): void {
  if (list[0] === value) return;
  const index = list.indexOf(value);
  if (index >= 0) list.splice(index, 1);
  list.unshift(value);
  if (list.length > cap) list.length = cap;
}

/**
 * Drops the oldest entries of an insertion-ordered map beyond `limit`. It
 * lets the map run a tenth over first and then trims in one pass: one
 * eviction per insert would walk the deleted slots at the map's front
 * every time. Returns how many entries went.
 */
export function trimOldest<K, V>(map: Map<K, V>, limit: number): number {
  if (map.size <= limit + Math.floor(limit / 10)) return 0;
  const excess = map.size - limit;
  let dropped = 0;
  for (const key of map.keys()) {
    if (dropped === excess) break;
    map.delete(key);
    dropped++;
  }
  return dropped;
}
