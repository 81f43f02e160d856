/**
 * A process's command line for a record, from the bytes of
 * /proc/<pid>/cmdline: arguments NUL-separated, usually NUL-terminated
 * (a process that rewrote its title may pad with NULs or use spaces).
 * Pure.
 *
 * Control characters are kept: they are the process's, and the sinks
 * escape them (src/format/sanitize.ts, JSON). What this guarantees is text:
 * invalid UTF-8 becomes U+FFFD and a cut never splits a character.
 */

const TRAILING_NULS = /\0+$/;

const utf8 = new TextDecoder('utf-8');

/**
 * Where to end `bytes[0, end)` so that its last character is whole: back
 * before a lead byte whose sequence runs past `end`. A complete sequence
 * ending at `end` is kept whatever follows it.
 */
export function utf8Boundary(bytes: Uint8Array, end: number): number {
  let lead = end - 1;
  while (lead >= 0 && end - lead <= 3 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const first = bytes[lead] ?? 0;
  const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return lead + length > end ? lead : end;
}

/**
 * Arguments joined by spaces, trailing NULs dropped, at most `maxBytes`
 * bytes of UTF-8 cut on a character boundary; null when empty (a kernel
 * thread, a zombie, a process exiting).
 *
 * @param raw the file's first bytes (reading more than `maxBytes` is not needed)
 */
export function formatCmdline(raw: Uint8Array, maxBytes: number): string | null {
  const max = Math.max(0, Math.floor(maxBytes));
  let text = utf8.decode(raw.subarray(0, utf8Boundary(raw, Math.min(raw.length, max))));
  // Invalid bytes became U+FFFD (3 bytes each): cut again, now on valid UTF-8.
  if (Buffer.byteLength(text) > max) {
    const encoded = Buffer.from(text);
    text = utf8.decode(encoded.subarray(0, utf8Boundary(encoded, max)));
  }
  // Separators last, so that a cut never leaves one as a trailing space.
  text = text.replace(TRAILING_NULS, '').replaceAll('\0', ' ');
  return text === '' ? null : text;
}
