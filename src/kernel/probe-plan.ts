/**
 * Which connect probe to use, decided before anything is loaded: the
 * fallback chain of DESIGN.md (kprobe, then fentry, then the
 * sock:inet_sock_set_state tracepoint), and the programs each mode loads.
 */
import type { ConnectProbeName } from './layout.js';

export type ConnectProbeRequest = 'auto' | ConnectProbeName;

export const CONNECT_PROBE_REQUESTS: readonly ConnectProbeRequest[] = ['auto', 'kprobe', 'fentry', 'tracepoint'];

export interface ConnectAttachment {
  program: string;
  kind: 'kprobe' | 'kretprobe' | 'fentry';
  func: string;
}

/** The programs that make up each connect mode. The tracepoint mode lives in the lifecycle program (`sock_state`), which every mode loads. */
export const CONNECT_PROGRAMS: Record<ConnectProbeName, readonly ConnectAttachment[]> = {
  kprobe: [
    { program: 'connect_v4_kprobe', kind: 'kprobe', func: 'tcp_v4_connect' },
    { program: 'connect_v4_kretprobe', kind: 'kretprobe', func: 'tcp_v4_connect' },
    { program: 'connect_v6_kprobe', kind: 'kprobe', func: 'tcp_v6_connect' },
    { program: 'connect_v6_kretprobe', kind: 'kretprobe', func: 'tcp_v6_connect' },
  ],
  fentry: [
    { program: 'connect_v4_fexit', kind: 'fentry', func: 'tcp_v4_connect' },
    { program: 'connect_v6_fexit', kind: 'fentry', func: 'tcp_v6_connect' },
  ],
  tracepoint: [],
};

export const ALL_CONNECT_PROGRAMS: readonly string[] = Object.values(CONNECT_PROGRAMS).flatMap((list) => list.map((entry) => entry.program));

/** What the kernel was seen to offer, before trying anything. */
export interface ProbeFacts {
  /** The kprobe PMU exists. */
  kprobes: boolean;
}

export interface ProbeCandidate {
  mode: ConnectProbeName;
  /** Set when the mode is known not to work without trying it. */
  skipReason?: string;
}

/** The modes to try, in order. A forced mode is the only candidate; `auto` lists every mode with the ones known to be missing marked. */
export function connectProbeCandidates(request: ConnectProbeRequest, facts: ProbeFacts): ProbeCandidate[] {
  const noKprobes = 'the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES unset)';
  const order: ConnectProbeName[] = request === 'auto' ? ['kprobe', 'fentry', 'tracepoint'] : [request];
  return order.map((mode) => (mode === 'kprobe' && !facts.kprobes ? { mode, skipReason: noKprobes } : { mode }));
}
