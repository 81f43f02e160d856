import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { RECORD_TYPES } from '../../src/records/types.js';
import { DIALECTS, schemaScript, schemaStatements, storageLocation, type DdlOptions } from '../../src/schema/index.js';
import { partitionFolder } from '../../src/storage/layout.js';
import { ddlMismatches, parseDdl, storedFiles } from '../helpers/query/ddl-check.js';
import { tempDir, writeStored } from '../helpers/query/stored.js';
import { objectRecords } from '../helpers/storage/read-back.js';
import { sampleRecords } from '../helpers/storage/sample-records.js';

function options(location: string, format: DdlOptions['format']): DdlOptions {
  return { location, format, database: 'hostflow', catalog: 'hive', types: RECORD_TYPES, hostnames: [], dateRange: 'NOW-1YEARS,NOW' };
}

test("every dialect's columns and partitions hold against the objects the sink writes, NDJSON and Parquet", async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(1200);
  await writeStored(dir, records, 'ndjson', 'host-a');
  await writeStored(dir, records, 'parquet', 'host-b');
  const files = storedFiles(join(dir, 'hostflow'));
  assert.ok(files.some((file) => file.key.endsWith('.parquet')) && files.some((file) => file.key.endsWith('.ndjson.gz')));
  assert.ok(
    files.some((file) => file.partitions.hour === '11'),
    'the records cross an hour',
  );
  for (const dialect of DIALECTS) {
    for (const format of ['ndjson', 'parquet'] as const) {
      const script = schemaScript(dialect, options('s3://bucket/hostflow', format));
      const tables = parseDdl(script);
      assert.deepEqual(
        tables.map((table) => table.name),
        [...RECORD_TYPES],
        `${dialect}: one table per record type`,
      );
      assert.deepEqual(ddlMismatches(script, files), [], `${dialect} ${format}`);
    }
  }
});

test('the check finds a declared type that is not the files', async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(40);
  await writeStored(dir, records, 'parquet', 'h');
  await writeStored(dir, records, 'ndjson', 'h');
  const script = schemaScript('athena', options('s3://bucket/hostflow', 'parquet'))
    .replace('`uid` bigint', '`uid` string')
    .replace('`sport` int', '`sport` string');
  const problems = ddlMismatches(script, storedFiles(join(dir, 'hostflow')));
  assert.ok(problems.some((line) => /parquet: uid declared string, the file has int64/.test(line)));
  assert.ok(problems.some((line) => /ndjson\.gz: sport = \d+ does not fit string/.test(line)));
});

test('Athena projects dt, hour and hostname onto the key layout', () => {
  for (const hostnames of [[], ['web-1', 'web-2']]) {
    const conn = schemaStatements('athena', { ...options('s3://fleet-records/hostflow', 'parquet'), hostnames }).find((statement) =>
      statement.includes('.`conn` ('),
    );
    const properties = Object.fromEntries([...conn!.matchAll(/'([^']+)' = '([^']*)'/g)].map((match) => [match[1], match[2]]));
    assert.equal(properties['projection.enabled'], 'true');
    assert.equal(properties['projection.dt.type'], 'date');
    assert.equal(properties['projection.dt.format'], 'yyyy-MM-dd');
    assert.deepEqual([properties['projection.hour.type'], properties['projection.hour.range'], properties['projection.hour.digits']], ['integer', '0,23', '2']);
    if (hostnames.length === 0) assert.equal(properties['projection.hostname.type'], 'injected');
    else assert.deepEqual([properties['projection.hostname.type'], properties['projection.hostname.values']], ['enum', 'web-1,web-2']);
    const folder = partitionFolder('hostflow', 'conn', { dt: '${dt}', hour: '${hour}' }, '${hostname}');
    assert.equal(properties['storage.location.template'], `s3://fleet-records/${folder}/`);
  }
});

test("the DuckDB dialect's statements run and return the stored rows, for both formats", async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(900);
  await writeStored(dir, records, 'ndjson', 'host-a');
  await writeStored(dir, records, 'parquet', 'host-b');
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  t.after(() => {
    connection.closeSync();
    instance.closeSync();
  });
  await connection.run("SET TimeZone = 'UTC'");
  for (const format of ['ndjson', 'parquet'] as const) {
    const location = storageLocation({ directory: dir, prefix: 'hostflow' });
    for (const statement of schemaStatements('duckdb', { ...options(location, format), database: `hostflow_${format}` })) await connection.run(statement);
    for (const type of RECORD_TYPES) {
      const expected = records.filter((record) => record.type === type);
      const reader = await connection.runAndReadAll(
        `SELECT strftime(${type === 'flow' ? '"start"' : 'ts'}, '%Y-%m-%dT%H:%M:%S.%fZ') AS time, hostname FROM hostflow_${format}.${type} ORDER BY 1`,
      );
      const rows = reader.getRowObjectsJson() as { time: string; hostname: string }[];
      assert.deepEqual(
        rows.map((row) => row.time),
        expected.map((record) => (record.type === 'flow' ? record.start : record.ts)).sort(),
        `${format} ${type}`,
      );
      assert.ok(rows.every((row) => row.hostname === (format === 'ndjson' ? 'host-a' : 'host-b')));
    }
  }
  // The rows read back independently agree on the count too.
  const stored = (await Promise.all(storedFiles(join(dir, 'hostflow')).map((file) => objectRecords(file.key, file.body)))).flat();
  assert.equal(stored.length, records.length * 2);
});
