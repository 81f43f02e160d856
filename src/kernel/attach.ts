/**
 * Attaching the loaded programs to their hooks, one kind of hook per
 * function: the connect probe of a mode, the tracepoints of the plan, XDP
 * and TC on the interfaces (with the kernel's own reason when it refuses
 * XDP). Every native failure becomes a one-line HostflowError.
 */
import { HostflowError, firstLine } from '../errors.js';
import { interfaceDriver } from '../system/interfaces.js';
import type { HookAttachment } from './attach-plan.js';
import { XDP_ERROR_MAX, type ConnectProbeName, xdpAttachError } from './layout.js';
import type { BpfObject, LinkInfo } from './native-api.js';
import { CONNECT_PROGRAMS } from './probe-plan.js';
import { offsetOf } from './struct.js';
import { attachXdpMode, type XdpAttachment, type XdpModeRequest } from './xdp-mode.js';

/** A traced interface, and the XDP mode it got (null when no packet programs run). */
export interface TracedInterface {
  name: string;
  ifindex: number;
  xdp: XdpAttachment | null;
}

/** Runs one attach, turning a native failure into a one-line HostflowError. */
export function attach(run: () => LinkInfo): LinkInfo {
  try {
    return run();
  } catch (error) {
    throw new HostflowError(firstLine(error), { cause: error });
  }
}

/** The programs of one connect mode (none in tracepoint mode: sock_state emits the connects). */
export function attachConnectProbe(object: BpfObject, mode: ConnectProbeName): void {
  for (const entry of CONNECT_PROGRAMS[mode]) {
    if (entry.kind === 'fentry') object.attachTracing(entry.program);
    else object.attachKprobe(entry.program, entry.func, entry.kind === 'kretprobe');
  }
}

export function attachHooks(object: BpfObject, hooks: readonly HookAttachment[]): void {
  for (const hook of hooks) {
    attach(() => object.attachRawTracepoint(hook.program, hook.name));
  }
}

/**
 * flow_xdp (in the mode `request` allows, recorded per interface) and
 * flow_tc on every interface. While they attach, xdp_attach_failed keeps the
 * kernel's reason for a refused XDP attach (Linux 6.5+; older kernels give
 * only the errno).
 */
export function attachPacketPrograms(object: BpfObject, interfaces: TracedInterface[], request: XdpModeRequest): void {
  let reasons: LinkInfo | null = null;
  try {
    reasons = object.attachRawTracepoint('xdp_attach_failed', 'bpf_xdp_link_attach_failed');
  } catch {
    // No such tracepoint before 6.5: refusals are described by their errno.
  }
  try {
    for (const iface of interfaces) {
      iface.xdp = attachXdpMode(iface.name, request, {
        driver: interfaceDriver(iface.name),
        attach: (mode) => {
          clearXdpError(object);
          object.attachXdp('flow_xdp', iface.ifindex, mode);
        },
        kernelMessage: () => (reasons ? readXdpError(object) : null),
      });
      attach(() => object.attachTc('flow_tc', iface.ifindex, 'egress'));
    }
  } finally {
    if (reasons) object.detach(reasons.id);
  }
}

const XDP_ERROR_KEY = Buffer.alloc(4);

function clearXdpError(object: BpfObject): void {
  object.update('xdp_attach_error', XDP_ERROR_KEY, Buffer.alloc(xdpAttachError.size));
}

/** This process's last XDP refusal in the kernel's words, null when there is none. */
function readXdpError(object: BpfObject): string | null {
  const value = object.lookup('xdp_attach_error', XDP_ERROR_KEY);
  if (!value || value.readUInt32LE(offsetOf(xdpAttachError, 'tgid')) !== process.pid) return null;
  const start = offsetOf(xdpAttachError, 'msg');
  const bytes = value.subarray(start, start + XDP_ERROR_MAX);
  const end = bytes.indexOf(0);
  const message = bytes
    .subarray(0, end < 0 ? bytes.length : end)
    .toString('utf8')
    .trim();
  return message || null;
}
