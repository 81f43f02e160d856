/**
 * A real S3-protocol server for the storage tests: s3rver on 127.0.0.1, a
 * free port, its objects in a temporary folder. It can stop (every
 * connection cut, as an endpoint that went away) and start again on the
 * same port with the same objects. Objects are listed and read back with
 * the AWS SDK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** s3rver's one account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface StoredObject {
  key: string;
  body: Buffer;
  metadata: Record<string, string>;
  contentType: string | undefined;
}

export class TestS3 {
  private server: S3rver | null = null;
  readonly client: S3Client;
  /** Every request the server got, as `METHOD /path?query`. */
  readonly requests: string[] = [];

  private constructor(
    readonly port: number,
    readonly directory: string,
    readonly bucket: string,
  ) {
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a server with one bucket; `t.after` stops it and removes its folder. */
  static async start(t: { after(fn: () => Promise<void> | void): void }, bucket = 'hostflow-test'): Promise<TestS3> {
    const directory = mkdtempSync(join(tmpdir(), 'hostflow-s3-'));
    const s3 = new TestS3(await freePort(), directory, bucket);
    await s3.resume();
    t.after(async () => {
      await s3.stop();
      s3.client.destroy();
      rmSync(directory, { recursive: true, force: true });
    });
    return s3;
  }

  /** (Re)starts the server on its port, with the objects it had. */
  async resume(): Promise<void> {
    if (this.server) return;
    const server = new S3rver({ address: '127.0.0.1', port: this.port, silent: true, directory: this.directory, configureBuckets: [{ name: this.bucket }] });
    await server.run();
    server.httpServer.prependListener('request', (request: { method?: string; url?: string }) => this.requests.push(`${request.method} ${request.url}`));
    this.server = server;
  }

  /** Stops at once: every open connection is cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = server.close();
    server.httpServer.closeAllConnections();
    await closed;
  }

  async keys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, ContinuationToken: token }));
      for (const item of page.Contents ?? []) keys.push(item.Key as string);
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async get(key: string): Promise<StoredObject> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const body = Buffer.from(await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    return { key, body, metadata: answer.Metadata ?? {}, contentType: answer.ContentType };
  }

  async objects(): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    for (const key of await this.keys()) objects.push(await this.get(key));
    return objects;
  }
}

/** A TCP port nothing listens on right now (loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
