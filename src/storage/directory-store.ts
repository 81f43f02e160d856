/**
 * A local folder instead of a bucket (`--storage-dir`): the same keys as
 * paths, each file copied in under a hidden temporary name, fsynced and
 * renamed, so a reader never sees half an object.
 */
import { copyFile, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { HostflowError } from '../errors.js';
import type { ObjectStore } from './object-store.js';
import { fsyncPath, type SpoolEntry } from './spool.js';

export class DirectoryStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;
  private copies = 0;

  constructor(directory: string) {
    this.root = resolve(directory);
    this.description = this.root;
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async preflight(probeKey: string): Promise<void> {
    const path = this.pathOf(probeKey);
    try {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'w', 0o640);
      await handle.close();
      await unlink(path);
      await rmdir(dirname(path)).catch(() => undefined);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new HostflowError(`storage: cannot write to --storage-dir ${this.root} (${code}): create it or pick a writable folder`, { cause: error });
    }
  }

  async put(entry: SpoolEntry, _contentType: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const path = this.pathOf(entry.key);
    const folder = dirname(path);
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, `.${process.pid}-${++this.copies}.tmp`);
    try {
      await copyFile(entry.path, temporary);
      await fsyncPath(temporary);
      signal.throwIfAborted();
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await fsyncPath(folder);
  }

  close(): void {}
}
