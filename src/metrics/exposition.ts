/**
 * A registry's text exposition, one metric at a time with a turn of the
 * event loop between: a scrape of every series at their bounds takes tens
 * of milliseconds, and the session's events must not wait that long in one
 * piece. The text is what prom-client's Registry.metrics() writes.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Registry } from 'prom-client';

export async function exposition(registry: Registry): Promise<string> {
  const parts: string[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    parts.push(await registry.getSingleMetricAsString(name));
    await nextTurn();
  }
  return `${parts.join('\n\n')}\n`;
}
