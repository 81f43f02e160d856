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

export function isoMicros(wallMs: number): string {
  const whole = Math.floor(wallMs);
  const micros = Math.floor((wallMs - whole) * 1000);
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** A clock calibrated now; `offsetNs` overrides the calibration (tests). */
export function monotonicClock(offsetNs?: number): Clock {
  const nowNs = () => Number(process.hrtime.bigint());
  const offset = offsetNs ?? (performance.timeOrigin + performance.now()) * 1e6 - nowNs();
  const wallMs = (monotonicNs: number) => (monotonicNs + offset) / 1e6;
  return { wallMs, iso: (monotonicNs) => isoMicros(wallMs(monotonicNs)), nowNs };
}
