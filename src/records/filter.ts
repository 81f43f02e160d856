/**
 * Record filters from the command line: each given criterion must match,
 * any of its values may. Host patterns are globs matched against the
 * record's hostnames, case-insensitively.
 */
import picomatch from 'picomatch';
import type { HostflowRecord, RecordType } from './types.js';

export interface RecordFilterOptions {
  pids?: readonly number[];
  comms?: readonly string[];
  hostGlobs?: readonly string[];
  ports?: readonly number[];
  types?: readonly RecordType[];
}

function hostsOf(record: HostflowRecord): Array<string | null> {
  if (record.type === 'flow') return [record.src_host, record.dst_host];
  if (record.type === 'dns') return [record.host, ...(record.cnames ?? [])];
  return [record.host];
}

function portsOf(record: HostflowRecord): number[] {
  return record.type === 'dns' ? [] : [record.sport, record.dport];
}

export function compileFilter(options: RecordFilterOptions): (record: HostflowRecord) => boolean {
  const checks: Array<(record: HostflowRecord) => boolean> = [];
  const { pids, comms, hostGlobs, ports, types } = options;
  if (types?.length) checks.push((r) => types.includes(r.type));
  if (pids?.length) checks.push((r) => r.pid !== null && pids.includes(r.pid));
  if (comms?.length) checks.push((r) => r.comm !== null && comms.includes(r.comm));
  if (ports?.length) checks.push((r) => portsOf(r).some((port) => ports.includes(port)));
  if (hostGlobs?.length) {
    const matchers = hostGlobs.map((glob) => picomatch(glob.toLowerCase(), { nocase: true, dot: true }));
    checks.push((r) => hostsOf(r).some((host) => host !== null && matchers.some((matches) => matches(host))));
  }
  // A loop, not every() with a closure: this runs for each record of a flood.
  return (record) => {
    for (const check of checks) if (!check(record)) return false;
    return true;
  };
}
