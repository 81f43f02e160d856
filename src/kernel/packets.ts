/**
 * Decoding of the `packets` ring (captured frames) as the addon hands it
 * over in batches. Pure and allocation-light: each frame's bytes are a view
 * into the batch, not a copy.
 */
import { forEachRecord } from './decode.js';
import { EventType, PacketFlag, header, packetEvent } from './layout.js';
import { offsetOf } from './struct.js';

export interface CapturedPacket {
  /** Kernel CLOCK_MONOTONIC time the program saw the frame, in ns. */
  tsNs: number;
  cpu: number;
  ifindex: number;
  direction: 'in' | 'out';
  /** Length of the frame (L2 on); more than data.length when cut by the snaplen. */
  wireLength: number;
  /** The blocklist dropped this frame (ingress only). */
  dropped: boolean;
  /** An egress GSO packet: one buffer for several frames on the wire. */
  gso: boolean;
  /**
   * The first bytes of the frame, from the Ethernet header on. A view into
   * the batch, valid while the handler runs: copy it to keep it.
   */
  data: Uint8Array;
}

export interface PacketDecodeStats {
  packets: number;
  /** Frame bytes handed on (captured bytes, not wire bytes). */
  bytes: number;
  /** Records too short for their header or their cap_len, or of another type. */
  malformed: number;
}

const P = {
  ts: offsetOf(header, 'ts_ns'),
  type: offsetOf(header, 'type'),
  cpu: offsetOf(header, 'cpu'),
  ifindex: offsetOf(packetEvent, 'ifindex'),
  wireLen: offsetOf(packetEvent, 'wire_len'),
  capLen: offsetOf(packetEvent, 'cap_len'),
  direction: offsetOf(packetEvent, 'direction'),
  flags: offsetOf(packetEvent, 'flags'),
  data: offsetOf(packetEvent, 'data'),
};

/** Decodes one batch of the `packets` ring and calls `emit` per frame, in ring order. */
export function decodePacketBatch(batch: Uint8Array, emit: (packet: CapturedPacket) => void, stats: PacketDecodeStats): void {
  forEachRecord(
    batch,
    (view, start, length) => {
      if (length < P.data || view.getUint32(start + P.type, true) !== EventType.packet) {
        stats.malformed++;
        return;
      }
      const capLen = view.getUint32(start + P.capLen, true);
      if (P.data + capLen > length) {
        stats.malformed++;
        return;
      }
      const flags = view.getUint16(start + P.flags, true);
      stats.packets++;
      stats.bytes += capLen;
      emit({
        tsNs: view.getUint32(start + P.ts + 4, true) * 0x1_0000_0000 + view.getUint32(start + P.ts, true),
        cpu: view.getUint32(start + P.cpu, true),
        ifindex: view.getUint32(start + P.ifindex, true),
        direction: view.getUint16(start + P.direction, true) === 1 ? 'in' : 'out',
        wireLength: view.getUint32(start + P.wireLen, true),
        dropped: (flags & PacketFlag.dropped) !== 0,
        gso: (flags & PacketFlag.gso) !== 0,
        data: batch.subarray(start + P.data, start + P.data + capLen),
      });
    },
    () => stats.malformed++,
  );
}
