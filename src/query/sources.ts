/**
 * Where `hostflow query` finds objects: a storage folder, read in place,
 * or a bucket, listed by the prefixes a query needs and fetched into a
 * local cache that later queries reuse (DuckDB's S3 extension cannot be
 * installed offline, so hostflow fetches with the AWS SDK it already has).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { HostflowError } from '../errors.js';
import { describeS3Error } from '../storage/s3-errors.js';
import { s3ClientConfig } from '../storage/s3-store.js';
import { parseStoredKey, type StoredKey } from './keys.js';

export interface ListedObject {
  stored: StoredKey;
  /** Bytes, as listed. */
  size: number;
}

export interface RecordSource {
  /** For messages: the folder, or s3://bucket/prefix. */
  readonly description: string;
  /** Every object of the layout under these key prefixes (each ends with '/'). */
  list(prefixes: readonly string[]): Promise<ListedObject[]>;
  /** The local file with the object's bytes when there is one already (a folder's file, a cached copy), else null. */
  localFile(object: ListedObject): Promise<string | null>;
  /** Downloads the object into a local file (a folder's objects are local already). */
  fetch(object: ListedObject): Promise<string>;
  close(): void;
}

/** `--storage-dir`: the objects are files already; nothing is copied. */
export class DirectorySource implements RecordSource {
  readonly description: string;
  private readonly root: string;

  constructor(
    directory: string,
    private readonly prefix: string,
  ) {
    this.root = resolve(directory);
    this.description = this.root;
  }

  async list(prefixes: readonly string[]): Promise<ListedObject[]> {
    try {
      const rootStat = await stat(this.root);
      if (!rootStat.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new HostflowError(`query: cannot read --storage-dir ${this.root} (${code})`, { cause: error });
    }
    const objects: ListedObject[] = [];
    for (const keyPrefix of prefixes) {
      const folder = join(this.root, ...keyPrefix.split('/').filter(Boolean));
      let names: string[];
      try {
        names = (await readdir(folder, { recursive: true })) as string[];
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new HostflowError(`query: cannot read ${folder} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
      }
      for (const name of names) {
        const stored = parseStoredKey(`${keyPrefix}${name.split('\\').join('/')}`, this.prefix);
        if (stored) objects.push({ stored, size: (await stat(join(folder, name))).size });
      }
    }
    return objects;
  }

  localFile(object: ListedObject): Promise<string> {
    return Promise.resolve(join(this.root, ...object.stored.key.split('/')));
  }

  fetch(object: ListedObject): Promise<string> {
    return this.localFile(object);
  }

  close(): void {}
}

export interface BucketSourceOptions {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The cache's root; each bucket gets its own folder under it. */
  cacheDir: string;
}

/**
 * `--storage-bucket`: listed page by page; an object is fetched once into
 * `cacheDir/{endpoint}/{bucket}/{key}` and reused while its size is the
 * listed one (hostflow never rewrites an object with other records: a
 * retried upload writes the same bytes to the same key).
 */
export class BucketSource implements RecordSource {
  readonly description: string;
  private readonly where: string;
  private readonly cacheRoot: string;
  private downloads = 0;

  private constructor(
    private readonly options: BucketSourceOptions,
    private readonly client: S3Client,
    private readonly sdk: typeof import('@aws-sdk/client-s3'),
  ) {
    this.description = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
    this.where = options.endpoint ?? 'AWS S3';
    const endpointFolder = options.endpoint ? new URL(options.endpoint).host.replace(/[^A-Za-z0-9.-]/g, '_') : 'aws';
    this.cacheRoot = join(resolve(options.cacheDir), endpointFolder, options.bucket);
  }

  /** The SDK is loaded only for a bucket: a folder query never pays for it. */
  static async open(options: BucketSourceOptions): Promise<BucketSource> {
    const sdk = await import('@aws-sdk/client-s3');
    return new BucketSource(options, new sdk.S3Client(s3ClientConfig(options)), sdk);
  }

  private fail(error: unknown): never {
    throw new HostflowError(describeS3Error(error, this.options.bucket, this.description, this.where, 'read'), { cause: error });
  }

  async list(prefixes: readonly string[]): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    for (const keyPrefix of prefixes) {
      let token: string | undefined;
      do {
        const page = await this.client
          .send(new this.sdk.ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: keyPrefix, ContinuationToken: token }))
          .catch((error: unknown) => this.fail(error));
        for (const item of page.Contents ?? []) {
          const stored = item.Key ? parseStoredKey(item.Key, this.options.prefix) : null;
          if (stored) objects.push({ stored, size: item.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    return objects;
  }

  private cachePath(object: ListedObject): string {
    return join(this.cacheRoot, ...object.stored.key.split('/'));
  }

  async localFile(object: ListedObject): Promise<string | null> {
    const path = this.cachePath(object);
    const cached = await stat(path).catch(() => null);
    return cached?.isFile() && cached.size === object.size ? path : null;
  }

  async fetch(object: ListedObject): Promise<string> {
    const path = this.cachePath(object);
    await mkdir(dirname(path), { recursive: true });
    const temporary = join(dirname(path), `.${process.pid}-${++this.downloads}.part`);
    try {
      const answer = await this.client
        .send(new this.sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: object.stored.key }))
        .catch((error: unknown) => this.fail(error));
      await pipeline(answer.Body as Readable, createWriteStream(temporary));
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    return path;
  }

  close(): void {
    this.client.destroy();
  }
}

/** The cache's default root: $XDG_CACHE_HOME/hostflow/query, or ~/.cache/hostflow/query. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, home = env.HOME ?? '/root'): string {
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'hostflow', 'query');
}
