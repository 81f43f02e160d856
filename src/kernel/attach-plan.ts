/**
 * What the tracer attaches once the object is loaded, decided from the
 * options before anything attaches, in the order it attaches: the
 * blocklist's first prefixes (before the XDP program, so the first frame
 * already meets them), the TCP lifecycle hooks, getaddrinfo in the libc
 * files, then XDP and TC per interface. The connect probe is not part of
 * it: the fallback chain attaches it while choosing a mode (probe-plan.ts).
 * Pure; src/kernel/attach.ts and tracer.ts carry it out.
 */
import { BLOCKLIST_MAX } from './layout.js';
import { blocklistWanted, packetProgramsWanted, type TracerOptions } from './tracer-options.js';
import type { XdpModeRequest } from './xdp-mode.js';

/**
 * A raw tracepoint, by name. Raw ones only: they need no tracefs (root-only)
 * and the kernel skips them only when the same program nests, where a
 * classic tracepoint program is skipped while any tracing program runs on
 * the CPU (bpf/lifecycle.bpf.c).
 */
export interface HookAttachment {
  program: string;
  name: string;
}

/** The hooks every connect mode needs: they keep `sockets`, which established and close records need. */
export const LIFECYCLE_HOOKS: readonly HookAttachment[] = [
  { program: 'sock_state', name: 'inet_sock_set_state' },
  { program: 'tcp_retransmit', name: 'tcp_retransmit_skb' },
  // Catches the closes the kernel skipped in sock_state (a nested run).
  { program: 'sock_destroy', name: 'tcp_destroy_sock' },
];

export interface AttachPlan {
  /** Blocklist capacity and the prefixes blocked from the start; null without a blocklist. */
  blocklist: { size: number; block: readonly string[] } | null;
  lifecycle: readonly HookAttachment[];
  /** libc files traced from the start, and whether every libc processes map is found and traced too. */
  libcs: { files: readonly string[]; discovery: boolean; scanMs: number | undefined };
  /** flow_xdp and flow_tc on each interface; null when the packet programs are not loaded. */
  packets: { interfaces: readonly string[]; xdpMode: XdpModeRequest } | null;
}

export function planAttach(options: TracerOptions): AttachPlan {
  return {
    blocklist: blocklistWanted(options) ? { size: options.blocklistSize ?? BLOCKLIST_MAX, block: options.block ?? [] } : null,
    lifecycle: LIFECYCLE_HOOKS,
    libcs: { files: options.libcs, discovery: options.libcDiscovery === true, scanMs: options.libcScanMs },
    packets: packetProgramsWanted(options) ? { interfaces: options.interfaces, xdpMode: options.xdpMode ?? 'auto' } : null,
  };
}
