/**
 * `hostflow schema --dialect D`: prints the CREATE statements of the
 * tables (or DuckDB views) over the bucket layout; nothing is connected to.
 */
import { Command, Option } from 'commander';
import { HostflowError } from '../errors.js';
import { parseSubcommand, type SubcommandIo } from '../subcommand.js';
import { collectList, collectTypes } from '../cli-values.js';
import { RECORD_TYPES, type RecordType } from '../records/types.js';
import { hostSegment } from '../storage/layout.js';
import { STORAGE_DEFAULTS, validateStorageOptions } from '../storage/options.js';
import { DDL_DEFAULTS, DIALECTS, schemaScript, storageLocation, type Dialect } from './index.js';

interface SchemaFlags {
  dialect: Dialect;
  storageBucket?: string;
  storageDir?: string;
  storagePrefix: string;
  location?: string;
  storageFormat: 'ndjson' | 'parquet';
  database: string;
  catalog: string;
  type: RecordType[];
  hostnames: string[];
  dateRange: string;
}

export function buildSchemaCommand(): Command {
  return new Command('hostflow schema')
    .description('print the CREATE statements of tables over the stored records, for a query engine')
    .addOption(new Option('--dialect <dialect>', 'the engine').choices(DIALECTS).makeOptionMandatory())
    .option('--storage-bucket <bucket>', 'the bucket hostflow writes to')
    .option('--storage-dir <dir>', 'a local storage directory instead (DuckDB)')
    .option('--storage-prefix <prefix>', 'key prefix in the bucket', STORAGE_DEFAULTS.prefix)
    .option('--location <url>', 'the folder above the record types instead, e.g. s3a://bucket/hostflow for Spark')
    .addOption(new Option('--storage-format <format>', 'the objects tables read').choices(['ndjson', 'parquet']).default(DDL_DEFAULTS.format))
    .option('--database <name>', 'database (Athena, Spark) or schema (Trino, DuckDB) of the tables', DDL_DEFAULTS.database)
    .option('--catalog <name>', "Trino: the Hive connector's catalog", DDL_DEFAULTS.catalog)
    .option('--type <types>', `record types (repeatable, comma-separated; default: ${RECORD_TYPES.join(', ')})`, collectTypes, [])
    .option(
      '--hostnames <names>',
      'Athena: the hosts, for an enum projection of hostname (default: injected, so queries must name their hosts)',
      collectList,
      [],
    )
    .option('--date-range <range>', "Athena: the dt projection's range", DDL_DEFAULTS.dateRange)
    .exitOverride()
    .showHelpAfterError(false);
}

export function runSchemaCli(argv: readonly string[], io: SubcommandIo = process): number {
  const command = buildSchemaCommand();
  const ended = parseSubcommand(command, 'schema', argv, io);
  if (ended !== null) return ended;
  const flags = command.opts<SchemaFlags>();
  try {
    let location = flags.location?.replace(/\/+$/, '');
    if (location === undefined) {
      if (!flags.storageBucket && !flags.storageDir) throw new HostflowError('schema: give --storage-bucket, --storage-dir or --location');
      validateStorageOptions({ bucket: flags.storageBucket, directory: flags.storageDir });
      location = storageLocation({ bucket: flags.storageBucket, directory: flags.storageDir, prefix: flags.storagePrefix });
    }
    io.stdout.write(
      schemaScript(flags.dialect, {
        location,
        format: flags.storageFormat,
        database: flags.database,
        catalog: flags.catalog,
        types: flags.type.length > 0 ? flags.type : RECORD_TYPES,
        hostnames: flags.hostnames.map(hostSegment),
        dateRange: flags.dateRange,
      }),
    );
    return 0;
  } catch (error) {
    io.stderr.write(`hostflow: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
