/**
 * The keymap has three readers: the controller's `press`, the help screen
 * and the footer. These tests hold them to one another: every key the help
 * screen or a footer offers is bound where it is offered and does
 * something; every bound key is named on the help screen or in a footer;
 * and a key the keymap does not bind in a mode does nothing there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UiController } from '../../../../src/ui/state/controller.js';
import { lineText, type Frame, type Line } from '../../../../src/ui/state/frame.js';
import { EMPTY_HEADER } from '../../../../src/ui/state/header.js';
import { helpLines } from '../../../../src/ui/state/help.js';
import { bindingOf, KEYMAP, keyName, pressOf, type KeyName, type KeyPress, type Mode } from '../../../../src/ui/state/keymap.js';
import { UiModel } from '../../../../src/ui/state/model.js';
import { BASE_MS, connOpen, dns } from '../fixtures.js';

const NOW = BASE_MS + 5000;
const SIZE = { columns: 120, rows: 40 };
const MODES: readonly Mode[] = ['table', 'details', 'help', 'filter'];

/** A controller showing `mode`, with rows to move over, a filter in force and the selection mid-table, so that a bound key has something to do. */
function inMode(mode: Mode): UiController {
  const model = new UiModel({ flowIntervalSeconds: 1 }, () => NOW);
  for (let i = 0; i < 6; i++) {
    const name = `host${i}.example`;
    model.add(dns(name, [`10.0.0.${i}`]));
    model.add(connOpen(name, `10.0.0.${i}`, 40000 + i));
  }
  model.tick(NOW);
  const controller = new UiController(model, true, () => NOW);
  controller.filter = 'host';
  controller.frame(SIZE, EMPTY_HEADER);
  controller.moveTo(2);
  controller.frame(SIZE, EMPTY_HEADER);
  if (mode === 'details') controller.toggleDetails();
  if (mode === 'help') controller.showHelp();
  if (mode === 'filter') controller.startFilter();
  assert.equal(controller.mode, mode);
  return controller;
}

/** What a controller shows and holds, to tell whether a key changed anything. */
function state(controller: UiController): string {
  const { view, filter, editing, overlay, paused } = controller;
  const frame: Frame = controller.frame(SIZE, EMPTY_HEADER);
  const body = frame.body.map((block) => (block.kind === 'line' ? lineText(block.line) : JSON.stringify(block.table)));
  return JSON.stringify({ view, filter, editing, overlay, paused, caption: lineText(frame.caption), body, footer: lineText(frame.footer) });
}

/** How help and the footer write keys that are not their name. */
const WRITTEN: Readonly<Record<string, readonly KeyName[]>> = { '↑': ['Up'], '↓': ['Down'], '↑↓': ['Up', 'Down'], '⏎': ['Enter'] };

/** The keys a written word names: a range of digits, a glyph, or the key itself. */
function namedBy(word: string): KeyName[] {
  const range = /^(\d)-(\d)$/.exec(word);
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => String(Number(range[1]) + i));
  return [...(WRITTEN[word] ?? [word])];
}

/** The keys a footer names, with the mode it was drawn in. */
function footerKeys(mode: Mode): KeyName[] {
  const footer: Line = inMode(mode).frame(SIZE, EMPTY_HEADER).footer;
  if (mode !== 'filter') return footer.filter((segment) => segment.tone === 'key').flatMap((segment) => namedBy(segment.text));
  // '/ filter: █   Enter keep · Esc cancel · words: ...': the hints are the dim part before the syntax.
  const hints = lineText(footer).split('█')[1]?.split(' · words:')[0] ?? '';
  return hints.split('·').flatMap((hint) => namedBy(hint.trim().split(' ')[0] ?? ''));
}

/** Every word of the help screen's title and key lines (the label column and the text). */
function helpWords(): string[] {
  const lines = helpLines();
  return [lines[0] ?? [], ...lines.filter((line) => line[0]?.tone === 'key')].flatMap((line) => lineText(line).split(/[\s,;()]+/)).filter(Boolean);
}

test('every key a footer offers is bound in the mode it is offered in, and pressing it does something', () => {
  for (const mode of MODES) {
    const keys = footerKeys(mode);
    assert.ok(keys.length > 0, `the ${mode} footer offers keys`);
    for (const key of keys) {
      assert.ok(bindingOf(mode, key), `the ${mode} footer offers ${key}, which is not bound there`);
      const controller = inMode(mode);
      const before = state(controller);
      const result = controller.press(pressOf(key));
      assert.ok(result === 'quit' || (result === 'update' && state(controller) !== before), `${key} in ${mode}: ${result}, nothing changed`);
    }
  }
});

test("every key in the help screen's key column is bound, and pressing it does something where it is bound", () => {
  const labels = helpLines()
    .filter((line) => line[0]?.tone === 'key')
    .map((line) => line[0]?.text.trim() ?? '');
  assert.ok(labels.length >= 8, labels.join('\n'));
  for (const label of labels) {
    for (const key of label
      .split(/\s+|\s*\/\s*/)
      .filter(Boolean)
      .flatMap(namedBy)) {
      const modes = MODES.filter((mode) => bindingOf(mode, key));
      assert.ok(modes.length > 0, `help lists ${key} (${label}), which no mode binds`);
      // The digit of the view on screen does nothing in the table, so any mode where the key acts will do.
      const acts = modes.some((mode) => {
        const controller = inMode(mode);
        const before = state(controller);
        const result = controller.press(pressOf(key));
        return result === 'quit' || (result === 'update' && state(controller) !== before);
      });
      assert.ok(acts, `${key} (${label}) does nothing in ${modes.join(', ')}`);
    }
  }
});

test('every bound key is named on the help screen or in the footer of a mode it works in', () => {
  const help = new Set(helpWords().flatMap(namedBy));
  for (const binding of KEYMAP) {
    const footers = new Set(binding.modes.flatMap(footerKeys));
    for (const key of binding.keys) {
      assert.ok(help.has(key) || footers.has(key), `${key} (${binding.modes.join(', ')}) is bound but neither the help screen nor its footers name it`);
    }
  }
});

/** Every key Ink can report that a binding could name, and chords none does. */
const UNIVERSE: KeyPress[] = [
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => ({ input: String.fromCharCode(0x20 + i) })),
  ...['Enter', 'Esc', 'Tab', 'Shift-Tab', 'Up', 'Down', 'PgUp', 'PgDn', 'Home', 'End', 'Backspace', 'Del', 'Ctrl-C', 'Ctrl-U'].map(pressOf),
  { input: 'q', meta: true },
  { input: 'a', ctrl: true },
  { input: 'x', ctrl: true, shift: true },
];

test('a key does nothing in a mode where the keymap does not bind it', () => {
  for (const mode of MODES) {
    for (const key of UNIVERSE) {
      const name = keyName(key);
      if (name !== null && bindingOf(mode, name)) continue;
      // While a filter is typed, characters are text.
      if (mode === 'filter' && name !== null && [...name].length === 1) continue;
      const controller = inMode(mode);
      const before = state(controller);
      assert.equal(controller.press(key), 'none', `${JSON.stringify(key)} in ${mode}`);
      assert.equal(state(controller), before, `${JSON.stringify(key)} changed the ${mode} screen`);
    }
  }
});

test('a key keeps its name from press to name and back, and no key is bound twice in a mode', () => {
  for (const binding of KEYMAP) {
    for (const key of binding.keys) {
      assert.equal(keyName(pressOf(key)), key);
      for (const mode of binding.modes) assert.equal(bindingOf(mode, key), binding, `${key} in ${mode}`);
    }
  }
});
