/**
 * The decoder's view of every kernel/user structure must equal what the C
 * compiler makes of bpf/hostflow.h: sizes, every field offset, and the
 * constants. The C side is compiled here, from the real header.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ALL_STRUCTS, CONSTANTS } from '../../../src/kernel/layout.js';
import { packageRoot } from '../../../src/package-root.js';

interface CompilerLayout {
  sizes: Record<string, number>;
  offsets: Record<string, number>;
  constants: Record<string, number>;
}

function compileAndRun(): CompilerLayout {
  const lines: string[] = [];
  const emit = (key: string, expression: string) => lines.push(`  printf("\\"%s\\": %lld,\\n", "${key}", (long long)(${expression}));`);
  for (const layout of ALL_STRUCTS) {
    emit(`size:${layout.cName}`, `sizeof(struct ${layout.cName})`);
    for (const [path, designator] of Object.entries(layout.designators)) {
      emit(`offset:${layout.cName}.${path}`, `__builtin_offsetof(struct ${layout.cName}, ${designator})`);
    }
  }
  for (const name of Object.keys(CONSTANTS)) emit(`const:${name}`, name);
  const source = [
    '#include <stdio.h>',
    '#include <linux/types.h>',
    `#include "${resolve(packageRoot(), 'bpf/hostflow.h')}"`,
    'int main(void) {',
    '  printf("{\\n");',
    ...lines,
    '  printf("\\"end\\": 0}\\n");',
    '  return 0;',
    '}',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-layout-'));
  try {
    writeFileSync(join(dir, 'layout.c'), source);
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'layout'), join(dir, 'layout.c')], { stdio: 'pipe' });
    const raw = JSON.parse(execFileSync(join(dir, 'layout'), { encoding: 'utf8' })) as Record<string, number>;
    const result: CompilerLayout = { sizes: {}, offsets: {}, constants: {} };
    for (const [key, value] of Object.entries(raw)) {
      const [kind, name] = key.split(':') as [string, string];
      if (kind === 'size') result.sizes[name] = value;
      else if (kind === 'offset') result.offsets[name] = value;
      else if (kind === 'const') result.constants[name] = value;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const compiler = compileAndRun();

for (const layout of ALL_STRUCTS) {
  test(`struct ${layout.cName}: the decoder's size and offsets are the compiler's`, () => {
    assert.equal(layout.size, compiler.sizes[layout.cName], `sizeof(struct ${layout.cName})`);
    for (const [path, offset] of Object.entries(layout.offsets)) {
      assert.equal(offset, compiler.offsets[`${layout.cName}.${path}`], `offsetof(struct ${layout.cName}, ${path})`);
    }
  });

  test(`struct ${layout.cName}: every byte is a declared field (padding spelled out)`, () => {
    assert.equal(layout.implicitPadding, 0);
    assert.equal(layout.size % 8 === 0 || layout.size < 8, true, 'structs are multiples of 8 bytes');
  });
}

test('constants and enums match the header', () => {
  for (const [name, value] of Object.entries(CONSTANTS)) {
    assert.equal(value, compiler.constants[name], name);
  }
});
