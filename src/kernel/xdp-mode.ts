/**
 * Which XDP mode each interface gets, decided from what the kernel answers:
 * native (the driver runs the program on its receive ring) where the driver
 * takes it, generic (the kernel runs it after building the socket buffer)
 * where the driver refuses native mode for any reason: no native XDP at all
 * (lo), or native XDP it will not enable in the device's current state
 * (virtio_net while the host implements GRO_HW/CSUM, veth under a large
 * peer MTU, offloads, queue limits). Pure: the attach calls come in as
 * functions, so the chain is tested without root.
 */
import { HostflowError, firstLine } from '../errors.js';

export type XdpMode = 'native' | 'generic';
export type XdpModeRequest = 'auto' | XdpMode;

export const XDP_MODE_REQUESTS: readonly XdpModeRequest[] = ['auto', 'native', 'generic'];

/** Who refused an XDP attach and why, in one line each. */
export interface XdpRefusalReport {
  /** The interface's driver ('virtio_net'), or 'the kernel' when the device reports no driver (lo). */
  by: string;
  /** The kernel's words, or the errno's text where it gave none, then the errno's name: "Can't set XDP ...; EOPNOTSUPP". */
  reason: string;
}

/** The mode an interface got, and in auto mode why native was not it. */
export interface XdpAttachment {
  mode: XdpMode;
  /** Why native mode was refused; null when native attached or generic was asked for. */
  nativeRefused: XdpRefusalReport | null;
}

/** What one failed attach tells: the error, and the kernel's own message when it gave one. */
export interface XdpRefusal {
  error: unknown;
  /** The extended ack message (xdp:bpf_xdp_link_attach_failed, 6.5+), null when none was seen. */
  kernelMessage: string | null;
}

export interface XdpAttempts {
  /** Attaches in this mode; throws on refusal. */
  attach(mode: XdpMode): void;
  /** The kernel's message for the attach that just failed, null when none. */
  kernelMessage(): string | null;
  /** The interface's driver ('virtio_net'), null when it reports none. */
  driver: string | null;
}

/**
 * The driver (or the kernel) that refused, and its reason: the kernel's own
 * words where it gave them (6.5+), else the errno's text, then the errno's
 * name ("Can't set XDP while host is implementing GRO_HW/CSUM, disable
 * GRO_HW/CSUM first; EOPNOTSUPP").
 */
export function describeRefusal(driver: string | null, refusal: XdpRefusal): XdpRefusalReport {
  const { text, code } = errnoParts(refusal.error);
  let reason = refusal.kernelMessage?.trim() || text;
  // Drivers prefix their messages with their module name (NL_SET_ERR_MSG_MOD).
  if (driver && reason.startsWith(`${driver}: `)) reason = reason.slice(driver.length + 2);
  return { by: driver ?? 'the kernel', reason: `${reason}${code ? `; ${code}` : ''}` };
}

/** The strerror text and errno name of an addon error ('attachXdp(...): Operation not supported (EOPNOTSUPP)'). */
function errnoParts(error: unknown): { text: string; code: string | null } {
  const line = firstLine(error);
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : null;
  const match = /\): (.+?)(?: \((E[A-Z0-9_]+)\))?$/.exec(line);
  return { text: match?.[1] ?? line, code: code ?? match?.[2] ?? null };
}

/**
 * Attaches on one interface as `request` says. auto: native, else generic
 * with native's refusal kept. A forced mode that cannot attach, or auto when
 * neither mode attaches, is a one-line HostflowError.
 */
export function attachXdpMode(iface: string, request: XdpModeRequest, attempts: XdpAttempts): XdpAttachment {
  const tryMode = (mode: XdpMode): XdpRefusalReport | null => {
    try {
      attempts.attach(mode);
      return null;
    } catch (error) {
      return describeRefusal(attempts.driver, { error, kernelMessage: attempts.kernelMessage() });
    }
  };
  if (request === 'generic') {
    const refused = tryMode('generic');
    if (refused) throw new HostflowError(`--xdp-mode generic: XDP cannot attach on ${iface}: ${refused.by}: ${refused.reason}`);
    return { mode: 'generic', nativeRefused: null };
  }
  const nativeRefused = tryMode('native');
  if (nativeRefused === null) return { mode: 'native', nativeRefused: null };
  if (request === 'native') {
    throw new HostflowError(
      `--xdp-mode native: ${iface} refuses native XDP (${nativeRefused.by}: ${nativeRefused.reason}); --xdp-mode auto falls back to generic mode`,
    );
  }
  const genericRefused = tryMode('generic');
  if (genericRefused) {
    throw new HostflowError(
      `XDP cannot attach on ${iface}: native refused by ${nativeRefused.by} (${nativeRefused.reason}), generic refused by ${genericRefused.by} (${genericRefused.reason})`,
    );
  }
  return { mode: 'generic', nativeRefused };
}

/** "eth0: generic (native refused by virtio_net: ...)", "veth0: native", "lo: generic (as asked)". */
export function describeXdp(iface: string, xdp: XdpAttachment): string {
  if (xdp.mode === 'native') return `${iface}: native`;
  if (!xdp.nativeRefused) return `${iface}: generic (as asked)`;
  return `${iface}: generic (native refused by ${xdp.nativeRefused.by}: ${xdp.nativeRefused.reason})`;
}

/** The header's short form: "eth0 xdp native", "eth0 xdp generic (virtio_net refused native)". */
export function describeXdpShort(iface: string, xdp: XdpAttachment | null): string {
  if (!xdp) return iface;
  if (xdp.mode === 'native' || !xdp.nativeRefused) return `${iface} xdp ${xdp.mode}`;
  return `${iface} xdp generic (${xdp.nativeRefused.by} refused native)`;
}
