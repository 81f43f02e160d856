/**
 * How long to wait before the next upload attempt while the endpoint
 * fails: exponential backoff with full jitter (a uniformly random delay
 * between 0 and min(max, base * 2^(failures - 1))), so a fleet of hosts
 * that lost the same endpoint does not come back in lock step.
 *
 * An endpoint that throttles (503 SlowDown, 429) asked to be called less:
 * its ceiling starts higher (`throttleBaseMs`) and the jitter only takes
 * up to half of it, so a throttled retry is never sooner than half its
 * ceiling. Full jitter alone would sometimes retry at once.
 */

export interface RetryPolicy {
  /** The first ceiling, in ms. @default 500 */
  baseMs: number;
  /** The ceiling's bound: no wait is longer. @default 30000 */
  maxMs: number;
  /** The first ceiling after a throttling answer, in ms. @default 2000 */
  throttleBaseMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000, throttleBaseMs: 2000 };

/** The wait after `failures` consecutive failed attempts (1, 2, ...); `throttled` when the last one was told to slow down. */
export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random, throttled = false): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = throttled ? Math.max(policy.throttleBaseMs ?? 4 * policy.baseMs, policy.baseMs) : policy.baseMs;
  const ceiling = Math.min(policy.maxMs, base * 2 ** exponent);
  if (!throttled) return Math.floor(random() * ceiling);
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}
