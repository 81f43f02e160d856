/**
 * `hostflow query` over what a real run stored: hostflow traces loopback
 * into a storage folder and into an S3-protocol server (s3rver), as NDJSON
 * and as Parquet, while a workload connects to a name and to an address;
 * then the CLI answers each canned question, and its answer must be the
 * one computed here from the run's own JSON-lines output (the same
 * records, other processes' traffic included). The tables `hostflow
 * schema` prints are held against the same objects, and DuckDB's run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { RECORD_TYPES } from '../../src/records/types.js';
import { DIALECTS, schemaStatements, storageLocation } from '../../src/schema/index.js';
import { hostSegment } from '../../src/storage/layout.js';
import { CLI, startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { ddlMismatches, storedFiles } from '../helpers/query/ddl-check.js';
import { startTcpServer, tcpFetch } from '../helpers/servers.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

const env = { ...process.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey };

function tempDir(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Row = Record<string, unknown>;

const sortRows = (rows: Row[]) => rows.map((row) => JSON.stringify(row)).sort();

async function hostflowQuery(source: string[], args: string[]): Promise<{ rows: Row[]; stderr: string }> {
  const result = await run(process.execPath, [CLI, 'query', ...source, '--format', 'json', ...args], { env, check: false });
  assert.equal(result.code, 0, result.stderr);
  return {
    rows: result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Row),
    stderr: result.stderr,
  };
}

// ------------------------------------------------ the answers, from the JSON lines

const ended = (lines: JsonLine[]) => lines.filter((line) => (line.type === 'conn' || line.type === 'udp') && line.event === 'close');

function topHosts(lines: JsonLine[]): Row[] {
  const totals = new Map<string, Row & { bytes_sent: number; bytes_received: number; connections: number }>();
  for (const line of ended(lines)) {
    const host = (line.host ?? line.daddr) as string;
    const key = JSON.stringify([line.comm, host]);
    const row = totals.get(key) ?? { process: line.comm, host, connections: 0, bytes_sent: 0, bytes_received: 0 };
    row.connections++;
    row.bytes_sent += (line.bytes_sent as number | null) ?? 0;
    row.bytes_received += (line.bytes_received as number | null) ?? 0;
    totals.set(key, row);
  }
  return [...totals.values()].map((row) => ({ ...row, bytes: row.bytes_sent + row.bytes_received }));
}

function whoResolved(lines: JsonLine[], name: string, hostname: string): Row[] {
  return lines
    .filter((line) => line.type === 'dns' && (line.host === name || ((line.cnames as string[] | null) ?? []).includes(name)))
    .map((line) => ({
      ts: line.ts,
      hostname,
      pid: line.pid,
      comm: line.comm,
      exe: line.exe,
      host: line.host,
      status: line.status,
      addrs: line.addrs,
      source: line.source,
    }));
}

function whoReached(lines: JsonLine[], address: string, hostname: string): Row[] {
  const groups = new Map<string, { row: Row; hosts: Set<string>; times: string[]; connections: number; failed: number }>();
  for (const line of lines) {
    if (line.daddr !== address) continue;
    const tcp = line.type === 'conn' && line.direction === 'out' && (line.event === 'open' || (line.event === 'close' && line.established === false));
    const udp = line.type === 'udp' && line.event === 'open';
    if (!tcp && !udp) continue;
    const row = { hostname, pid: line.pid, comm: line.comm, proto: tcp ? 'tcp' : 'udp', dport: line.dport };
    const key = JSON.stringify(row);
    const group = groups.get(key) ?? { row, hosts: new Set<string>(), times: [] as string[], connections: 0, failed: 0 };
    group.connections++;
    if (line.established === false) group.failed++;
    if (typeof line.host === 'string') group.hosts.add(line.host);
    group.times.push(line.ts as string);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ row, hosts, times, connections, failed }) => ({
    ...row,
    connections,
    failed,
    hosts: hosts.size > 0 ? [...hosts].sort().join(',') : null,
    first: times.sort()[0],
    last: times[times.length - 1],
  }));
}

function unresolved(lines: JsonLine[]): Row[] {
  const groups = new Map<string, { reason: unknown; process: unknown; connections: number; addresses: Set<string> }>();
  for (const line of ended(lines)) {
    if (line.host !== null) continue;
    const key = JSON.stringify([line.unresolved, line.comm]);
    const group = groups.get(key) ?? { reason: line.unresolved, process: line.comm, connections: 0, addresses: new Set<string>() };
    group.connections++;
    group.addresses.add(line.daddr as string);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => ({
    reason: group.reason,
    process: group.process,
    connections: group.connections,
    addresses: group.addresses.size,
    first_addresses: [...group.addresses].sort().slice(0, 1000),
  }));
}

// ------------------------------------------------ the runs

interface Stored {
  lines: JsonLine[];
  /** The storage flags `hostflow query` reads them with. */
  source: string[];
  s3?: TestS3;
  directory?: string;
  clientPorts: number[];
  serverPort: number;
}

