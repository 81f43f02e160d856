/**
 * The storage sink's options, and the command line flags they come from.
 * Every default is here; `storageOptionsFromFlags` is the one place the
 * flags' units (seconds, MB) become the options' (ms, bytes).
 */
import { HostflowError } from '../errors.js';
import type { RetryPolicy } from './backoff.js';
import type { StorageFormat } from './layout.js';

export interface StorageOptions {
  /** `--storage-bucket`: the S3 bucket. Exactly one of `bucket` and `directory`. */
  bucket?: string;
  /** `--storage-endpoint`: an S3-compatible endpoint URL (path-style addressing); undefined is AWS S3. */
  endpoint?: string;
  /** `--storage-region`; undefined: the SDK's chain (AWS_REGION, profile), us-east-1 with an endpoint. */
  region?: string;
  /** `--storage-dir`: write the same objects under this local folder instead of a bucket. */
  directory?: string;
  /** `--storage-prefix`: the keys' first part; '' puts the record types at the root. @default 'hostflow' */
  prefix?: string;
  /** `--storage-format`: gzip NDJSON or Parquet. @default 'ndjson' */
  format?: StorageFormat;
  /** `--storage-flush-interval` (s) x 1000: a batch is closed and uploaded at this age. @default 60000 */
  flushIntervalMs?: number;
  /** `--storage-max-object-mb` x MiB: a batch is closed before its object grows past this. @default 64 MiB */
  maxObjectBytes?: number;
  /** `--spool-dir`: where batches wait for their upload. @default '/var/lib/hostflow/spool' */
  spoolDir?: string;
  /** `--spool-max-mb` x MiB: a full spool refuses new records (counted, reported). @default 1 GiB */
  spoolMaxBytes?: number;
  /** The `hostname=` partition (not `host=`: dns and conn records have a `host` column, and Athena rejects a partition column named like a data column). @default os.hostname() */
  hostname?: string;
  /** Where the sink reports what an operator must know (spool full, uploads failing, leftovers). */
  log?: (line: string) => void;
  /** Static S3 credentials instead of the SDK's default chain (tests, embedding). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Waits between failed upload attempts. @default { baseMs: 500, maxMs: 30000 } */
  retry?: RetryPolicy;
  /** Uploads at once. @default 4 */
  concurrency?: number;
  /** Multipart part size (S3's minimum: 5 MiB). @default 8 MiB */
  partSizeBytes?: number;
  /** Names this run in object names (the `seq` prefix). @default from the start time and pid */
  runId?: string;
  /** `--output-follows-storage`: the output file's lines are written once their records are in the spool, in groups (output-group.ts). */
  followOutput?: boolean;
}

export const STORAGE_DEFAULTS = {
  prefix: 'hostflow',
  format: 'ndjson' as StorageFormat,
  flushIntervalSeconds: 60,
  maxObjectMb: 64,
  spoolDir: '/var/lib/hostflow/spool',
  spoolMaxMb: 1024,
  concurrency: 4,
};

const MIB = 1024 * 1024;

/** The flags as commander parses them (camelCase of the long names). */
export interface StorageFlags {
  storageBucket?: string;
  storageEndpoint?: string;
  storageRegion?: string;
  storageDir?: string;
  storagePrefix?: string;
  storageFormat?: string;
  storageFlushInterval?: number;
  storageMaxObjectMb?: number;
  spoolDir?: string;
  spoolMaxMb?: number;
  outputFollowsStorage?: boolean;
  output?: string;
}

/** The sink's options from the flags; undefined when neither a bucket nor a folder is given. */
export function storageOptionsFromFlags(flags: StorageFlags): StorageOptions | undefined {
  if (!flags.storageBucket && !flags.storageDir) {
    const stray = (['storageEndpoint', 'storageRegion'] as const).filter((name) => flags[name] !== undefined);
    if (stray.length > 0) throw new HostflowError('storage: --storage-endpoint and --storage-region need --storage-bucket');
    if (flags.outputFollowsStorage) throw new HostflowError('--output-follows-storage needs --storage-bucket or --storage-dir');
    return undefined;
  }
  const options: StorageOptions = {
    prefix: flags.storagePrefix ?? STORAGE_DEFAULTS.prefix,
    format: (flags.storageFormat ?? STORAGE_DEFAULTS.format) as StorageFormat,
    flushIntervalMs: (flags.storageFlushInterval ?? STORAGE_DEFAULTS.flushIntervalSeconds) * 1000,
    maxObjectBytes: Math.floor((flags.storageMaxObjectMb ?? STORAGE_DEFAULTS.maxObjectMb) * MIB),
    spoolDir: flags.spoolDir ?? STORAGE_DEFAULTS.spoolDir,
    spoolMaxBytes: Math.floor((flags.spoolMaxMb ?? STORAGE_DEFAULTS.spoolMaxMb) * MIB),
  };
  if (flags.storageBucket) options.bucket = flags.storageBucket;
  if (flags.storageEndpoint) options.endpoint = flags.storageEndpoint;
  if (flags.storageRegion) options.region = flags.storageRegion;
  if (flags.storageDir) options.directory = flags.storageDir;
  if (flags.outputFollowsStorage) {
    if (!flags.output) throw new HostflowError('--output-follows-storage needs --output FILE');
    options.followOutput = true;
  }
  validateStorageOptions(options);
  return options;
}

/** Throws a one-line HostflowError for options that cannot work. */
export function validateStorageOptions(options: StorageOptions): void {
  const fail = (message: string): never => {
    throw new HostflowError(`storage: ${message}`);
  };
  if (options.bucket && options.directory) fail('--storage-bucket and --storage-dir exclude each other');
  if (!options.bucket && !options.directory) fail('give --storage-bucket or --storage-dir');
  if (options.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) fail(`"${options.bucket}" is not a valid bucket name`);
  if (options.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`--storage-endpoint ${options.endpoint} is not an http(s) URL`);
  }
  if (options.format !== undefined && options.format !== 'ndjson' && options.format !== 'parquet')
    fail(`--storage-format must be ndjson or parquet, not ${String(options.format)}`);
  const positive = (value: number | undefined, flag: string) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) fail(`${flag} must be a positive number`);
  };
  positive(options.flushIntervalMs, '--storage-flush-interval');
  positive(options.maxObjectBytes, '--storage-max-object-mb');
  positive(options.spoolMaxBytes, '--spool-max-mb');
  if (options.maxObjectBytes !== undefined && options.maxObjectBytes < 4096) fail('--storage-max-object-mb is too small (4 KiB at least)');
}
