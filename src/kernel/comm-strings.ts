/**
 * Process names (comm, at most 16 bytes) decoded once and shared: a flood
 * of connections comes from a few processes, so every event's comm is one
 * of a few strings. Decoding text per event cost a call into the text
 * decoder and a new string that each open connection then kept.
 */
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Distinct names kept; past it they are all dropped and learned again (a storm of random names cannot grow this). */
const KEPT = 4096;

interface Kept {
  bytes: Uint8Array;
  text: string;
}

export class CommStrings {
  private readonly kept = new Map<number, Kept>();

  /** The text of the NUL-terminated name at bytes[offset, offset + max). */
  read(bytes: Uint8Array, offset: number, max: number): string {
    // FNV-1a over the name's bytes, to its NUL.
    let hash = 0x811c9dc5;
    let end = offset;
    for (const limit = offset + max; end < limit; end++) {
      const byte = bytes[end] as number;
      if (byte === 0) break;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    const found = this.kept.get(hash);
    if (found !== undefined && sameBytes(found.bytes, bytes, offset, end)) return found.text;
    const text = utf8.decode(bytes.subarray(offset, end));
    // A hash shared by two names keeps the first; the second is decoded each time.
    if (found === undefined) {
      if (this.kept.size === KEPT) this.kept.clear();
      this.kept.set(hash, { bytes: bytes.slice(offset, end), text });
    }
    return text;
  }
}

function sameBytes(kept: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (kept.length !== end - start) return false;
  for (let i = 0; i < kept.length; i++) if (kept[i] !== bytes[start + i]) return false;
  return true;
}
