/**
 * The spool: batches on local disk between the sink and the bucket. It
 * mirrors the bucket's layout: a finished batch is the file
 * `{spool}/{key}#{records}`, written as a hidden `.{name}.tmp` in the same
 * folder, fsynced, renamed into place, and the folder fsynced, so a crash
 * leaves either a whole batch or a partial file that the next start
 * removes. A batch's file is removed only after its upload succeeded.
 */
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/** A finished batch waiting in the spool. */
export interface SpoolEntry {
  /** The object key, the path below the spool root without `#records`. */
  key: string;
  path: string;
  bytes: number;
  /** Records in the batch; null for a file named without a count. */
  records: number | null;
}

const PARTIAL = /^\..*\.tmp$/;

/** fsync of a file or a folder (a folder's, so a rename in it survives a crash). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * One batch being written. Writes are queued and done in order off the
 * caller's path; `commit` waits for them, makes the file durable and gives
 * it its final name.
 */
export class SpoolFile {
  /** Bytes handed to `write` so far. */
  bytes = 0;
  private handle: FileHandle | null = null;
  private tail: Promise<void>;
  private failure: unknown = null;
  private readonly tmpPath: string;
  /** The first folder this file's mkdir created, when it created any. */
  private createdFolder: string | undefined;

  constructor(
    private readonly root: string,
    private readonly folder: string,
    tmpName: string,
  ) {
    this.tmpPath = join(folder, `.${tmpName}.tmp`);
    this.tail = this.openFile().catch((error: unknown) => {
      this.failure = error;
    });
  }

  private async openFile(): Promise<void> {
    // An upload removes the folders it empties, up the tree: one may go between mkdir and open, or
    // while mkdir creates the folders below it (ENOENT from mkdir itself). Try again.
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await mkdir(this.folder, { recursive: true });
        // The highest folder created, over the attempts: publish makes each one's entry durable.
        if (created && (!this.createdFolder || created.length < this.createdFolder.length)) this.createdFolder = created;
        this.handle = await open(this.tmpPath, 'wx', 0o640);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
      }
    }
  }

  /** A write failed (a full disk): the batch cannot be finished, its records are lost at commit. */
  get failed(): boolean {
    return this.failure !== null;
  }

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.tail = this.tail.then(async () => {
      if (this.failure || !this.handle) return;
      try {
        for (let done = 0; done < chunk.length;) done += (await this.handle.write(chunk, done)).bytesWritten;
      } catch (error) {
        this.failure = error;
      }
    });
  }

  /** Waits for the writes, fsyncs, renames to `name` in the same folder, fsyncs the folders; the final path. */
  async commit(name: string): Promise<string> {
    await this.prepare();
    return this.publish(name);
  }

  /** The hidden name the batch is written under until it is published. */
  get partialPath(): string {
    return this.tmpPath;
  }

  /** Waits for the writes and makes the file durable under its hidden name (a batch whose publishing waits for the output: see OutputGroups). */
  async prepare(): Promise<void> {
    await this.tail;
    if (this.failure || !this.handle) throw this.failure ?? new Error('spool file not open');
    await this.handle.sync();
    await this.handle.close();
    this.handle = null;
  }

  /** Renames a prepared file to `name` in its folder and makes the name durable; the final path. */
  async publish(name: string): Promise<string> {
    const path = join(this.folder, name);
    await rename(this.tmpPath, path);
    // The new name, and any folder created for it, must survive a crash too.
    await fsyncPath(this.folder);
    if (this.createdFolder) {
      for (let folder = dirname(this.folder); ; folder = dirname(folder)) {
        await fsyncPath(folder);
        if (folder === this.root || relative(this.root, folder).startsWith('..') || folder === dirname(this.createdFolder)) break;
      }
    }
    return path;
  }

  /** Drops the partial file (a batch that could not be finished). */
  async discard(): Promise<void> {
    await this.tail;
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    await unlink(this.tmpPath).catch(() => undefined);
  }
}

export class Spool {
  constructor(readonly root: string) {}

  /** Creates the root; throws when it cannot be created or written. */
  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o750 });
    const probe = join(this.root, `.probe-${process.pid}.tmp`);
    const handle = await open(probe, 'w', 0o640);
    await handle.close();
    await unlink(probe);
  }

  /** A new batch file in the folder of `folderKey` (a key's folder part). */
  create(folderKey: string, tmpName: string): SpoolFile {
    return new SpoolFile(this.root, join(this.root, ...folderKey.split('/')), tmpName);
  }

  /** The file name of a finished batch. */
  static fileName(objectName: string, records: number): string {
    return `${objectName}#${records}`;
  }

  /** Entry of a committed batch file. */
  entry(path: string, bytes: number): SpoolEntry {
    const relativePath = relative(this.root, path).split(sep).join('/');
    const hash = relativePath.lastIndexOf('#');
    const slash = relativePath.lastIndexOf('/');
    const count = hash > slash ? Number(relativePath.slice(hash + 1)) : NaN;
    const counted = hash > slash && Number.isInteger(count) && count >= 0;
    return { key: counted ? relativePath.slice(0, hash) : relativePath, path, bytes, records: counted ? count : null };
  }

  /**
   * The batches a previous run left, oldest key first; partial files (a
   * batch being written when the process died) are removed and counted.
   */
  async recover(): Promise<{ entries: SpoolEntry[]; partials: number }> {
    const entries: SpoolEntry[] = [];
    let partials = 0;
    const walk = async (folder: string): Promise<void> => {
      for (const item of await readdir(folder, { withFileTypes: true })) {
        const path = join(folder, item.name);
        if (item.isDirectory()) {
          await walk(path);
        } else if (item.isFile() && PARTIAL.test(item.name)) {
          await unlink(path);
          partials++;
        } else if (item.isFile() && !item.name.startsWith('.')) {
          entries.push(this.entry(path, (await stat(path)).size));
        }
      }
      if (folder !== this.root) await rmdir(folder).catch(() => undefined);
    };
    await walk(this.root);
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { entries, partials };
  }

  /** Removes an uploaded batch, and the folders it leaves empty. */
  async remove(entry: SpoolEntry): Promise<void> {
    await unlink(entry.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    for (let folder = dirname(entry.path); folder !== this.root && !relative(this.root, folder).startsWith('..'); folder = dirname(folder)) {
      try {
        await rmdir(folder);
      } catch {
        break;
      }
    }
  }
}
