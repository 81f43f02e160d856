/**
 * Text that comes from outside (DNS names, process names) must never reach
 * a terminal raw: an escape sequence in a hostname could rewrite the
 * screen. Control characters (C0, DEL, C1), and the invisible direction
 * overrides, are shown escaped instead.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

function escape(char: string): string {
  if (char === '\\') return '\\\\';
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function sanitize(text: string): string {
  return text.replace(UNSAFE, escape);
}
