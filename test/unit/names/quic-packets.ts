/**
 * A test-side QUIC client: builds ClientHellos (with or without ECH, with a
 * post-quantum-sized key share) and seals them into client Initial packets
 * the way RFC 9001 5 says, with its own AES-GCM and header protection (the
 * product only opens packets). Checked against RFC 9001 A.2: sealing the
 * RFC's payload gives the RFC's packet, byte for byte.
 */
import { createCipheriv } from 'node:crypto';
import { clientInitialKeys, headerProtectionMask, QUIC_V1, QUIC_V2 } from '../../../src/names/quic-initial.js';

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

export interface Extension {
  type: number;
  data: number[];
}

export function serverName(name: string): Extension {
  const bytes = [...Buffer.from(name, 'latin1')];
  const entry = [0, ...u16(bytes.length), ...bytes];
  return { type: 0, data: [...u16(entry.length), ...entry] };
}

/** An ECH outer extension (RFC 9849 5): type outer, HPKE suite, config id, a 32-byte enc, an encrypted payload. */
export function encryptedClientHello(payloadBytes = 200): Extension {
  const enc = new Array<number>(32).fill(0x5e);
  const payload = new Array<number>(payloadBytes).fill(0xec);
  return { type: 0xfe0d, data: [0, 0x00, 0x01, 0x00, 0x01, 0x42, ...u16(enc.length), ...enc, ...u16(payload.length), ...payload] };
}

/** An X25519MLKEM768-sized key_share (1216 bytes of share), as browsers send since 2024. */
export function postQuantumKeyShare(): Extension {
  const share = new Array<number>(1216).fill(0x77);
  const entry = [...u16(0x11ec), ...u16(share.length), ...share];
  return { type: 51, data: [...u16(entry.length), ...entry] };
}

/** A ClientHello handshake message (type 1, 24-bit length, the hello) with these extensions. */
export function clientHelloMessage(extensions: Extension[]): Buffer {
  const ext = extensions.flatMap((e) => [...u16(e.type), ...u16(e.data.length), ...e.data]);
  const body = [
    0x03,
    0x03,
    ...new Array<number>(32).fill(0xaa),
    0, // QUIC: an empty legacy_session_id
    ...u16(6),
    0x13,
    0x01,
    0x13,
    0x02,
    0x13,
    0x03,
    1,
    0,
    ...u16(ext.length),
    ...ext,
  ];
  return Buffer.from([0x01, ...u24(body.length), ...body]);
}

/** The same hello in a TLS handshake record, as it starts a TCP stream. */
export function tlsRecord(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, ...u16(message.length)]), message]);
}

/** A QUIC variable-length integer in its shortest form. */
export function varint(n: number): number[] {
  if (n < 0x40) return [n];
  if (n < 0x4000) return [0x40 | (n >> 8), n & 0xff];
  if (n < 0x4000_0000) return [0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  throw new RangeError('varint too large for this helper');
}

/** A CRYPTO frame (RFC 9000 19.6) carrying `data` at `offset`. */
export function cryptoFrame(offset: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x06, ...varint(offset), ...varint(data.length)]), data]);
}

export interface InitialSpec {
  /** @default QUIC_V1 */
  version?: number;
  dcid: Buffer;
  /** @default empty */
  scid?: Buffer;
  /** @default empty */
  token?: Buffer;
  packetNumber: number;
  /** Bytes of the packet number, 1..4. @default 4 */
  packetNumberLength?: number;
  /** Frames, unencrypted. */
  payload: Buffer;
  /** Bytes of the Length field (1, 2 or 4), as a sender may pad it. @default 2 */
  lengthBytes?: 1 | 2 | 4;
}

/** One client Initial packet, sealed with the keys of its DCID and header-protected. */
export function sealInitial(spec: InitialSpec): Buffer {
  const version = spec.version ?? QUIC_V1;
  const keys = clientInitialKeys(version, spec.dcid);
  if (!keys) throw new Error(`no Initial keys for version ${version}`);
  const pnLength = spec.packetNumberLength ?? 4;
  const scid = spec.scid ?? Buffer.alloc(0);
  const token = spec.token ?? Buffer.alloc(0);
  const type = version === QUIC_V2 ? 0b01 : 0b00;
  const length = pnLength + spec.payload.length + 16;
  const lengthBytes = spec.lengthBytes ?? 2;
  const lengthField =
    lengthBytes === 1
      ? [length]
      : lengthBytes === 2
        ? [0x40 | (length >> 8), length & 0xff]
        : [0x80, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
  const pnBytes: number[] = [];
  for (let i = pnLength - 1; i >= 0; i--) pnBytes.push(Math.floor(spec.packetNumber / 2 ** (8 * i)) & 0xff);
  const header = Buffer.from([
    0xc0 | (type << 4) | (pnLength - 1),
    (version >>> 24) & 0xff,
    (version >> 16) & 0xff,
    (version >> 8) & 0xff,
    version & 0xff,
    spec.dcid.length,
    ...spec.dcid,
    scid.length,
    ...scid,
    ...varint(token.length),
    ...token,
    ...lengthField,
    ...pnBytes,
  ]);
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i] = (nonce[11 - i] as number) ^ (Math.floor(spec.packetNumber / 2 ** (8 * i)) & 0xff);
  const cipher = createCipheriv('aes-128-gcm', keys.key, nonce);
  cipher.setAAD(header);
  const sealed = Buffer.concat([cipher.update(spec.payload), cipher.final(), cipher.getAuthTag()]);
  const packet = Buffer.concat([header, sealed]);
  const pnOffset = header.length - pnLength;
  const mask = headerProtectionMask(keys.hp, packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0] = (packet[0] as number) ^ ((mask[0] as number) & 0x0f);
  for (let i = 0; i < pnLength; i++) packet[pnOffset + i] = (packet[pnOffset + i] as number) ^ (mask[1 + i] as number);
  return packet;
}

/** Frames padded with PADDING to `size` bytes (clients pad Initial datagrams to 1200). */
export function padded(frames: Buffer, size: number): Buffer {
  return frames.length >= size ? frames : Buffer.concat([frames, Buffer.alloc(size - frames.length)]);
}

/** The DCID the tests' clients choose. */
export const TEST_DCID = Buffer.from('0011223344556677', 'hex');

/**
 * A whole ClientHello in Initial packets as a browser sends one too long for
 * a datagram: cut in two CRYPTO frames, each in its own Initial (packet
 * numbers 0 and 1), each padded to a 1200-byte datagram.
 */
export function splitHello(message: Buffer, options: { version?: number; dcid?: Buffer; cut?: number } = {}): [Buffer, Buffer] {
  const dcid = options.dcid ?? TEST_DCID;
  const cut = options.cut ?? Math.floor(message.length / 2);
  const first = sealInitial({ version: options.version, dcid, packetNumber: 0, payload: padded(cryptoFrame(0, message.subarray(0, cut)), 1100) });
  const second = sealInitial({ version: options.version, dcid, packetNumber: 1, payload: padded(cryptoFrame(cut, message.subarray(cut)), 1100) });
  return [first, second];
}
