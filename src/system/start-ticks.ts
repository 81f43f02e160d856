/**
 * The kernel's process start time (`task->start_boottime`, CLOCK_BOOTTIME
 * ns, what hostflow's events carry as `startNs`) and /proc/<pid>/stat's
 * `starttime` (field 22) count the same instant in different units: the
 * kernel turns ns into clock ticks (USER_HZ, `getconf CLK_TCK`) by integer
 * division, `nsec_to_clock_t()`. Pure.
 */

/** USER_HZ on every architecture Linux builds for today. */
export const CLOCK_TICKS_PER_SECOND = 100;

const NS_PER_SECOND = 1_000_000_000;

/** ns in one clock tick; only tick rates that divide a second are accepted, as for the kernel's plain division. */
function nsPerTick(ticksPerSecond: number): number {
  if (!Number.isSafeInteger(ticksPerSecond) || ticksPerSecond <= 0 || NS_PER_SECOND % ticksPerSecond !== 0) {
    throw new RangeError(`clock ticks per second must divide 1e9, got ${ticksPerSecond}`);
  }
  return NS_PER_SECOND / ticksPerSecond;
}

/**
 * `startNs` as /proc/<pid>/stat's `starttime`: floor(startNs / (1e9 / CLK_TCK)).
 * Exact while `startNs` is (below 2^53 ns, 104 days of uptime); above that
 * the double already lost the low ns, and a start within a few ns of a tick
 * boundary can land one tick off.
 */
export function startNsToTicks(startNs: number, ticksPerSecond = CLOCK_TICKS_PER_SECOND): number {
  const unit = nsPerTick(ticksPerSecond);
  let ticks = Math.floor(startNs / unit);
  // A quotient that rounded up onto the next integer: products below 2^53 are exact.
  if (ticks * unit > startNs) ticks -= 1;
  return ticks;
}

/** The first ns of a tick: `startNsToTicks(ticksToStartNs(t)) === t`. */
export function ticksToStartNs(ticks: number, ticksPerSecond = CLOCK_TICKS_PER_SECOND): number {
  return ticks * nsPerTick(ticksPerSecond);
}
