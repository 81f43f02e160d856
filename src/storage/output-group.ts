/**
 * --output-follows-storage: the output file and the bucket hold the same
 * records, whatever moment a crash picks. A record is acknowledged once it
 * is in both the output file and a published spool batch; both happen in
 * one group, in this order:
 *
 *   1. the open batches are closed and made durable under their hidden
 *      names (`.{seq}.tmp`), and the output lines of the same records are
 *      set apart;
 *   2. a marker in the spool names those files and where the lines go:
 *      the output file (device, inode) and its size before and after;
 *   3. the lines are written to the output file and synced;
 *   4. the batches are published (renamed to their keys) and queued;
 *   5. the marker is removed.
 *
 * A start that finds a marker settles it before anything else: when the
 * output file holds the lines (its size reached `after`, or it was rotated
 * since, which only a later group does) the batches are published; when
 * it does not, they are removed, and lines written in part are cut off
 * the file, so neither side keeps a record the other lacks. Nothing of a
 * group is ever in one place only.
 */
import { open, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncPath } from './spool.js';

/** Where a group's lines go. */
export interface OutputMark {
  path: string;
  dev: number;
  ino: number;
  /** The file's size before the group's lines, and after them. */
  before: number;
  after: number;
}

/** The output file's side of a group: lines held in memory until storage writes them. */
export interface HeldOutput {
  readonly heldBytes: number;
  hold(lastGroup: () => Promise<void>): void;
  markHeld(bytes: number): OutputMark | null;
  writeHeld(bytes: number): void;
}

export interface GroupMarker {
  output: OutputMark | null;
  /** Each batch: its hidden file and the path it is published as. */
  files: { partial: string; path: string }[];
}

const MARKER = '.output-group.json';

export async function writeMarker(root: string, marker: GroupMarker): Promise<void> {
  const path = join(root, MARKER);
  // Hidden and ending in .tmp: a start that finds it half-written removes it with the spool's other partial files.
  const partial = `${path}.tmp`;
  const handle = await open(partial, 'w', 0o640);
  try {
    await handle.writeFile(JSON.stringify(marker));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, path);
  await fsyncPath(root);
}

export async function removeMarker(root: string): Promise<void> {
  await unlink(join(root, MARKER)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Did the group's lines reach the output file: all, none, or a part (then cut off again)? */
async function outputHolds(mark: OutputMark | null): Promise<'all' | 'none'> {
  if (!mark) return 'all';
  let size: number;
  try {
    const stats = await stat(mark.path);
    // Another file under the name: this one was rotated, which only a later group does.
    if (stats.dev !== mark.dev || stats.ino !== mark.ino) return 'all';
    size = stats.size;
  } catch {
    // The file is gone (removed by its reader): nothing says the lines were not written; keep the records.
    return 'all';
  }
  if (size >= mark.after) return 'all';
  if (size > mark.before) await truncate(mark.path, mark.before);
  return 'none';
}

export interface SettledGroup {
  published: string[];
  removed: number;
  /** Bytes of lines written in part and cut off the output file. */
  cutBytes: number;
}

/** Settles the group a crash left, if any (see the module comment); null when there was none. */
export async function settleGroup(root: string): Promise<SettledGroup | null> {
  const path = join(root, MARKER);
  let marker: GroupMarker;
  try {
    marker = JSON.parse(await readFile(path, 'utf8')) as GroupMarker;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A marker that cannot be read was never renamed into place whole: its group never wrote a line.
    await removeMarker(root);
    return { published: [], removed: 0, cutBytes: 0 };
  }
  let sizeBefore = 0;
  try {
    if (marker.output) sizeBefore = (await stat(marker.output.path)).size;
  } catch {
    sizeBefore = 0;
  }
  const holds = await outputHolds(marker.output);
  const settled: SettledGroup = { published: [], removed: 0, cutBytes: 0 };
  if (holds === 'none' && marker.output && sizeBefore > marker.output.before) settled.cutBytes = sizeBefore - marker.output.before;
  for (const file of marker.files) {
    if (holds === 'all') {
      try {
        await rename(file.partial, file.path);
        await fsyncPath(dirname(file.path));
        settled.published.push(file.path);
      } catch (error) {
        // Published before the crash: the file is already under its name.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    } else {
      await unlink(file.partial).then(
        () => settled.removed++,
        () => undefined,
      );
    }
  }
  await removeMarker(root);
  return settled;
}
