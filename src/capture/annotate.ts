/**
 * pcapng comments from what the session knows: the process behind a frame
 * and the hostnames of its addresses. The session supplies the lookups
 * (its correlator and name index); this only parses the frame and words
 * the comment, e.g. "process curl pid 4242; dst host api.example.com".
 */
import type { CapturedPacket } from '../kernel/packets.js';
import { frameTuple, type FrameTuple } from './frame.js';

export interface AnnotationSources {
  /** Hostname of an address (the session's NameIndex.nameOf), null when unknown. */
  nameOf?: (address: string) => string | null;
  /** The local process a frame belongs to (e.g. the connection's owner), null when unknown. */
  processOf?: (tuple: FrameTuple, packet: CapturedPacket) => { pid: number; comm: string } | null;
}

/** An `annotate` hook for PcapWriter; null for frames with nothing to say. */
export function packetAnnotator(sources: AnnotationSources): (packet: CapturedPacket) => string | null {
  return (packet) => {
    const tuple = frameTuple(packet.data);
    if (!tuple) return null;
    const parts: string[] = [];
    const owner = sources.processOf?.(tuple, packet);
    if (owner) parts.push(`process ${owner.comm} pid ${owner.pid}`);
    const source = sources.nameOf?.(tuple.saddr);
    const destination = sources.nameOf?.(tuple.daddr);
    if (source) parts.push(`src host ${source}`);
    if (destination) parts.push(`dst host ${destination}`);
    return parts.length > 0 ? parts.join('; ') : null;
  };
}
