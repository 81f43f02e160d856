import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatCmdline, utf8Boundary } from '../../../src/system/cmdline.js';
import { sanitize } from '../../../src/format/sanitize.js';

const bytes = (text: string) => Buffer.from(text);

test('arguments are NUL-separated: joined by spaces, the trailing NUL dropped', () => {
  assert.equal(formatCmdline(bytes('curl\0-s\0https://example.com/\0'), 256), 'curl -s https://example.com/');
  assert.equal(formatCmdline(bytes('sh\0-c\0\0'), 256), 'sh -c', 'an empty last argument is not kept');
  assert.equal(formatCmdline(bytes('nginx: worker process\0\0\0\0\0\0'), 256), 'nginx: worker process', 'a rewritten title');
  assert.equal(formatCmdline(bytes('a\0\0b\0'), 256), 'a  b', 'an empty argument in the middle stays');
});

test('an empty command line (kernel thread, zombie, exiting process) is null', () => {
  assert.equal(formatCmdline(bytes(''), 256), null);
  assert.equal(formatCmdline(bytes('\0\0'), 256), null);
  assert.equal(formatCmdline(bytes('abc'), 0), null);
});

test('a command line is cut at the bound, never inside a character', () => {
  assert.equal(formatCmdline(bytes('abcdef\0'), 4), 'abcd');
  assert.equal(formatCmdline(bytes('abc\0def'), 4), 'abc', 'a cut on a separator drops it');
  // é 2 bytes, € 3, 😀 4: every cut through each of them.
  for (const char of ['é', '€', '😀']) {
    const text = `ab${char}cd`;
    const length = Buffer.byteLength(char);
    for (let max = 2; max < 2 + length; max++) assert.equal(formatCmdline(bytes(text), max), 'ab', `${char} cut at ${max}`);
    assert.equal(formatCmdline(bytes(text), 2 + length), `ab${char}`);
  }
  assert.equal(formatCmdline(bytes('😀'), 3), null);
});

test('the bound holds in bytes, and invalid UTF-8 becomes U+FFFD, still within it', () => {
  const invalid = Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x62]);
  assert.equal(formatCmdline(invalid, 256), 'a\ufffd\ufffd\ufffdb');
  const cut = formatCmdline(invalid, 5) ?? '';
  assert.ok(Buffer.byteLength(cut) <= 5, cut);
  assert.equal(cut, 'a\ufffd');
  // A separator before a replaced byte that the bound cuts is not a trailing space.
  assert.equal(formatCmdline(Uint8Array.from([0x61, 0x00, 0x80]), 3), 'a');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 90 }), (raw, max) => {
      const text = formatCmdline(raw, max);
      if (text === null) return;
      assert.ok(Buffer.byteLength(text) <= max);
      assert.ok(!text.endsWith(' ') || raw.includes(0x20));
      assert.equal(Buffer.from(text).toString('utf8'), text, 'well-formed');
    }),
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (text, max) => {
      const out = formatCmdline(bytes(text.replaceAll('\0', '')), max) ?? '';
      assert.ok(!out.includes('\ufffd'), 'valid input is never replaced');
      assert.ok(text.replaceAll('\0', '').startsWith(out));
    }),
  );
});

test('control characters are kept for the sinks to escape, and do escape', () => {
  const text = formatCmdline(bytes('printf\0\x1b[2J\x07\0'), 256);
  assert.equal(text, 'printf \x1b[2J\x07');
  assert.equal(sanitize(text ?? ''), 'printf \\x1b[2J\\x07');
});

test('utf8Boundary keeps a whole last character and steps back before a cut one', () => {
  const euro = bytes('a€');
  assert.equal(utf8Boundary(euro, 4), 4);
  assert.equal(utf8Boundary(euro, 3), 1);
  assert.equal(utf8Boundary(euro, 2), 1);
  assert.equal(utf8Boundary(euro, 1), 1);
  assert.equal(utf8Boundary(euro, 0), 0);
  assert.equal(utf8Boundary(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80]), 5), 5, 'stray continuation bytes are left to the decoder');
});
