/**
 * Kernel timestamps (bpf_ktime_get_ns, CLOCK_MONOTONIC) to wall-clock time.
 * Node's hrtime reads the same clock, so one offset, taken back to back with
 * a microsecond-precise wall clock, converts every kernel time; an event is
 * stamped with when it happened, never with when user space read it.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Wall-clock milliseconds since the epoch (fractional) of a kernel monotonic time in ns. */
  wallMs(monotonicNs: number): number;
  /** ISO-8601 with microseconds, e.g. 2026-11-23T18:36:04.123456Z. */
  iso(monotonicNs: number): string;
  /** The current kernel monotonic time in ns. */
  nowNs(): number;
}

/** The second last formatted, and its text up to the fraction: records of one second share it (Date is slow). */
let cachedSecondMs = Number.NaN;
let cachedPrefix = '';

export function isoMicros(wallMs: number): string {
  const whole = Math.floor(wallMs);
  const secondMs = whole - (((whole % 1000) + 1000) % 1000);
  if (secondMs !== cachedSecondMs) {
    cachedSecondMs = secondMs;
    cachedPrefix = new Date(secondMs).toISOString().slice(0, 20);
  }
  // Milliseconds from the whole, then microseconds from the fraction, as Date would split them.
  const micros = (whole - secondMs) * 1000 + Math.floor((wallMs - whole) * 1000);
  return `${cachedPrefix}${String(micros).padStart(6, '0')}Z`;
}

/** A clock calibrated now; `offsetNs` overrides the calibration (tests). */
export function monotonicClock(offsetNs?: number): Clock {
  const nowNs = () => Number(process.hrtime.bigint());
  const offset = offsetNs ?? (performance.timeOrigin + performance.now()) * 1e6 - nowNs();
  const wallMs = (monotonicNs: number) => (monotonicNs + offset) / 1e6;
  return { wallMs, iso: (monotonicNs) => isoMicros(wallMs(monotonicNs)), nowNs };
}
