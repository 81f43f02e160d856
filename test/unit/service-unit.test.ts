/**
 * The systemd unit in packaging/: systemd's own checker accepts it (with
 * the launcher scripts/install-service.sh writes, so that ExecStart names a
 * real file), its capabilities are the capability table's, and every option
 * it and its environment file pass is one the CLI has.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_OPTIONS } from '../../src/cli-options.js';
import { packageRoot } from '../../src/package-root.js';
import { CAPABILITY_NEEDS } from '../../src/system/capability-needs.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';

const root = packageRoot();
const unitText = readFileSync(join(root, 'packaging/systemd/hostflow.service'), 'utf8');
const envText = readFileSync(join(root, 'packaging/systemd/hostflow.env'), 'utf8');
const LAUNCHER = '/usr/local/sbin/hostflow';

/** The values of `key=` lines of a unit or environment file, comments left out. */
function values(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

describe('the systemd service', privilegedSuite({ root: false, commands: ['systemd-analyze'] }), () => {
  test('systemd-analyze verify accepts the unit, with no warning about it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hostflow-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const installed = join(dir, 'root');
    await run('bash', [join(root, 'scripts/install-service.sh'), '--root', installed]);
    const launcher = join(installed, LAUNCHER);
    assert.equal(statSync(launcher).mode & 0o111, 0o111, 'the launcher is executable');
    const version = await run(launcher, ['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    assert.equal(statSync(join(installed, 'etc/hostflow/hostflow.env')).mode & 0o777, 0o640);
    // The same unit, its ExecStart pointed at the launcher just written.
    const unit = join(dir, 'hostflow.service');
    writeFileSync(unit, readFileSync(join(installed, 'etc/systemd/system/hostflow.service'), 'utf8').replaceAll(LAUNCHER, launcher));
    const result = await run('systemd-analyze', ['verify', '--man=no', unit], { check: false });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stderr.trim(), '', 'no warning');
  });
});

test("the unit's capabilities are exactly the capability table's, ambient and bounding", () => {
  const table = [...new Set(CAPABILITY_NEEDS.map((need) => need.capability))].sort();
  for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
    const [value] = values(unitText, key);
    assert.deepEqual(value?.split(' ').sort(), table, key);
  }
});

test('the unit runs as the user hostflow with a state, logs and runtime directory, restarting on failure', () => {
  assert.deepEqual(values(unitText, 'User'), ['hostflow']);
  assert.deepEqual(values(unitText, 'ProtectSystem'), ['strict']);
  assert.deepEqual(values(unitText, 'Restart'), ['on-failure']);
  assert.deepEqual(values(unitText, 'StateDirectory'), ['hostflow']);
  assert.deepEqual(values(unitText, 'RuntimeDirectory'), ['hostflow']);
  const [execStart] = values(unitText, 'ExecStart');
  assert.match(execStart ?? '', /--headless .*--control \/run\/hostflow\/control\.sock --control-group hostflow --spool-dir \/var\/lib\/hostflow\/spool/);
});

test('every option the unit and its environment file pass is a CLI option, and every variable it expands is set there', () => {
  const known = new Set(RUN_OPTIONS.flatMap((spec) => spec.flags.split(/[ ,]+/).filter((word) => word.startsWith('-'))));
  const [execStart = ''] = values(unitText, 'ExecStart');
  const variables = [...execStart.matchAll(/\$(\w+)/g)].map((match) => match[1] ?? '');
  const envValues = variables.map((name) => {
    const [value] = values(envText, name);
    assert.notEqual(value, undefined, `${name} is set in hostflow.env`);
    return value ?? '';
  });
  const words = [execStart, ...envValues].join(' ').split(/\s+/);
  for (const word of words.filter((w) => w.startsWith('-'))) assert.ok(known.has(word), `${word} is an option of hostflow`);
});
