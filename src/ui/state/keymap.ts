/**
 * Every key of the terminal UI, in one table with three readers:
 * `UiController.press` runs the binding of a key, the help screen prints
 * the bindings' lines, the footer shows their hints. A key does something
 * only in the modes its binding names; anywhere else it does nothing.
 * While a filter is typed, characters are text: only keys that are not a
 * character (Enter, Esc, Backspace, Ctrl-U, Ctrl-C) are looked up here.
 */
import { VIEW_IDS } from './views.js';

/** The keys the controller reads; Ink's `Key` (plus its input string) fits. */
export interface KeyPress {
  input: string;
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** quit: the operator asked to stop; update: the screen changed; none: nothing to redraw. */
export type KeyResult = 'quit' | 'update' | 'none';

/** What the screen shows, which decides what a key does: a table, a row's details, the help, or a filter being typed. */
export type Mode = 'table' | 'details' | 'help' | 'filter';

/** A printable character as itself, or the name of a key that is not one. */
export type KeyName = string;

/** Ink's flag for each key that is not a character, in the order they are checked. */
const FLAGS = [
  ['return', 'Enter'],
  ['escape', 'Esc'],
  ['upArrow', 'Up'],
  ['downArrow', 'Down'],
  ['pageUp', 'PgUp'],
  ['pageDown', 'PgDn'],
  ['home', 'Home'],
  ['end', 'End'],
  ['backspace', 'Backspace'],
  ['delete', 'Del'],
] as const satisfies ReadonlyArray<readonly [keyof KeyPress, KeyName]>;

/** The control characters of a string of keys (typed fast or pasted), by the key each stands for. */
const CONTROL_CHARS: Readonly<Record<string, KeyName>> = {
  '\r': 'Enter',
  '\n': 'Enter',
  '\t': 'Tab',
  '\u007f': 'Backspace',
  '\b': 'Backspace',
  '\u001b': 'Esc',
  '\u0003': 'Ctrl-C',
  '\u0015': 'Ctrl-U',
};

/** The key a press stands for; null for a chord no binding can name (Ctrl or Alt with anything but C or U). */
export function keyName(key: KeyPress): KeyName | null {
  if (key.ctrl && (key.input === 'c' || key.input === 'u')) return `Ctrl-${key.input.toUpperCase()}`;
  if (key.tab) return key.shift ? 'Shift-Tab' : 'Tab';
  for (const [flag, name] of FLAGS) if (key[flag]) return name;
  if (key.ctrl || key.meta || [...key.input].length !== 1) return null;
  return key.input;
}

/** The press of a named key (or a character), as Ink reports it. */
export function pressOf(name: KeyName): KeyPress {
  if (name === 'Ctrl-C' || name === 'Ctrl-U') return { input: name.slice(-1).toLowerCase(), ctrl: true };
  if (name === 'Tab' || name === 'Shift-Tab') return { input: '', tab: true, shift: name === 'Shift-Tab' };
  const flag = FLAGS.find(([, named]) => named === name)?.[0];
  return flag ? { input: '', [flag]: true } : { input: name };
}

/** One character of a string of keys, as the key it stands for. */
export function pressOfChar(char: string): KeyPress {
  return pressOf(CONTROL_CHARS[char] ?? char);
}

/** True when a press is text to type into a filter rather than a key to look up. */
export function isText(key: KeyPress): boolean {
  return !key.ctrl && !key.meta && !FLAGS.some(([flag]) => key[flag]) && !key.tab;
}

/** What a key can do: the controller's side of the table. */
export interface KeyTarget {
  readonly paused: boolean;
  /** Rows in one page of the table on screen. */
  readonly pageSize: number;
  showHelp(): KeyResult;
  /** Closes the help or the details. */
  closeOverlay(): KeyResult;
  /** Closes the details, else clears the filter. */
  back(): KeyResult;
  toggleDetails(): KeyResult;
  /** The view at `index` of VIEW_IDS, wrapping around. */
  switchView(index: number): KeyResult;
  /** The view `step` tabs away. */
  stepView(step: number): KeyResult;
  move(delta: number): KeyResult;
  moveTo(index: number): KeyResult;
  startFilter(): KeyResult;
  /** Ends typing: keep the typed filter, or go back to the one before. */
  endFilter(keep: boolean): KeyResult;
  /** Erases the last character typed, or all of them. */
  eraseFilter(all: boolean): KeyResult;
  nextSort(): KeyResult;
  reverseSort(): KeyResult;
  togglePause(): KeyResult;
  clear(): KeyResult;
}

/** A key's hint in the footer of some modes. */
export interface Hint {
  modes: readonly Mode[];
  /** The key as the footer writes it. @default the binding's first key */
  key?: string;
  text: string | ((ui: KeyTarget) => string);
}

export interface Binding {
  /** The keys, by keyName. */
  keys: readonly KeyName[];
  /** Where they work. */
  modes: readonly Mode[];
  /** Its line on the help screen: the keys as written there, and what they do. */
  help?: readonly [keys: string, text: string];
  hint?: Hint;
  /** Does it; `key` is the one of `keys` that was pressed. */
  run(ui: KeyTarget, key: KeyName): KeyResult;
}

type Action = (ui: KeyTarget) => KeyResult;

const BROWSE: readonly Mode[] = ['table', 'details'];

/** The view each view key shows: a step along the tabs, or one by its number (the digits list first: they are integer keys). */
const VIEWS_BY_KEY: Readonly<Record<KeyName, Action>> = {
  Tab: (ui) => ui.stepView(1),
  'Shift-Tab': (ui) => ui.stepView(-1),
  ...Object.fromEntries(VIEW_IDS.map((_, index): [KeyName, Action] => [String(index + 1), (ui) => ui.switchView(index)])),
};

/** Where each movement key takes the selection. */
const MOVES: Readonly<Record<KeyName, Action>> = {
  Up: (ui) => ui.move(-1),
  Down: (ui) => ui.move(1),
  k: (ui) => ui.move(-1),
  j: (ui) => ui.move(1),
  PgUp: (ui) => ui.move(-ui.pageSize),
  PgDn: (ui) => ui.move(ui.pageSize),
  Home: (ui) => ui.moveTo(0),
  End: (ui) => ui.moveTo(Infinity),
  g: (ui) => ui.moveTo(0),
  G: (ui) => ui.moveTo(Infinity),
};

/** In this order the help screen lists the lines and the footer the hints. */
export const KEYMAP: readonly Binding[] = [
  { keys: ['?'], modes: BROWSE, hint: { modes: ['table'], text: 'help' }, run: (ui) => ui.showHelp() },
  { keys: ['Esc', '?', 'Enter'], modes: ['help'], hint: { modes: ['help'], text: 'close help' }, run: (ui) => ui.closeOverlay() },
  { keys: ['Esc'], modes: BROWSE, hint: { modes: ['details'], text: 'back' }, run: (ui) => ui.back() },
  {
    keys: ['q', 'Ctrl-C'],
    modes: ['table', 'details', 'help', 'filter'],
    help: ['q  Ctrl-C', 'quit: every sink is flushed, a summary goes to stderr'],
    hint: { modes: ['table', 'details', 'help'], text: 'quit' },
    run: () => 'quit',
  },
  {
    keys: Object.keys(VIEWS_BY_KEY),
    modes: BROWSE,
    help: [`Tab / 1-${VIEW_IDS.length}`, 'switch view: Hosts, Connections, Flows, DNS (Shift-Tab back)'],
    hint: { modes: ['table'], key: 'Tab', text: 'view' },
    run: (ui, key) => VIEWS_BY_KEY[key]?.(ui) ?? 'none',
  },
  {
    keys: Object.keys(MOVES),
    modes: BROWSE,
    help: ['↑ ↓  j k', 'move; PgUp PgDn a page; Home End (g G) first, last'],
    hint: { modes: ['details'], key: '↑↓', text: 'previous/next' },
    run: (ui, key) => MOVES[key]?.(ui) ?? 'none',
  },
  {
    keys: ['Enter'],
    modes: BROWSE,
    help: ['Enter', 'details of the row (a host lists its connections); Esc back'],
    hint: { modes: ['table'], key: '⏎', text: 'details' },
    run: (ui) => ui.toggleDetails(),
  },
  {
    keys: ['/'],
    modes: BROWSE,
    help: ['/', 'filter; Enter keeps it, Esc drops the edit; Esc again clears it'],
    hint: { modes: ['table'], text: 'filter' },
    run: (ui) => ui.startFilter(),
  },
  {
    keys: ['s', 'S'],
    modes: BROWSE,
    help: ['s  S', 'next sort column; reverse the order'],
    hint: { modes: ['table'], text: 'sort' },
    run: (ui, key) => (key === 's' ? ui.nextSort() : ui.reverseSort()),
  },
  {
    keys: ['p'],
    modes: BROWSE,
    help: ['p', 'pause the screen (records keep being collected)'],
    hint: { modes: ['table'], text: (ui) => (ui.paused ? 'resume' : 'pause') },
    run: (ui) => ui.togglePause(),
  },
  { keys: ['c'], modes: BROWSE, help: ['c', 'clear every table'], hint: { modes: ['table'], text: 'clear' }, run: (ui) => ui.clear() },
  { keys: ['Enter'], modes: ['filter'], hint: { modes: ['filter'], text: 'keep' }, run: (ui) => ui.endFilter(true) },
  { keys: ['Esc'], modes: ['filter'], hint: { modes: ['filter'], text: 'cancel' }, run: (ui) => ui.endFilter(false) },
  {
    keys: ['Backspace', 'Del', 'Ctrl-U'],
    modes: ['filter'],
    help: ['Backspace', 'while typing a filter: erase a character (Del too); Ctrl-U all'],
    run: (ui, key) => ui.eraseFilter(key === 'Ctrl-U'),
  },
];

const BY_MODE = new Map<Mode, Map<KeyName, Binding>>();
for (const binding of KEYMAP) {
  for (const mode of binding.modes) {
    const keys = BY_MODE.get(mode) ?? new Map<KeyName, Binding>();
    BY_MODE.set(mode, keys);
    for (const key of binding.keys) {
      if (keys.has(key)) throw new Error(`keymap: ${key} is bound twice in mode ${mode}`);
      keys.set(key, binding);
    }
  }
}

/** The binding of `key` in `mode`, if any. */
export function bindingOf(mode: Mode, key: KeyName): Binding | undefined {
  return BY_MODE.get(mode)?.get(key);
}

/** The footer's hints in `mode`, in keymap order: [key as written, what it does]. */
export function hintsOf(mode: Mode, ui: KeyTarget): Array<[string, string]> {
  return KEYMAP.flatMap(({ keys, hint }) => {
    if (!hint?.modes.includes(mode)) return [];
    const text = typeof hint.text === 'function' ? hint.text(ui) : hint.text;
    return [[hint.key ?? keys[0] ?? '', text]];
  });
}
