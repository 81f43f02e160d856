/**
 * `hostflow query`: SQL, or one of the canned questions, over the records
 * a storage folder or bucket holds. Its own command line (like `ctl`): it
 * shares the storage flags' names with the tracer, not the tracer's
 * options, and loads neither the tracer nor, for a folder, the AWS SDK.
 */
import { Command, Option } from 'commander';
import { HostflowError } from '../errors.js';
import { hostSegment, normalizePrefix } from '../storage/layout.js';
import { STORAGE_DEFAULTS, validateStorageOptions } from '../storage/options.js';
import { CANNED_QUESTIONS, type CannedName } from './canned.js';
import { formatResult, OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { timeRange } from './range.js';
import { runQuery } from './run-query.js';
import { BucketSource, DirectorySource, defaultCacheDir, type RecordSource } from './sources.js';
import { parseSubcommand } from '../subcommand.js';
import { collectList, positiveInteger } from '../cli-values.js';

export interface QueryFlags {
  storageDir?: string;
  storageBucket?: string;
  storageEndpoint?: string;
  storageRegion?: string;
  storagePrefix: string;
  since?: string;
  until?: string;
  hostname: string[];
  topHosts?: boolean;
  whoResolved?: string;
  whoReached?: string;
  unresolved?: boolean;
  limit: number;
  format?: OutputFormat;
  cacheDir?: string;
  printSql?: boolean;
}

export interface QueryIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
}

/** The SQL to run and its parameters: the SQL given, or exactly one canned question. */
export function chosenSql(flags: QueryFlags, sql: string | undefined): { sql: string; parameters: string[] } {
  const asked: { name: CannedName; value?: string }[] = [];
  if (flags.topHosts) asked.push({ name: 'topHosts' });
  if (flags.whoResolved !== undefined) asked.push({ name: 'whoResolved', value: flags.whoResolved });
  if (flags.whoReached !== undefined) asked.push({ name: 'whoReached', value: flags.whoReached });
  if (flags.unresolved) asked.push({ name: 'unresolved' });
  const questions = Object.values(CANNED_QUESTIONS).map((question) => question.flag.split(' ')[0]);
  if (asked.length + (sql === undefined ? 0 : 1) !== 1) {
    throw new HostflowError(`query: give one SQL statement or one of ${questions.join(', ')}`);
  }
  const [question] = asked;
  if (!question) return { sql: sql as string, parameters: [] };
  return { sql: CANNED_QUESTIONS[question.name].sql(flags.limit), parameters: question.value === undefined ? [] : [question.value] };
}

export function buildQueryCommand(): Command {
  const command = new Command('hostflow query')
    .description(
      'SQL over stored records (views dns, conn, flow, udp; partitions dt, hour, hostname as columns), or a canned question. Objects of a bucket are fetched into a local cache that later queries reuse.',
    )
    .argument('[sql]', 'a SQL statement (DuckDB dialect)')
    .option('--storage-dir <dir>', 'read the objects under this local directory')
    .option('--storage-bucket <bucket>', "read the objects of this S3 bucket (credentials: the AWS SDK's default chain)")
    .option('--storage-endpoint <url>', 'S3-compatible endpoint (path-style addressing)')
    .option('--storage-region <region>', 'S3 region')
    .option('--storage-prefix <prefix>', 'key prefix in the bucket or directory', STORAGE_DEFAULTS.prefix)
    .option('--since <time>', 'records from this time on: 2026-11-23, 2026-11-23T18:00, an ISO time (UTC unless it says), or a span back from now (6h, 2d)')
    .option('--until <time>', 'records before this time (same forms)')
    .option('--hostname <name>', "only these machines (the objects' hostname partition; repeatable, comma-separated)", collectList, [])
    .option(CANNED_QUESTIONS.topHosts.flag, CANNED_QUESTIONS.topHosts.description)
    .option(CANNED_QUESTIONS.whoResolved.flag, CANNED_QUESTIONS.whoResolved.description)
    .option(CANNED_QUESTIONS.whoReached.flag, CANNED_QUESTIONS.whoReached.description)
    .option(CANNED_QUESTIONS.unresolved.flag, CANNED_QUESTIONS.unresolved.description)
    .option('--limit <n>', 'hosts per process (--top-hosts), addresses per row (--unresolved)', positiveInteger, 10)
    .addOption(new Option('--format <format>', 'output: a table, JSON lines or CSV (default: table on a terminal, else json)').choices(OUTPUT_FORMATS))
    .option('--cache-dir <dir>', 'where objects fetched from a bucket are kept (default: $XDG_CACHE_HOME/hostflow/query or ~/.cache/hostflow/query)')
    .option('--print-sql', 'print the SQL that would run (a canned question shows its query) and exit')
    .exitOverride()
    .showHelpAfterError(false);
  return command;
}

async function openSource(flags: QueryFlags, prefix: string): Promise<RecordSource> {
  validateStorageOptions({ bucket: flags.storageBucket, directory: flags.storageDir, endpoint: flags.storageEndpoint, region: flags.storageRegion });
  if (flags.storageDir !== undefined) {
    if (flags.storageEndpoint !== undefined || flags.storageRegion !== undefined)
      throw new HostflowError('storage: --storage-endpoint and --storage-region need --storage-bucket');
    return new DirectorySource(flags.storageDir, prefix);
  }
  return BucketSource.open({
    bucket: flags.storageBucket as string,
    prefix,
    endpoint: flags.storageEndpoint,
    region: flags.storageRegion,
    cacheDir: flags.cacheDir ?? defaultCacheDir(),
  });
}

/** Runs `hostflow query ARGS`; the exit code: 0 answered, 1 failed, 2 bad usage. */
export async function runQueryCli(argv: readonly string[], io: QueryIo = process): Promise<number> {
  const log = (line: string) => io.stderr.write(`hostflow: ${line}\n`);
  const command = buildQueryCommand();
  const ended = parseSubcommand(command, 'query', argv, io);
  if (ended !== null) return ended;
  const flags = command.opts<QueryFlags>();
  const [sqlArgument] = command.args;
  let source: RecordSource | undefined;
  try {
    const { sql, parameters } = chosenSql(flags, sqlArgument);
    if (flags.printSql) {
      io.stdout.write(`${sql.trim()}\n`);
      return 0;
    }
    const prefix = normalizePrefix(flags.storagePrefix);
    const range = timeRange(flags);
    const terminal = io.stdout.isTTY === true;
    const format = flags.format ?? (terminal ? 'table' : 'json');
    source = await openSource(flags, prefix);
    const outcome = await runQuery(source, { prefix, range, hostnames: flags.hostname.map(hostSegment), sql, parameters }, log);
    io.stdout.write(formatResult(outcome.result, format, terminal));
    if (outcome.objects === 0) log(`query: no objects under ${source.description} for this time range and these hosts`);
    if (outcome.skipped.length > 0) log(`query: ${outcome.skipped.length} malformed object${outcome.skipped.length === 1 ? '' : 's'} skipped (named above)`);
    return 0;
  } catch (error) {
    log(error instanceof HostflowError ? error.message.split('\n')[0]! : `query: ${(error as Error).message.split('\n')[0]}`);
    if (!(error instanceof HostflowError) && process.env.HOSTFLOW_DEBUG) console.error(error);
    return 1;
  } finally {
    source?.close();
  }
}
