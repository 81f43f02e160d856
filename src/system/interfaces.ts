/**
 * Network interfaces: the default route's interface, and names to ifindexes.
 * Names are resolved by the kernel for this process's network namespace
 * (the addon's if_nametoindex and friends), never through /sys/class/net:
 * a process entered into another namespace (`nsenter --net`, a pod that
 * mounts the host's /sys) sees there the interfaces of whoever mounted it.
 */
import { readFileSync } from 'node:fs';
import { loadNative } from '../kernel/native.js';

/**
 * The interface of the IPv4 default route from a /proc/net/route text (the
 * one with the lowest metric), or null when there is none.
 */
export function defaultRouteInterface(routeTable: string): string | null {
  let best: { name: string; metric: number } | null = null;
  for (const line of routeTable.split('\n').slice(1)) {
    const [name, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (!name || destination !== '00000000' || mask !== '00000000') continue;
    const up = (parseInt(flags ?? '0', 16) & 0x1) !== 0;
    const value = Number(metric ?? 0);
    if (up && (!best || value < best.metric)) best = { name, metric: value };
  }
  return best?.name ?? null;
}

/** Same for IPv6, from a /proc/net/ipv6_route text. */
export function defaultRouteInterface6(routeTable: string): string | null {
  for (const line of routeTable.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [destination, prefixLength] = fields;
    const name = fields[9];
    if (destination === '0'.repeat(32) && prefixLength === '00' && name && name !== 'lo') return name;
  }
  return null;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The interfaces hostflow counts flows on when none is named: the default
 * route's, else loopback. /proc/net is /proc/self/net, the reader's own
 * network namespace, whoever mounted /proc.
 */
export function defaultInterfaces(): string[] {
  const name = defaultRouteInterface(readOrEmpty('/proc/net/route')) ?? defaultRouteInterface6(readOrEmpty('/proc/net/ipv6_route'));
  return [name ?? 'lo'];
}

export class UnknownInterfaceError extends Error {
  constructor(readonly interfaceName: string) {
    super(`unknown interface '${interfaceName}' (known: ${listInterfaces().join(', ') || 'none'})`);
  }
}

/** Names of this network namespace's interfaces, by index. */
export function listInterfaces(): string[] {
  return loadNative()
    .interfaces()
    .map((entry) => entry.name);
}

/** ifindex of a named interface in this network namespace. */
export function interfaceIndex(name: string): number {
  const index = name ? loadNative().interfaceIndex(name) : null;
  if (index === null) throw new UnknownInterfaceError(name);
  return index;
}

/** The driver of a named interface ('virtio_net', 'veth'), null when it reports none. */
export function interfaceDriver(name: string): string | null {
  return name ? loadNative().interfaceDriver(name) : null;
}

/** Name of an ifindex, for records; the number as text when the interface is gone. */
export function interfaceName(index: number, known: ReadonlyMap<number, string>): string {
  return known.get(index) ?? `if${index}`;
}
