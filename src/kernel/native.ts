/**
 * Loads the native addon (addon/, built by node-gyp) and types it with the
 * surface declared in native-api.ts. When no build loads, the one Error
 * thrown lists every path tried and why each failed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../package-root.js';
import type { NativeAddon } from './native-api.js';

export type * from './native-api.js';

/** Builds tried in order, relative to the package root (dist/src/kernel/ and src/kernel/ both resolve to it). */
const CANDIDATES = ['addon/build/Release/hostflow.node', 'addon/build/Debug/hostflow.node'];

let loaded: NativeAddon | undefined;

/** The addon, loaded once per process (or worker). */
export function loadNative(): NativeAddon {
  if (loaded !== undefined) return loaded;
  const root = packageRoot();
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const candidate of CANDIDATES) {
    const path = join(root, candidate);
    if (!existsSync(path)) {
      failures.push(`  ${path}: not found`);
      continue;
    }
    try {
      loaded = require(path) as NativeAddon;
      return loaded;
    } catch (error) {
      failures.push(`  ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`hostflow: the native addon could not be loaded. Tried:\n${failures.join('\n')}\nrun: npm run build`);
}
