/**
 * An S3-compatible bucket. Credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles)
 * unless given. A custom endpoint gets path-style addressing, and checksums
 * are only computed where S3 requires them, which servers that predate the
 * SDK's newer default checksums accept. Objects go through lib-storage's
 * Upload: one PUT when small, a multipart upload when large.
 */
import { createReadStream } from 'node:fs';
import { DeleteObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { HostflowError } from '../errors.js';
import type { ObjectStore } from './object-store.js';
import { describeS3Error } from './s3-errors.js';
import type { SpoolEntry } from './spool.js';

export interface S3StoreOptions {
  bucket: string;
  /** e.g. http://127.0.0.1:9000; undefined uses AWS S3. */
  endpoint?: string;
  /** undefined: the SDK's chain (AWS_REGION, profile), us-east-1 with a custom endpoint. */
  region?: string;
  /** Key prefix, for messages. */
  prefix: string;
  /** Static credentials instead of the default chain (tests, embedding). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size; S3's minimum is 5 MiB. @default 8 MiB */
  partSizeBytes?: number;
  /** Longest wait for a connection to the endpoint. @default 5000 */
  connectTimeoutMs?: number;
}

const PREFLIGHT_TIMEOUT_MS = 15_000;

/** The client's settings, shared by the sink and `hostflow query`, which reads the same bucket. */
export function s3ClientConfig(options: Pick<S3StoreOptions, 'endpoint' | 'region' | 'credentials' | 'connectTimeoutMs'>): S3ClientConfig {
  const config: S3ClientConfig = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 5000, requestTimeout: 120_000 },
  };
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    config.forcePathStyle = true;
  }
  const region = options.region ?? (options.endpoint ? (process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1') : undefined);
  if (region) config.region = region;
  if (options.credentials) config.credentials = options.credentials;
  return config;
}

export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly where: string;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client(s3ClientConfig(options));
    this.description = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
    this.where = options.endpoint ?? 'AWS S3';
  }

  async preflight(probeKey: string): Promise<void> {
    const abortSignal = AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.options.bucket, Key: probeKey, Body: 'hostflow checks it can write here\n', ContentType: 'text/plain' }),
        { abortSignal },
      );
    } catch (error) {
      const timedOut = abortSignal.aborted ? Object.assign(new Error('no answer'), { name: 'TimeoutError' }) : error;
      throw new HostflowError(describeS3Error(timedOut, this.options.bucket, this.description, this.where), { cause: error });
    }
    // Writing is what matters; a policy may allow PutObject and not DeleteObject.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: probeKey }), { abortSignal }).catch(() => undefined);
  }

  async put(entry: SpoolEntry, contentType: string, signal: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: entry.key,
        Body: createReadStream(entry.path),
        ContentType: contentType,
        Metadata: entry.records === null ? {} : { records: String(entry.records) },
      },
      partSize: this.options.partSizeBytes ?? 8 * 1024 * 1024,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      signal.throwIfAborted();
      await upload.done();
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
