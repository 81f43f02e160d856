/**
 * Captured frames wait here as long as events wait in the session's reorder
 * buffer, so that when a frame is written (and its pcapng comment made) the
 * lookup and the connection it belongs to have already been applied: the
 * capture ring and the event ring are read by different pollers, and a
 * frame often arrives before the events that name it.
 */
import type { CapturedPacket } from '../kernel/packets.js';

export class PacketDelay {
  private pending: CapturedPacket[] = [];

  constructor(
    private readonly windowNs: number,
    private readonly write: (packet: CapturedPacket) => void,
  ) {}

  /** Keeps a copy: the frame's bytes are only valid during the handler. */
  push(packet: CapturedPacket): void {
    this.pending.push({ ...packet, data: Uint8Array.from(packet.data) });
  }

  /** Writes, in arrival order, every frame older than `nowNs - window`. */
  release(nowNs: number): void {
    const limit = nowNs - this.windowNs;
    let count = 0;
    while (count < this.pending.length && (this.pending[count] as CapturedPacket).tsNs <= limit) count++;
    if (count === 0) return;
    const ready = this.pending.splice(0, count);
    for (const packet of ready) this.write(packet);
  }

  /** Writes everything left (at shutdown, after the events were drained). */
  flush(): void {
    const ready = this.pending;
    this.pending = [];
    for (const packet of ready) this.write(packet);
  }
}
