/**
 * The README's options tables against the CLI's one option table: every
 * option a user can give is documented, and every default the README
 * states is the one the code uses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RUN_OPTIONS, defaultText, type OptionSpec } from '../../src/cli-options.js';
import { packageRoot } from '../../src/package-root.js';

const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');

/** The rows of every table whose first cell names options. */
const rows = readme.split('\n').filter((line) => /^\| `-/.test(line));

const longFlag = (spec: OptionSpec): string => /--[a-z0-9-]+/.exec(spec.flags)?.[0] ?? spec.flags;

/** The row that documents `flag` (its first cell names it). */
function rowOf(flag: string): string | undefined {
  const named = new RegExp(`${flag.replace(/-/g, '\\-')}(?![a-z0-9-])`);
  return rows.find((row) => named.test(row.split('|')[1] ?? ''));
}

test("every option of the CLI has a row in one of the README's options tables", () => {
  const missing = RUN_OPTIONS.map(longFlag).filter((flag) => !rowOf(flag));
  assert.deepEqual(missing, [], `undocumented: ${missing.join(', ')}`);
});

test("every default the README states is the code's", () => {
  const wrong: string[] = [];
  for (const spec of RUN_OPTIONS) {
    const expected = defaultText(spec);
    const row = rowOf(longFlag(spec));
    if (expected === null || !row) continue;
    // "(default 250)", "default: all", or "`json` (default)".
    const stated = /default[^|]*/.exec(row)?.[0] ?? '';
    const word = new RegExp(`(^|[^\\w.])${expected.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}($|[^\\w])`);
    if (!word.test(stated) && !row.includes(`\`${expected}\` (default`)) wrong.push(`${longFlag(spec)}: code ${expected}, README '${stated || 'no default'}'`);
  }
  assert.deepEqual(wrong, []);
});

test('the README documents no option the CLI does not have', () => {
  const known = new Set(RUN_OPTIONS.map(longFlag));
  const documented = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/--[a-z0-9-]+/g)].map((match) => match[0]));
  const stale = documented.filter((flag) => !known.has(flag) && !['--help', '--version', '--socket', '--json'].includes(flag));
  assert.deepEqual([...new Set(stale)], []);
});
