/**
 * Every connection of a fast burst gets its records. On loopback the
 * client's close happens in softirq, often while sock_state runs for
 * another socket on the same CPU; the kernel then skips that run (classic
 * tracepoint programs do not nest) and counts it only in the program's
 * recursion_misses. The raw tcp_destroy_sock program recovers those
 * closes, and the summary shows both numbers.
 *
 * The connector is bench/c/connflood.c, compiled here with cc.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { RecordFile } from '../helpers/records.js';

const CONNECTIONS_PER_SECOND = 20_000;
const SECONDS = 1;
const PORT = 47_999;

interface FloodResult {
  pid: number;
  made: number;
  errors: number;
}

describe('a burst of connections on loopback', privilegedSuite({ commands: ['ip', 'cc'], features: ['tracefs', 'btf', 'netns'] }), () => {
  const ns = `hf-burst-${process.pid}`;
  let dir = '';
  let connflood = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostflow-burst-'));
    connflood = join(dir, 'connflood');
    await run('cc', ['-O2', '-pthread', '-o', connflood, join(packageRoot(), 'bench/c/connflood.c')]);
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // Ports in TIME_WAIT: give the connector all of them.
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
  });

  after(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every open and close is recorded', async (t) => {
    const hostflow = await startHostflow(['-i', 'lo', '--no-flows', '--no-wire-dns', '--no-control', '--comm', 'connflood', '--type', 'conn'], { ns });
    let flood: FloodResult;
    try {
      const result = await run('ip', ['netns', 'exec', ns, connflood, String(CONNECTIONS_PER_SECOND), String(SECONDS), String(PORT)], { timeoutMs: 60_000 });
      const made = JSON.parse(result.stdout) as FloodResult;
      flood = made;
      // Every connection the connector made has its open and close record, or the deadline says how many are missing.
      const count = (records: readonly JsonLine[]) => {
        const ours = records.filter((line) => line.pid === made.pid && line.direction === 'out');
        return { opens: ours.filter((line) => line.event === 'open').length, closes: ours.filter((line) => line.event === 'close').length };
      };
      await new RecordFile(hostflow.output).waitFor(
        (records) => {
          const { opens, closes } = count(records);
          return opens >= made.made && closes >= made.made;
        },
        (records) => `${JSON.stringify(count(records))} records of ${made.made} connections`,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } catch (error) {
      await hostflow.stop();
      throw error;
    }
    const { lines, stderr } = await hostflow.stop();
    const ours = lines.filter((line) => line.pid === flood.pid && line.direction === 'out');
    const opens = ours.filter((line) => line.event === 'open').length;
    const closes = ours.filter((line) => line.event === 'close').length;
    const summary = stderr.split('\n').find((line) => line.includes('summary:')) ?? '';
    t.diagnostic(`made ${flood.made} connections; open records ${opens}, close records ${closes}`);
    t.diagnostic(summary.replace(/^.*?summary: /, ''));
    assert.ok(flood.made > 1000, `the connector made only ${flood.made} connections`);
    assert.equal(flood.errors, 0);
    assert.equal(closes, flood.made, 'a close record for every connection');
    assert.equal(opens, flood.made, 'an open record for every connection');
  });
});
