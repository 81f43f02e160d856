import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGroup, resolveControlGroup } from '../../../src/control/control-group.js';
import { ControlServer } from '../../../src/control/server.js';
import { HostflowError } from '../../../src/errors.js';

const GROUPS = 'root:x:0:\nadm:x:4:syslog\nhostflow-ctl:x:998:alice,bob\nbroken line\nnogroup:x:65534:\n';

test('a group is found by name or by gid, and a gid without a line is still a gid', () => {
  assert.deepEqual(findGroup(GROUPS, 'hostflow-ctl'), { name: 'hostflow-ctl', gid: 998 });
  assert.deepEqual(findGroup(GROUPS, '4'), { name: 'adm', gid: 4 });
  assert.deepEqual(findGroup(GROUPS, '1234'), { name: '1234', gid: 1234 });
  assert.equal(findGroup(GROUPS, 'nosuchgroup'), null);
  assert.equal(findGroup(GROUPS, 'broken line'), null);
});

test('an unknown group name is one line naming the option', () => {
  assert.throws(
    () => resolveControlGroup('nosuchgroup-hf', '/nonexistent/group'),
    (error: unknown) => {
      assert.ok(error instanceof HostflowError);
      assert.match(error.message, /^--control-group nosuchgroup-hf: no such group/);
      return true;
    },
  );
});

test("with a group the socket is 0660 and the group's, in a directory of mode 0750 it can enter", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-ctl-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gid = process.getgid?.() ?? 0;
  const path = join(dir, 'run', 'control.sock');
  const server = await ControlServer.start({ path, backend: {}, group: { name: String(gid), gid } });
  try {
    const socket = statSync(path);
    assert.equal(socket.mode & 0o777, 0o660);
    assert.equal(socket.gid, gid);
    const parent = statSync(join(dir, 'run'));
    assert.equal(parent.mode & 0o777, 0o750);
    assert.equal(parent.gid, gid);
  } finally {
    await server.close();
  }
});

test("a directory the group's members cannot enter is refused, not silently kept", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-ctl-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const closed = join(dir, 'closed');
  mkdirSync(closed);
  chmodSync(closed, 0o700);
  const gid = process.getgid?.() ?? 0;
  await assert.rejects(
    ControlServer.start({ path: join(closed, 'control.sock'), backend: {}, group: { name: 'ctl', gid } }),
    /members of group ctl cannot enter .*mode 700/,
  );
});
