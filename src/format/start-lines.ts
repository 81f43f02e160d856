/**
 * What a run says when it starts: the connect mode and why others were not
 * used, what is traced, the XDP mode of each interface and why, and where
 * the control socket, the capture file and the metrics endpoint are. Pure.
 */
import type { AttachReport } from '../kernel/tracer.js';
import { describeSocketHooks } from '../kernel/socket-hooks.js';
import { describeXdp } from '../kernel/xdp-mode.js';

export interface BesideTheSession {
  /** The control socket's path, when there is one. */
  controlPath?: string;
  /** The capture file, when there is one. */
  pcap?: { path: string; format: string; snaplen: number };
  /** The metrics endpoint's line, when there is one. */
  metrics?: string;
}

export function startLines(report: AttachReport, beside: BesideTheSession = {}): string[] {
  const rejected = report.rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
  const lines = [
    `connect probe: ${report.connectProbe}${rejected ? ` (not used: ${rejected})` : ''}`,
    `interfaces: ${report.interfaces.map((i) => i.name).join(', ') || 'none'}; libc: ${report.libcs.join(', ') || 'none'}`,
    describeSocketHooks(report.socketHooks),
  ];
  for (const { name, xdp } of report.interfaces) {
    if (xdp) lines.push(`xdp on ${describeXdp(name, xdp)}`);
  }
  for (const link of report.links) {
    if (link.kind === 'tc-netlink')
      lines.push(`${link.target}: TC via netlink (no tcx on this kernel): removed on a clean exit, or replaced by the next start after a kill`);
  }
  if (beside.controlPath) lines.push(`control: ${beside.controlPath} (hostflow ctl --socket ${beside.controlPath} help)`);
  if (beside.metrics) lines.push(beside.metrics);
  if (beside.pcap) lines.push(`capture: ${beside.pcap.path} (${beside.pcap.format}, snaplen ${beside.pcap.snaplen})`);
  return lines;
}
