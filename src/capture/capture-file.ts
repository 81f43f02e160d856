/**
 * The --pcap file beside a session: it subscribes to the session's frames,
 * holds each until the session has applied the events up to its time (so
 * a pcapng comment names the process and hosts it belongs to), and writes
 * it; the file is complete once the session stopped and close() returned.
 */
import type { SummaryLine } from '../format/health.js';
import { ok, problem } from '../format/health.js';
import type { SinkStatusLine } from '../output/sinks.js';
import type { Session } from '../session.js';
import { packetAnnotator } from './annotate.js';
import { PacketDelay } from './delay.js';
import { PcapWriter, type PcapFormat, type PcapWriterStats } from './pcap-writer.js';

export interface CaptureFileOptions {
  path: string;
  format: PcapFormat;
  snaplen: number;
}

export class CaptureFile {
  private readonly unsubscribe: Array<() => void>;

  private constructor(
    private readonly writer: PcapWriter,
    session: Session,
  ) {
    const delay = new PacketDelay((packet) => writer.write(packet));
    this.unsubscribe = [session.onPacket((packet) => delay.push(packet)), session.onApplied((upToNs) => delay.release(upToNs))];
  }

  /** Creates the file before the session starts: frames come from the first packet on. Throws one line when it cannot. */
  static open(options: CaptureFileOptions, session: Session): CaptureFile {
    const writer = PcapWriter.open({
      path: options.path,
      format: options.format,
      clock: session.clock,
      snaplen: options.snaplen,
      interfaceName: (ifindex) => session.interfaceName(ifindex),
      annotate:
        options.format === 'pcapng'
          ? packetAnnotator({
              nameOf: (address) => session.names.nameOf(address),
              processOf: (t) => (t.sport === null || t.dport === null ? null : session.processOf(t.saddr, t.sport, t.daddr, t.dport)),
            })
          : undefined,
    });
    return new CaptureFile(writer, session);
  }

  get stats(): PcapWriterStats {
    return this.writer.stats;
  }

  /** For the UI header. */
  status(): SinkStatusLine {
    const failure = this.writer.failure;
    return { label: 'pcap', text: failure ? `write failed: ${failure.message}` : `${this.writer.stats.packets} written`, warn: failure !== null };
  }

  /** After the session stopped (every frame applied and released): completes the file; its summary line. */
  close(): SummaryLine[] {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    try {
      this.writer.close();
    } catch {
      // Kept in writer.failure, reported below.
    }
    const failure = this.writer.failure;
    return [
      failure
        ? problem('pcap', `writing ${this.writer.path} FAILED: ${failure.message}`)
        : ok('pcap', `${this.writer.stats.packets} packets written to ${this.writer.path}`),
    ];
  }
}
