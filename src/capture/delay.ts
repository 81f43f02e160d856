/**
 * Captured frames wait here until the session has applied every event up
 * to their time, so that when a frame is written (and its pcapng comment
 * made) the lookup and the connection it belongs to are known: the capture
 * ring and the event ring are read by different pollers, and a frame often
 * arrives before the events that name it. The session says how far it has
 * applied (Session.onApplied), which follows --reorder-window.
 */
import type { CapturedPacket } from '../kernel/packets.js';

export class PacketDelay {
  private pending: CapturedPacket[] = [];

  constructor(private readonly write: (packet: CapturedPacket) => void) {}

  /** Keeps a copy: the frame's bytes are only valid during the handler. */
  push(packet: CapturedPacket): void {
    this.pending.push({ ...packet, data: Uint8Array.from(packet.data) });
  }

  /** Writes, in arrival order, every frame up to `upToNs` (the session applied the events before it). */
  release(upToNs: number): void {
    let count = 0;
    while (count < this.pending.length && (this.pending[count] as CapturedPacket).tsNs <= upToNs) count++;
    if (count === 0) return;
    const ready = this.pending.splice(0, count);
    for (const packet of ready) this.write(packet);
  }
}
