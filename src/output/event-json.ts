/**
 * The raw event stream as JSON objects: one per kernel event or flow
 * interval, snake_case fields, wall-clock ISO times from kernel timestamps.
 */
import type { Clock } from '../clock.js';
import type { KernelEvent, Task, Tuple } from '../kernel/decode.js';
import type { FlowDelta } from '../flows/intervals.js';

export type JsonObject = Record<string, unknown>;

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

export function protocolName(proto: number): string {
  return PROTOCOLS[proto] ?? String(proto);
}

function task(t: Task): JsonObject {
  return { pid: t.pid, tid: t.tid, uid: t.uid, gid: t.gid, comm: t.comm, cgroup_id: t.cgroupId.toString() };
}

function tuple(t: Tuple): JsonObject {
  return { family: t.family, saddr: t.saddr, sport: t.sport, daddr: t.daddr, dport: t.dport };
}

const ms = (ns: number) => Math.round(ns / 1000) / 1000;

export function eventJson(event: KernelEvent, clock: Clock, interfaceName: (ifindex: number) => string): JsonObject {
  const head = { event: event.kind === 'dnsPacket' ? 'dns_packet' : event.kind, ts: clock.iso(event.tsNs) };
  switch (event.kind) {
    case 'connect':
      return { ...head, ...task(event.task), ...tuple(event.tuple), sock: event.sock, ret: event.ret, probe: event.probe };
    case 'established':
      return { ...head, ...task(event.task), ...tuple(event.tuple), sock: event.sock, direction: event.direction, latency_ms: ms(event.latencyNs) };
    case 'close':
      return {
        ...head,
        ...task(event.task),
        ...tuple(event.tuple),
        sock: event.sock,
        direction: event.direction,
        duration_ms: event.tracked ? ms(event.durationNs) : null,
        bytes_sent: event.bytesSent,
        bytes_received: event.bytesReceived,
        retransmits: event.retransmits,
        tracked: event.tracked,
      };
    case 'lookup':
      return { ...head, ...task(event.task), host: event.name, addrs: event.addrs, ret: event.ret, latency_ms: ms(event.latencyNs), truncated: event.truncated };
    case 'dnsPacket':
      return {
        ...head,
        ...tuple(event.tuple),
        iface: interfaceName(event.ifindex),
        direction: event.direction,
        length: event.messageLength,
        captured: event.message.length,
        message: event.message.toString('base64'),
      };
  }
}

export function flowJson(flow: FlowDelta, clock: Clock, interfaceName: (ifindex: number) => string): JsonObject {
  return {
    event: 'flow',
    start: clock.iso(flow.intervalStartNs),
    end: clock.iso(flow.intervalEndNs),
    iface: interfaceName(flow.ifindex),
    direction: flow.direction === 'in' ? 'ingress' : 'egress',
    proto: protocolName(flow.proto),
    family: flow.family,
    saddr: flow.saddr,
    sport: flow.sport,
    daddr: flow.daddr,
    dport: flow.dport,
    packets: flow.packets,
    bytes: flow.bytes,
    tcp_flags: flow.tcpFlags,
  };
}