async function traceWorkload(t: { after(fn: () => unknown): void }, storage: string[]): Promise<Omit<Stored, 'source'>> {
  const server = await startTcpServer({ host: '127.0.0.1', bytes: 3000 });
  t.after(() => server.stop());
  // No name resolves to 127.0.0.2: its connection stays unnamed.
  const unnamed = await startTcpServer({ host: '127.0.0.2', bytes: 10 });
  t.after(() => unnamed.stop());
  const hostflow = await startHostflow(
    ['-i', 'lo', '--flow-interval', '1', '--storage-flush-interval', '1', '--spool-dir', tempDir(t, 'hostflow-query-spool-'), ...storage],
    { env },
  );
  const clientPorts: number[] = [];
  for (let i = 0; i < 3; i++) clientPorts.push((await tcpFetch({ host: 'localhost', port: server.port, family: 4, send: 200 })).localPort);
  for (let i = 0; i < 2; i++) clientPorts.push((await tcpFetch({ host: '127.0.0.1', port: server.port, send: 100 })).localPort);
  await tcpFetch({ host: '127.0.0.2', port: unnamed.port, send: 10 });
  const { code, lines, stderr } = await hostflow.stop();
  assert.equal(code, 0, stderr);
  assert.match(stderr, /storage: uploaded \d+ objects/);
  return { lines, clientPorts, serverPort: server.port };
}

