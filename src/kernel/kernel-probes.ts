/**
 * What this kernel offers the tracer, found out without starting one:
 * whether it has kprobes at all (read from sysfs), and whether
 * a connect mode loads and attaches here (tried for real, then taken down).
 * The tracer's fallback chain and `hostflow doctor` both ask.
 */
import { existsSync } from 'node:fs';
import { firstLine } from '../errors.js';
import { attachConnectProbe } from './attach.js';
import type { ConnectProbeName } from './layout.js';
import { openAndLoad } from './load-plan.js';
import type { BpfObject, NativeAddon } from './native-api.js';
import { DEFAULT_TRACER_OPTIONS } from './tracer-options.js';

/**
 * The kprobe PMU exists. Every kernel with kprobes has it since 4.17, so on
 * the kernels hostflow runs on (5.18+) no kprobes means no kprobe_events in
 * tracefs either: hostflow never needs tracefs, nor the root it takes to
 * mount and read it.
 */
export function kernelHasKprobes(): boolean {
  return existsSync('/sys/bus/event_source/devices/kprobe');
}

/**
 * Loads and attaches one connect mode on its own and takes it down again:
 * null when the mode works here, else the reason it does not.
 */
export function tryConnectProbe(native: NativeAddon, mode: ConnectProbeName): string | null {
  let object: BpfObject | null = null;
  try {
    object = openAndLoad(native, { ...DEFAULT_TRACER_OPTIONS, interfaces: [], libcs: [] }, { mode, cpus: native.possibleCpus() });
    attachConnectProbe(object, mode);
    return null;
  } catch (error) {
    return firstLine(error);
  } finally {
    object?.close();
  }
}
