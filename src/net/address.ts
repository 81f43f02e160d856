/**
 * Printing addresses the usual way: dotted quads for IPv4, RFC 5952 text
 * for IPv6 (lower case, longest run of zero groups compressed, first run on
 * a tie, a single zero group never compressed, IPv4-mapped as ::ffff:a.b.c.d).
 */

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));

  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) return `::ffff:${formatIPv4(bytes, offset + 12)}`;

  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** family is 4 or 6. */
export function formatAddress(family: 4 | 6, bytes: Uint8Array, offset = 0): string {
  return family === 4 ? formatIPv4(bytes, offset) : formatIPv6(bytes, offset);
}
