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

/** "000".."999": the millisecond and microsecond digits of a timestamp without a number-to-string each. */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
/** "000Z".."999Z": a timestamp's last part. */
const MICROS_END = THREE_DIGITS.map((digits) => `${digits}Z`);

/** The millisecond last formatted, and its text up to the microseconds: records come in time order, many to a millisecond (Date is slow). */
let cachedSecondMs = Number.NaN;
let cachedSecondPrefix = '';
let cachedMs = Number.NaN;
let cachedMsPrefix = '';

export function isoMicros(wallMs: number): string {
  const whole = Math.floor(wallMs);
  if (whole !== cachedMs) {
    const secondMs = whole - (((whole % 1000) + 1000) % 1000);
    if (secondMs !== cachedSecondMs) {
      cachedSecondMs = secondMs;
      cachedSecondPrefix = new Date(secondMs).toISOString().slice(0, 20);
    }
    cachedMs = whole;
    cachedMsPrefix = cachedSecondPrefix + (THREE_DIGITS[whole - secondMs] as string);
  }
  // Microseconds from the fraction, as Date would split them.
  return cachedMsPrefix + (MICROS_END[Math.floor((wallMs - whole) * 1000)] as string);
}

/** A clock calibrated now; `offsetNs` overrides the calibration (tests). */
export function monotonicClock(offsetNs?: number): Clock {
  const nowNs = () => Number(process.hrtime.bigint());
  const offset = offsetNs ?? (performance.timeOrigin + performance.now()) * 1e6 - nowNs();
  const wallMs = (monotonicNs: number) => (monotonicNs + offset) / 1e6;
  return { wallMs, iso: (monotonicNs) => isoMicros(wallMs(monotonicNs)), nowNs };
}
