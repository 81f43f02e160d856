/**
 * tcpdump as an independent witness: captures with a filter into a file,
 * in a namespace, until stopped; and reading files back.
 */
import { readFileSync } from 'node:fs';
import { findCommand, ManagedProcess, run } from './process.js';
import { readPcap } from './pcap.js';

export interface RunningTcpdump {
  process: ManagedProcess;
  /** SIGINT (tcpdump flushes its file), then the frames it wrote. */
  stop(): Promise<Buffer[]>;
}

export async function startTcpdump(options: {
  ns?: string;
  iface: string;
  file: string;
  filter: string;
  /** Packets sent (out), received (in) or both by the interface's host. @default 'inout' */
  direction?: 'in' | 'out' | 'inout';
}): Promise<RunningTcpdump> {
  const tcpdump = findCommand('tcpdump') ?? 'tcpdump';
  // -U: write each packet at once; -s 0: whole frames; --immediate-mode: no capture batching.
  const args = ['-i', options.iface, '-Q', options.direction ?? 'inout', '-n', '-U', '-s', '0', '--immediate-mode', '-w', options.file, options.filter];
  const child = ManagedProcess.start(tcpdump, args, { ns: options.ns });
  await child.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });
  return {
    process: child,
    stop: async () => {
      await child.stop({ signal: 'SIGINT', timeoutMs: 5000 });
      return readPcap(readFileSync(options.file)).packets.map((packet) => Buffer.from(packet.data));
    },
  };
}

/** `tcpdump -r FILE -nn -tt -xx [filter]`: one entry per frame, its header line and hex bytes. */
export async function tcpdumpRead(file: string, filter = '', extra: readonly string[] = []): Promise<string[]> {
  const tcpdump = findCommand('tcpdump') ?? 'tcpdump';
  const { stdout } = await run(tcpdump, ['-r', file, '-nn', ...extra, ...(filter ? [filter] : [])]);
  const frames: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    if (/^\s/.test(line) && frames.length > 0) frames[frames.length - 1] += `\n${line}`;
    else frames.push(line);
  }
  return frames;
}
