/**
 * How long to wait before the next upload attempt while the endpoint
 * fails: exponential backoff with full jitter (a uniformly random delay
 * between 0 and min(max, base * 2^(failures - 1))), so a fleet of hosts
 * that lost the same endpoint does not come back in lock step.
 */

export interface RetryPolicy {
  /** The first ceiling, in ms. @default 500 */
  baseMs: number;
  /** The ceiling's bound: no wait is longer. @default 30000 */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000 };

/** The wait after `failures` consecutive failed attempts (1, 2, ...). */
export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
