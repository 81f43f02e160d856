import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCtl } from '../../../src/control/client.js';
import { ControlServer } from '../../../src/control/server.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-ctl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}

describe('hostflow ctl', () => {
  let server: ControlServer;
  const path = join(dir, 'control.sock');
  before(async () => {
    const blocked = new Set<string>();
    server = await ControlServer.start({
      path,
      backend: {
        blocklist: {
          block: (prefix) => (blocked.add(prefix), { prefix: `${prefix}/32`, added: true }),
          unblock: () => null,
          list: () => [...blocked].map((prefix) => ({ prefix: `${prefix}/32`, family: 4, packets: 2, bytes: 168, addedMs: 0 })),
        },
      },
    });
  });
  after(() => server.close());

  test("prints the answer's lines without the ok, and exits 0", async () => {
    const { out, io: streams } = io();
    assert.equal(await runCtl(['--socket', path, 'block-src', '192.0.2.1'], streams), 0);
    assert.equal(out.stdout, 'blocked 192.0.2.1/32\n');
    assert.equal(await runCtl([`--socket=${path}`, 'list-block-src'], streams), 0);
    assert.match(out.stdout, /\n192\.0\.2\.1\/32 packets 2 bytes 168 since 1970-01-01T00:00:00\.000000Z\n$/);
    assert.equal(out.stderr, '');
  });

  test('an error answer goes to stderr with exit 1; --json prints the JSON answer either way', async () => {
    const { out, io: streams } = io();
    assert.equal(await runCtl(['--socket', path, 'unblock-src', '192.0.2.9'], streams), 1);
    assert.equal(out.stderr, 'hostflow ctl: 192.0.2.9 is not blocked (list-block-src lists what is)\n');
    assert.equal(await runCtl(['--socket', path, '--json', 'unblock-src', '192.0.2.9'], streams), 1);
    assert.deepEqual(JSON.parse(out.stdout), { ok: false, command: 'unblock-src', error: '192.0.2.9 is not blocked (list-block-src lists what is)' });
    // A prefix of its own: the test before may or may not have run.
    assert.equal(await runCtl(['--socket', path, 'block-src', '192.0.2.2'], io().io), 0);
    const json = io();
    assert.equal(await runCtl(['-s', path, '--json', 'list-block-src'], json.io), 0);
    const rows = (JSON.parse(json.out.stdout) as { result: Array<{ prefix: string }> }).result;
    assert.ok(
      rows.some((row) => row.prefix === '192.0.2.2/32'),
      JSON.stringify(rows),
    );
  });

  test('usage errors and missing or dead sockets exit 2 with a message that says what to do', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /a command is needed/],
      [['--frob', 'stats'], /unknown option --frob/],
      [['--socket'], /--socket needs a path/],
      [['--timeout', '0', 'stats'], /--timeout needs a positive number/],
      [['--socket', join(dir, 'none.sock'), 'stats'], /no control socket at .*none\.sock \(is hostflow running\?/],
    ];
    for (const [argv, message] of cases) {
      const { out, io: streams } = io();
      assert.equal(await runCtl(argv, streams), 2, argv.join(' '));
      assert.match(out.stderr, message);
    }
    const help = io();
    assert.equal(await runCtl(['--help'], help.io), 0);
    assert.match(help.out.stdout, /usage: hostflow ctl \[--socket PATH\]/);
  });

  test('a server that never answers times out; one that hangs up is reported', async () => {
    const silentPath = join(dir, 'silent.sock');
    const silent = createServer((socket) => socket.on('data', () => {}));
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    const { out, io: streams } = io();
    assert.equal(await runCtl(['--socket', silentPath, '--timeout', '0.2', 'stats'], streams), 2);
    assert.match(out.stderr, /no answer from .* within 0\.2 s/);
    await new Promise((resolve) => silent.close(resolve));
    const rudePath = join(dir, 'rude.sock');
    const rude = createServer((socket) => socket.once('data', () => socket.end()));
    await new Promise<void>((resolve) => rude.listen(rudePath, resolve));
    const second = io();
    assert.equal(await runCtl(['--socket', rudePath, 'stats'], second.io), 2);
    assert.match(second.out.stderr, /closed the connection without an answer/);
    rude.close();
    rude.unref();
  });
});
