/**
 * A small tmpfs of its own (root only), to run out of space on purpose:
 * `fill()` takes every free byte with a filler file, `free()` deletes it,
 * and `t.after` unmounts and removes the folder. Mounted under a private
 * folder in /tmp, so tests running beside it never share it.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../process.js';

export class SmallDisk {
  private fillers = 0;

  private constructor(readonly path: string) {}

  /** Mounts a tmpfs of `sizeKib` at a new folder. */
  static async mount(t: { after(fn: () => Promise<void>): void }, sizeKib: number): Promise<SmallDisk> {
    const path = mkdtempSync(join(tmpdir(), 'hostflow-small-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKib}k,mode=0755`, 'hostflow-small-disk', path]);
    t.after(async () => {
      await run('umount', ['-l', path], { check: false });
      rmSync(path, { recursive: true, force: true });
    });
    return new SmallDisk(path);
  }

  /** Bytes a writer can still get. */
  get freeBytes(): number {
    const stats = statfsSync(this.path);
    return stats.bavail * stats.bsize;
  }

  /** Writes a filler file until the disk refuses (ENOSPC); the bytes it took. */
  fill(): number {
    const fd = openSync(join(this.path, `.filler-${++this.fillers}`), 'w');
    const block = Buffer.alloc(4096, 0x66);
    let taken = 0;
    try {
      for (;;) taken += writeSync(fd, block);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
    return taken;
  }

  /** Deletes the filler files: the space is back. */
  free(): void {
    for (let index = 1; index <= this.fillers; index++) rmSync(join(this.path, `.filler-${index}`), { force: true });
  }
}
