/**
 * --control-group (issue 18): the control socket is opened to one group,
 * so `hostflow ctl` works for its members without root, and not for
 * anyone else. The clients are `nobody` through setpriv, once with the
 * group among its groups and once without.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type RunningHostflow } from '../helpers/hostflow.js';
import { cliReadableBy, type SharedCli } from '../helpers/nobody-cli.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'setpriv', 'groupadd', 'groupdel', 'getent'], features: ['netns' as const, 'btf' as const] };
const NOBODY = 65534;

describe('the control socket opened to a group', privilegedSuite(requirements), () => {
  const group = `hfctl-${randomBytes(3).toString('hex')}`;
  let gid: number;
  let dir: string;
  let socket: string;
  let topo: Topology;
  let hostflow: RunningHostflow;
  let shared: SharedCli;

  before(async () => {
    shared = cliReadableBy();
    await run('groupadd', [group]);
    gid = Number((await run('getent', ['group', group])).stdout.split(':')[2]);
    dir = mkdtempSync(join(tmpdir(), 'hostflow-control-group-'));
    // Others may pass through; hostflow creates run/ below it for the group.
    chmodSync(dir, 0o755);
    socket = join(dir, 'run', 'control.sock');
    topo = await Topology.create({ dns: false });
    hostflow = await startHostflow(['-i', topo.client.iface, '--control', socket, '--control-group', group, '--no-libc-discovery'], { ns: topo.client.ns });
  });

  after(async () => {
    if (hostflow?.process.running) await hostflow.stop();
    await topo?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await run('groupdel', [group], { check: false });
    await shared?.release();
  });

  /** `hostflow ctl stats` as nobody, with these supplementary groups. */
  const ctlAsNobody = (groups: string) =>
    run(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        groups ? `--groups=${groups}` : '--clear-groups',
        process.execPath,
        shared.cli,
        'ctl',
        '--socket',
        socket,
        'stats',
      ],
      {
        check: false,
      },
    );

  test('the socket is 0660 and the group’s, in a directory 0750 of the group', () => {
    const file = statSync(socket);
    assert.ok(file.isSocket());
    assert.equal(file.mode & 0o777, 0o660);
    assert.equal(file.gid, gid);
    const parent = statSync(join(dir, 'run'));
    assert.equal(parent.mode & 0o777, 0o750);
    assert.equal(parent.gid, gid);
  });

  test('a member of the group runs hostflow ctl stats without root', async () => {
    const result = await ctlAsNobody(String(gid));
    assert.equal(result.code, 0, result.stderr);
    // withHealth puts health first: the answer of a running session.
    assert.match(result.stdout, /^health/m);
  });

  test('anyone else is refused, in one line that says what to do', async () => {
    const result = await ctlAsNobody('');
    assert.notEqual(result.code, 0);
    assert.deepEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /permission denied on .*control\.sock \(run as the user hostflow runs as, or as a member of its --control-group\)/);
  });
});
