/**
 * getaddrinfo in libc files: the entry and return probes on one file, and
 * the tracker that puts them on every file the plan names and, with
 * discovery, on every libc processes map (src/system/libc-tracker.ts).
 * `listLibcs` lists the same files without attaching, for doctor.
 */
import { LibcTracker } from '../system/libc-tracker.js';
import type { LibcFile } from '../system/libc-registry.js';
import { systemLibc } from '../system/libc.js';
import { attach } from './attach.js';
import type { AttachPlan } from './attach-plan.js';
import type { BpfObject, LinkInfo } from './native-api.js';

/**
 * Both probes on one file, or neither. The entry probe goes first: a
 * uretprobe fires only for calls that entered after it attached, so no
 * return comes without its call's entry.
 */
export function attachGetaddrinfo(object: BpfObject, path: string): LinkInfo[] {
  const entry = attach(() => object.attachUprobe('getaddrinfo_entry', path, 'getaddrinfo', false));
  try {
    return [entry, attach(() => object.attachUprobe('getaddrinfo_return', path, 'getaddrinfo', true))];
  } catch (error) {
    object.detach(entry.id);
    throw error;
  }
}

/**
 * Attaches to the plan's files (a failure is a warning) and, with
 * discovery, to every libc the running processes map; the caller starts
 * the tracker's timer (`start()`) once the rest of the tracer runs.
 */
export function trackLibcs(object: BpfObject, plan: AttachPlan['libcs'], warn?: (line: string) => void): LibcTracker {
  const tracker = new LibcTracker({ attach: (path) => attachGetaddrinfo(object, path), warn, intervalMs: plan.scanMs });
  const system = systemLibc();
  for (const libc of plan.files) tracker.addFile(libc, libc === system ? 'system' : 'option');
  if (plan.discovery) tracker.scanAll();
  return tracker;
}

/**
 * The libc files `hostflow` would trace now, the system's and every one
 * the running processes map, listed without attaching (doctor, when it
 * cannot start a tracer).
 */
export function listLibcs(): LibcFile[] {
  const tracker = new LibcTracker({
    attach: () => {
      throw new Error('not tried (needs the addon, privileges and tracefs)');
    },
  });
  const system = systemLibc();
  if (system) tracker.addFile(system, 'system');
  tracker.scanAll();
  return tracker.files();
}
