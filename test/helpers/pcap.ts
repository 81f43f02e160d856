/**
 * Minimal readers of classic pcap and pcapng files (little-endian, as
 * hostflow and tcpdump on x86 write them), so tests can check every field
 * hostflow writes. Peers (tcpdump -r, tshark -r) check the files too.
 */

export interface PcapFile {
  linkType: number;
  snaplen: number;
  /** 'us' for magic a1b2c3d4, 'ns' for a1b23c4d. */
  resolution: 'us' | 'ns';
  packets: Array<{ seconds: number; fraction: number; capturedLength: number; originalLength: number; data: Buffer }>;
}

export function readPcap(file: Buffer): PcapFile {
  const magic = file.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`not a little-endian pcap file (magic ${magic.toString(16)})`);
  const packets: PcapFile['packets'] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const capturedLength = file.readUInt32LE(at + 8);
    if (at + 16 + capturedLength > file.length) throw new Error(`record at ${at} runs past the end`);
    packets.push({
      seconds: file.readUInt32LE(at),
      fraction: file.readUInt32LE(at + 4),
      capturedLength,
      originalLength: file.readUInt32LE(at + 12),
      data: file.subarray(at + 16, at + 16 + capturedLength),
    });
    at += 16 + capturedLength;
  }
  if (at !== file.length) throw new Error(`${file.length - at} trailing bytes`);
  return { linkType: file.readUInt32LE(20), snaplen: file.readUInt32LE(16), resolution: magic === 0xa1b2c3d4 ? 'us' : 'ns', packets };
}

export interface PcapngOption {
  code: number;
  value: Buffer;
}

export interface PcapngFile {
  sectionOptions: PcapngOption[];
  interfaces: Array<{ linkType: number; snaplen: number; options: PcapngOption[]; name: string | null; tsresol: number | null }>;
  packets: Array<{
    interfaceId: number;
    /** Timestamp in the interface's units. */
    timestamp: bigint;
    capturedLength: number;
    originalLength: number;
    data: Buffer;
    comment: string | null;
    flags: number | null;
    options: PcapngOption[];
  }>;
}

function readOptions(body: Buffer): PcapngOption[] {
  const options: PcapngOption[] = [];
  let at = 0;
  while (at + 4 <= body.length) {
    const code = body.readUInt16LE(at);
    const length = body.readUInt16LE(at + 2);
    if (code === 0) break;
    options.push({ code, value: body.subarray(at + 4, at + 4 + length) });
    at += 4 + ((length + 3) & ~3);
  }
  return options;
}

export function readPcapng(file: Buffer): PcapngFile {
  const result: PcapngFile = { sectionOptions: [], interfaces: [], packets: [] };
  let at = 0;
  while (at < file.length) {
    const type = file.readUInt32LE(at);
    const total = file.readUInt32LE(at + 4);
    if (total < 12 || total % 4 !== 0 || at + total > file.length) throw new Error(`bad block length ${total} at ${at}`);
    if (file.readUInt32LE(at + total - 4) !== total) throw new Error(`trailing length of the block at ${at} differs`);
    const body = file.subarray(at + 8, at + total - 4);
    if (type === 0x0a0d0d0a) {
      if (body.readUInt32LE(0) !== 0x1a2b3c4d) throw new Error('not little endian');
      result.sectionOptions = readOptions(body.subarray(16));
    } else if (type === 1) {
      const options = readOptions(body.subarray(8));
      const name = options.find((o) => o.code === 2)?.value.toString() ?? null;
      const tsresol = options.find((o) => o.code === 9)?.value[0] ?? null;
      result.interfaces.push({ linkType: body.readUInt16LE(0), snaplen: body.readUInt32LE(4), options, name, tsresol });
    } else if (type === 6) {
      const capturedLength = body.readUInt32LE(12);
      const options = readOptions(body.subarray(20 + ((capturedLength + 3) & ~3)));
      const flags = options.find((o) => o.code === 2);
      result.packets.push({
        interfaceId: body.readUInt32LE(0),
        timestamp: (BigInt(body.readUInt32LE(4)) << 32n) | BigInt(body.readUInt32LE(8)),
        capturedLength,
        originalLength: body.readUInt32LE(16),
        data: body.subarray(20, 20 + capturedLength),
        comment: options.find((o) => o.code === 1)?.value.toString() ?? null,
        flags: flags ? flags.value.readUInt32LE(0) : null,
        options,
      });
    }
    at += total;
  }
  return result;
}
