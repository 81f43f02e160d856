import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, formatAnswer, parseRequest, quote } from '../../../src/control/protocol.js';

test('a request is a command and its arguments, optionally prefixed with json', () => {
  const parsed = parseRequest('  block-src\t10.0.0.0/8 \r');
  assert.equal(parsed.kind, 'request');
  if (parsed.kind !== 'request') return;
  assert.equal(parsed.request.command.name, 'block-src');
  assert.deepEqual(parsed.request.args, ['10.0.0.0/8']);
  assert.equal(parsed.request.json, false);
  const json = parseRequest('JSON LIST-SRC 5');
  assert.ok(json.kind === 'request' && json.request.json && json.request.command.name === 'list-src');
});

test('blank lines are no request; unknown commands and wrong argument counts are errors', () => {
  assert.deepEqual(parseRequest(' \t'), { kind: 'empty' });
  assert.deepEqual(parseRequest('frobnicate now'), { kind: 'error', json: false, error: `unknown command 'frobnicate' (try: help)` });
  assert.deepEqual(parseRequest('json'), { kind: 'error', json: true, error: `'json' needs a command after it` });
  assert.deepEqual(parseRequest('block-src'), { kind: 'error', json: false, error: 'usage: block-src ADDRESS|PREFIX' });
  assert.deepEqual(parseRequest('list-block-src extra'), { kind: 'error', json: false, error: 'usage: list-block-src' });
});

test('garbage is quoted back printable and short', () => {
  assert.equal(quote('\u0000\u001b[31mred\u00ff'), '??[31mred?');
  assert.equal(quote('x'.repeat(100)).length, 43);
  const parsed = parseRequest('\u0001\u0002\u0003');
  assert.ok(parsed.kind === 'error' && parsed.error.startsWith(`unknown command '???'`));
});

test('text answers end with ok or are one error line; JSON answers are one line', () => {
  assert.equal(formatAnswer({ ok: true, command: 'list-hosts', result: [], lines: ['a b', 'c d'] }, false), 'a b\nc d\nok\n');
  assert.equal(formatAnswer({ ok: true, command: 'list-hosts', result: [], lines: [] }, false), 'ok\n');
  assert.equal(formatAnswer({ ok: false, command: null, error: 'two\nlines' }, false), 'error: two lines\n');
  assert.equal(formatAnswer({ ok: true, command: 'stats', result: { a: 1 }, lines: ['a 1'] }, true), '{"ok":true,"command":"stats","result":{"a":1}}\n');
  assert.equal(formatAnswer({ ok: false, command: 'block-src', error: 'no' }, true), '{"ok":false,"command":"block-src","error":"no"}\n');
});

test('every command of the seed is there, with the new ones', () => {
  const names = COMMANDS.map((command) => command.name);
  for (const name of ['list-src', 'list-dst', 'list-block-src', 'block-src', 'unblock-src', 'list-hosts', 'stats']) assert.ok(names.includes(name), name);
});
