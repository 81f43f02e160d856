import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitize } from '../../../src/format/sanitize.js';

test('escape sequences and control characters are shown, never passed through', () => {
  assert.equal(sanitize('evil\u001b[2J\u001b]0;pwned\u0007.test'), 'evil\\x1b[2J\\x1b]0;pwned\\x07.test');
  assert.equal(sanitize('a\nb\rc\td\u0000'), 'a\\x0ab\\x0dc\\x09d\\x00');
  assert.equal(sanitize('c1\u009bcsi'), 'c1\\x9bcsi');
  assert.equal(sanitize('rtl\u202eexe.txt'), 'rtl\\u202eexe.txt');
});

test('ordinary names pass unchanged, and a backslash cannot fake an escape', () => {
  assert.equal(sanitize('www.example.com'), 'www.example.com');
  assert.equal(sanitize('bücher.example'), 'bücher.example');
  assert.equal(sanitize('a\\x1b'), 'a\\\\x1b');
});
