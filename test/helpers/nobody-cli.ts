/**
 * The CLI as another user can open it. A checkout in a folder only root may
 * enter (CI clones into a 0700 temporary folder) is unreadable to `nobody`
 * whatever the modes of its files: for the tests that run hostflow or
 * `hostflow ctl` as another user, the folders on the way to the package get
 * the search bit for others (not the read bit: no listing), and their own
 * modes back afterwards. No file's mode or content changes.
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { CLI } from './hostflow.js';

export interface SharedCli {
  /** dist/src/cli.js, which `uid` can open now. */
  cli: string;
  /** Puts back the modes changed; nothing when none was. */
  release(): Promise<void>;
}

const OTHERS_SEARCH = 0o001;

export function cliReadableBy(): SharedCli {
  const changed: Array<[path: string, mode: number]> = [];
  for (let dir = packageRoot(); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & OTHERS_SEARCH) === 0) {
      chmodSync(dir, mode | OTHERS_SEARCH);
      changed.push([dir, mode]);
    }
    if (dirname(dir) === dir) break;
  }
  return {
    cli: CLI,
    release: async () => {
      for (const [dir, mode] of changed) chmodSync(dir, mode);
    },
  };
}
