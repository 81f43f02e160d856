/**
 * Traced interfaces that come and go: a veth deleted with its container, a
 * VPN's tun brought down and up again. The kernel takes a device's XDP and
 * TC programs with it; hostflow keeps tracing everything else, says which
 * interface went away, and attaches again when a device of that name comes
 * back (under a new ifindex). The decision is pure; the tracer carries it
 * out (Tracer.checkInterfaces).
 */
import type { TracedInterface } from './attach.js';

/** What happened to one traced interface since the last check. */
export type InterfaceChange =
  | { name: string; change: 'gone'; ifindex: number }
  | { name: string; change: 'back'; ifindex: number; xdpMode: string | null }
  | { name: string; change: 'failed'; ifindex: number; reason: string };

/** What to do with one interface: nothing, forget its old device, trace its new one, or both. */
export interface InterfaceStep {
  iface: TracedInterface;
  /** The ifindex whose programs the kernel took away; null when the device stayed. */
  gone: number | null;
  /** The ifindex to attach to; null when no (new) device has the name. */
  back: number | null;
}

/**
 * Compares each traced interface's ifindex (0 once gone) with the device
 * that has its name now (`indexOf`: null when none). A device the last
 * attach failed on is not tried again until its index changes.
 */
export function interfaceSteps(
  interfaces: readonly TracedInterface[],
  indexOf: (name: string) => number | null,
  failed: ReadonlyMap<string, number>,
): InterfaceStep[] {
  const steps: InterfaceStep[] = [];
  for (const iface of interfaces) {
    const now = indexOf(iface.name);
    if (now === iface.ifindex || (now === null && iface.ifindex === 0)) continue;
    const gone = iface.ifindex !== 0 ? iface.ifindex : null;
    const back = now !== null && failed.get(iface.name) !== now ? now : null;
    if (gone !== null || back !== null) steps.push({ iface, gone, back });
  }
  return steps;
}

/** One line for the log: "interface veth1 went away (ifindex 7): its flows and wire DNS stop until it comes back". */
export function describeInterfaceChange(change: InterfaceChange): string {
  switch (change.change) {
    case 'gone':
      return `interface ${change.name} went away (ifindex ${change.ifindex}): its flows and wire DNS stop until it comes back; the rest is traced as before`;
    case 'back':
      return `interface ${change.name} is back (ifindex ${change.ifindex}): XDP${change.xdpMode ? ` ${change.xdpMode}` : ''} and TC attached again`;
    case 'failed':
      return `interface ${change.name} is back (ifindex ${change.ifindex}) but could not be traced again: ${change.reason}`;
  }
}
