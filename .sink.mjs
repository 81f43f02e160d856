import S3rver from 's3rver';
import { mkdtempSync } from 'node:fs';
import { benchRecords } from './dist/bench/storage-bench.js';
import { StorageSink } from './dist/src/storage/index.js';
const dir = mkdtempSync('/tmp/pqprof/sink-');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir + '/s3', configureBuckets: [{ name: 'bench' }] });
const { port } = await server.run();
const all = benchRecords(300000);
for (const format of (process.argv[2] ?? 'parquet,ndjson').split(',')) {
  const sink = await StorageSink.open({
    bucket: 'bench',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    spoolDir: dir + '/spool-' + format,
    hostname: 'bench',
    format,
    flushIntervalMs: 1000,
    maxObjectBytes: 8 * 1024 * 1024,
  });
  const t0 = process.hrtime.bigint();
  for (let o = 0; o < all.length; o += 1000) {
    for (let i = o; i < o + 1000; i++) sink.write(all[i]);
    await new Promise((r) => setImmediate(r));
  }
  const t1 = process.hrtime.bigint();
  const res = await sink.close({ deadlineMs: 300000 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    format,
    Math.round(all.length / s),
    'records/s; writes',
    (Number(t1 - t0) / 1e9).toFixed(2),
    's, close',
    (s - Number(t1 - t0) / 1e9).toFixed(2),
    's',
    res.uploadedObjects,
    'objects',
  );
}
server.httpServer.closeAllConnections();
await server.close();