describe('hostflow query over a real run', privilegedSuite({ features: ['btf'] }), () => {
  const hostname = hostSegment(osHostname());
  for (const where of ['storage-dir', 's3'] as const) {
    for (const format of ['ndjson', 'parquet'] as const) {
      test(`the canned questions answer with the run's connections (${where}, ${format})`, async (t) => {
        let stored: Stored;
        if (where === 's3') {
          const s3 = await TestS3.start(t);
          const traced = await traceWorkload(t, ['--storage-bucket', s3.bucket, '--storage-endpoint', s3.endpoint, '--storage-format', format]);
          stored = {
            ...traced,
            s3,
            source: ['--storage-bucket', s3.bucket, '--storage-endpoint', s3.endpoint, '--cache-dir', tempDir(t, 'hostflow-query-cache-')],
          };
        } else {
          const directory = tempDir(t, 'hostflow-query-store-');
          const traced = await traceWorkload(t, ['--storage-dir', directory, '--storage-format', format]);
          stored = { ...traced, directory, source: ['--storage-dir', directory] };
        }
        const { lines } = stored;
        const workload = lines.filter((line) => line.type === 'conn' && line.dport === stored.serverPort && line.event === 'close' && line.direction === 'out');
        assert.deepEqual(workload.map((line) => line.sport).sort(), [...stored.clientPorts].sort(), 'every workload connection was recorded');

        const top = await hostflowQuery(stored.source, ['--top-hosts', '--limit', '1000']);
        if (where === 's3') assert.match(top.stderr, /query: fetched \d+ of \d+ objects/);
        assert.deepEqual(sortRows(top.rows), sortRows(topHosts(lines)));
        const named = top.rows.find((row) => row.host === 'localhost' && row.process === workload[0]?.comm);
        assert.ok(named && (named.connections as number) >= 3, 'the named connections are in the top hosts');

        const resolved = await hostflowQuery(stored.source, ['--who-resolved', 'localhost']);
        assert.ok(resolved.rows.length >= 3, 'the workload resolved localhost three times');
        assert.deepEqual(sortRows(resolved.rows), sortRows(whoResolved(lines, 'localhost', hostname)));

        const reached = await hostflowQuery(stored.source, ['--who-reached', '127.0.0.1']);
        assert.deepEqual(sortRows(reached.rows), sortRows(whoReached(lines, '127.0.0.1', hostname)));
        const toServer = reached.rows.filter((row) => row.dport === stored.serverPort);
        assert.equal(
          toServer.reduce((sum, row) => sum + (row.connections as number), 0),
          5,
          'five connections reached the server',
        );

        const unnamed = await hostflowQuery(stored.source, ['--unresolved', '--limit', '1000']);
        assert.deepEqual(sortRows(unnamed.rows), sortRows(unresolved(lines)));
        assert.ok(
          unnamed.rows.some((row) => (row.first_addresses as string[]).includes('127.0.0.2')),
          'the connection to an address nothing resolved to is unnamed',
        );

        if (stored.s3) {
          // The second query reuses the cache: listing only, no object read again.
          const gets = () => stored.s3!.requests.filter((request) => request.startsWith('GET /') && !request.includes('list-type')).length;
          const before = gets();
          const again = await hostflowQuery(stored.source, ['--top-hosts', '--limit', '1000']);
          assert.equal(gets(), before);
          assert.doesNotMatch(again.stderr, /fetched/);
          assert.deepEqual(again.rows, top.rows);
        }

        if (stored.directory) {
          const root = join(stored.directory, 'hostflow');
          for (const dialect of DIALECTS) {
            const script: string = (
              await run(process.execPath, [CLI, 'schema', '--dialect', dialect, '--storage-dir', stored.directory, '--storage-format', format])
            ).stdout;
            assert.deepEqual(ddlMismatches(script, storedFiles(root)), [], dialect);
          }
          const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
          const connection = await instance.connect();
          t.after(() => {
            connection.closeSync();
            instance.closeSync();
          });
          const location = storageLocation({ directory: stored.directory, prefix: 'hostflow' });
          // DuckDB's glob must match a file: only the types the run wrote.
          const types = RECORD_TYPES.filter((type) => lines.some((line) => line.type === type));
          const options = { location, format, database: 'hostflow', catalog: 'hive', types, hostnames: [], dateRange: 'NOW-1YEARS,NOW' };
          for (const statement of schemaStatements('duckdb', options)) await connection.run(statement);
          for (const type of types) {
            const expected = lines.filter((line) => line.type === type).length;
            const reader = await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n, count(DISTINCT hostname)::INTEGER AS hosts FROM hostflow.${type}`);
            assert.deepEqual(reader.getRowObjectsJson(), [{ n: expected, hosts: 1 }], type);
          }
        }
      });
    }
  }

  test('a wrong bucket and missing credentials are one line each', async (t) => {
    const s3 = await TestS3.start(t);
    const cache = tempDir(t, 'hostflow-query-cache-');
    const wrong = await run(
      process.execPath,
      [CLI, 'query', '--storage-bucket', 'no-such-bucket', '--storage-endpoint', s3.endpoint, '--cache-dir', cache, '--top-hosts'],
      {
        env,
        check: false,
      },
    );
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, `hostflow: storage: bucket "no-such-bucket" does not exist at ${s3.endpoint}\n`);
    // No credentials anywhere; the instance metadata service is never asked (only loopback is a target here).
    const bare = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    const noCredentials = await run(
      process.execPath,
      [CLI, 'query', '--storage-bucket', s3.bucket, '--storage-endpoint', s3.endpoint, '--cache-dir', cache, '--top-hosts'],
      {
        env: { ...bare, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', HOME: cache },
        check: false,
      },
    );
    assert.equal(noCredentials.code, 1);
    assert.match(noCredentials.stderr, /^hostflow: storage: no AWS credentials found: set AWS_ACCESS_KEY_ID/);
    assert.equal(noCredentials.stderr.trim().split('\n').length, 1);
  });
});
