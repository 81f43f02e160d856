/**
 * Finding the libc whose getaddrinfo the system's processes really call:
 * the one mapped into this process (Node links the system libc), falling
 * back to the usual paths. musl's loader is the libc too. The libc files
 * of every other process are libc-tracker.ts's.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { libcMappings } from './libc-maps.js';

/** libc paths named in a /proc/<pid>/maps text, in order of appearance, without duplicates. */
export function libcPathsFromMaps(mapsText: string): string[] {
  return [...new Set(libcMappings(mapsText).map((mapping) => mapping.path))];
}

const FALLBACK_PATHS = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/aarch64-linux-gnu/libc.so.6',
  '/usr/lib64/libc.so.6',
  '/lib64/libc.so.6',
  '/lib/libc.so.6',
];

/** The system libc's real path, or null when none is found. */
export function systemLibc(): string | null {
  let candidates: string[] = [];
  try {
    candidates = libcPathsFromMaps(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    // /proc not mounted: the fallback list below still applies.
  }
  for (const path of [...candidates, ...FALLBACK_PATHS]) {
    if (existsSync(path)) return realpathSync(path);
  }
  return null;
}

/**
 * The libcs to attach to: the system's plus those given with --libc, each
 * file once (by real path). With `onlyGiven`, the system's is left out.
 */
export function libcTargets(given: readonly string[], onlyGiven: boolean): string[] {
  const targets: string[] = [];
  const add = (path: string) => {
    const real = realpathSync(path);
    if (!targets.includes(real)) targets.push(real);
  };
  if (!onlyGiven) {
    const system = systemLibc();
    if (system) add(system);
  }
  for (const path of given) {
    if (!existsSync(path)) throw new Error(`--libc ${path}: no such file`);
    add(path);
  }
  return targets;
}
