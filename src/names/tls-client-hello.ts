/**
 * The server name (SNI, RFC 6066 section 3) of a TLS ClientHello, from the
 * first bytes of a connection's payload as bpf/payload.bpf.h copied them.
 *
 * The input is untrusted and may be cut short (the kernel copies at most
 * HF_PAYLOAD_CAPTURE bytes of one packet; a ClientHello split across packets
 * arrives as its first part only). The parse walks the length-prefixed
 * fields once, each read checked against two ends: the end the enclosing
 * length declares (past it: `malformed`) and the end of the captured bytes
 * (past it, but inside the declared end: `truncated`). It never throws and
 * visits each byte at most once.
 *
 * A ClientHello carrying an Encrypted Client Hello (RFC 9849, extension
 * 0xfe0d) names nothing by its server_name: that is the outer, public name
 * (of the ECH provider's front), and the real one is encrypted. Its result
 * says so, with the public name beside it. Browsers also send ECH GREASE
 * (a random 0xfe0d extension to servers without ECH, RFC 9849 6.2) that is
 * made to look the same: there the outer name is the real one. Which of
 * the two it is cannot be told from the bytes; the correlator decides what
 * the public name is worth. A capture cut after the server name and before
 * the end of the extensions gives the name: whether an ECH extension
 * followed cannot be known.
 *
 * QUIC carries the ClientHello as a bare handshake message in CRYPTO frames
 * (RFC 9001 4.1.3), not in a record: `parseClientHelloMessage` reads that
 * form, and both entry points share one walk of the hello.
 *
 * Layout walked (RFC 8446 4.1.2, RFC 5246 7.4.1.2):
 *   record:    type 22 (1) | version (2) | length (2)
 *   handshake: type 1 (1) | length (3) | legacy_version (2) | random (32)
 *              | session_id <0..32> (1) | cipher_suites <2..> (2)
 *              | compression_methods <1..> (1) | extensions <..> (2)
 *   extension: type (2) | length (2) | data; server_name is type 0:
 *              server_name_list (2) of { name_type (1) | name (2) }, host_name = 0
 */
import { checkHostname, HOSTNAME_MAX } from './hostname.js';

export type ClientHelloSkipReason =
  /** Not a TLS handshake record holding a ClientHello. */
  | 'not_client_hello'
  /** The capture ends before the server_name extension (or before the end of the extensions). */
  | 'truncated'
  /** A length disagrees with its enclosing length. */
  | 'malformed'
  /** A complete ClientHello without a host_name server name (clients connecting by address). */
  | 'no_sni'
  /** The server name is not a host name (an IP address, bad characters). */
  | 'invalid_name';

/**
 * The ClientHello carries an encrypted_client_hello extension: its real
 * server name is encrypted. `publicName` is its outer server_name when it
 * has a valid one (the ECH front's public name, or, for ECH GREASE, the
 * real name), else null.
 */
export interface EncryptedClientHello {
  ok: false;
  reason: 'encrypted_client_hello';
  publicName: string | null;
}

export type ClientHelloParse = { ok: true; name: string } | { ok: false; reason: ClientHelloSkipReason } | EncryptedClientHello;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0x0000;
/** encrypted_client_hello, RFC 9849 (draft-ietf-tls-esni-13 and later drafts use the same code point). */
export const EXTENSION_ENCRYPTED_CLIENT_HELLO = 0xfe0d;
const NAME_TYPE_HOST_NAME = 0;
const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const RANDOM_BYTES = 32;

/** A read that went past an end: which one decides the reason. */
class OutOfBounds {
  constructor(readonly reason: 'truncated' | 'malformed') {}
}

/**
 * A cursor over bytes [at, end) of `bytes`, where `end` is the declared end
 * and `bytes.length` the captured one.
 */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
    readonly end: number,
  ) {}

  /** Checks that n bytes may be read here; throws OutOfBounds (caught in parseClientHello) otherwise. */
  need(n: number): void {
    if (this.at + n > this.end) throw new OutOfBounds('malformed');
    if (this.at + n > this.bytes.length) throw new OutOfBounds('truncated');
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.at++] as number;
  }

  u16(): number {
    this.need(2);
    const value = ((this.bytes[this.at] as number) << 8) | (this.bytes[this.at + 1] as number);
    this.at += 2;
    return value;
  }

  u24(): number {
    this.need(3);
    const value = ((this.bytes[this.at] as number) << 16) | ((this.bytes[this.at + 1] as number) << 8) | (this.bytes[this.at + 2] as number);
    this.at += 3;
    return value;
  }

  /** Steps over n bytes without reading them: only the declared end matters, unless they are needed later. */
  skip(n: number): void {
    if (this.at + n > this.end) throw new OutOfBounds('malformed');
    this.at += n;
  }

  /** A reader over the next n bytes (which must fit the declared end), and steps over them. */
  sub(n: number): Reader {
    if (this.at + n > this.end) throw new OutOfBounds('malformed');
    const inner = new Reader(this.bytes, this.at, this.at + n);
    this.at += n;
    return inner;
  }

  text(n: number): string {
    this.need(n);
    const value = String.fromCharCode(...this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return value;
  }

  get remaining(): number {
    return this.end - this.at;
  }
}

/** True when `payload` starts like the kernel's test for a ClientHello (bpf/payload.bpf.h). */
export function looksLikeClientHello(payload: Uint8Array): boolean {
  return (
    payload.length >= 6 && payload[0] === RECORD_HANDSHAKE && payload[1] === 0x03 && (payload[2] as number) <= 0x04 && payload[5] === HANDSHAKE_CLIENT_HELLO
  );
}

/** The host_name of the server_name extension of the ClientHello `payload` starts with. */
export function parseClientHello(payload: Uint8Array): ClientHelloParse {
  if (!looksLikeClientHello(payload)) return { ok: false, reason: 'not_client_hello' };
  try {
    const record = new Reader(payload, 0, Number.MAX_SAFE_INTEGER);
    record.skip(3);
    const recordLength = record.u16();
    const handshakeBytes = record.sub(recordLength);
    if (handshakeBytes.u8() !== HANDSHAKE_CLIENT_HELLO) return { ok: false, reason: 'not_client_hello' };
    const declared = handshakeBytes.u24();
    // A ClientHello fragmented over several records (allowed, not seen from
    // real clients) reads as cut at the first record's end: the bytes after
    // it are the next record's header, not the handshake.
    const visible = payload.subarray(0, Math.min(payload.length, RECORD_HEADER + recordLength));
    return readHello(new Reader(visible, RECORD_HEADER + HANDSHAKE_HEADER, RECORD_HEADER + HANDSHAKE_HEADER + declared));
  } catch (error) {
    if (error instanceof OutOfBounds) return { ok: false, reason: error.reason };
    return { ok: false, reason: 'malformed' };
  }
}

/**
 * The ClientHello handshake message `message` starts with (type 1, a
 * 24-bit length, the hello), as QUIC's CRYPTO frames carry it: the same
 * walk as `parseClientHello`, without the record header.
 */
export function parseClientHelloMessage(message: Uint8Array): ClientHelloParse {
  if (message.length > 0 && message[0] !== HANDSHAKE_CLIENT_HELLO) return { ok: false, reason: 'not_client_hello' };
  try {
    const header = new Reader(message, 0, Number.MAX_SAFE_INTEGER);
    header.skip(1);
    const declared = header.u24();
    return readHello(new Reader(message, HANDSHAKE_HEADER, HANDSHAKE_HEADER + declared));
  } catch (error) {
    if (error instanceof OutOfBounds) return { ok: false, reason: error.reason };
    return { ok: false, reason: 'malformed' };
  }
}

/**
 * Walks every extension: the server_name one gives the name, an
 * encrypted_client_hello one says the name is not the real one.
 */
function readHello(hello: Reader): ClientHelloParse {
  let named: ClientHelloParse | null = null;
  let encrypted = false;
  try {
    hello.skip(2 + RANDOM_BYTES);
    hello.skip(hello.u8()); // session id
    hello.skip(hello.u16()); // cipher suites
    hello.skip(hello.u8()); // compression methods
    if (hello.remaining === 0) return { ok: false, reason: 'no_sni' }; // no extensions at all (TLS 1.0 era)
    const extensions = hello.sub(hello.u16());
    while (extensions.remaining > 0) {
      const type = extensions.u16();
      // Its type is enough, even when the capture ends inside the extension.
      if (type === EXTENSION_ENCRYPTED_CLIENT_HELLO) encrypted = true;
      const data = extensions.sub(extensions.u16());
      if (type === EXTENSION_SERVER_NAME && named === null) named = readServerName(data);
    }
  } catch (error) {
    const reason = error instanceof OutOfBounds ? error.reason : 'malformed';
    // Cut after the name or the ECH extension: what was read stands.
    if (reason !== 'truncated' || (named === null && !encrypted)) return { ok: false, reason };
  }
  if (encrypted) return { ok: false, reason: 'encrypted_client_hello', publicName: named?.ok ? named.name : null };
  return named ?? { ok: false, reason: 'no_sni' };
}

function readServerName(data: Reader): ClientHelloParse {
  const list = data.sub(data.u16());
  while (list.remaining > 0) {
    const nameType = list.u8();
    const length = list.u16();
    if (nameType !== NAME_TYPE_HOST_NAME) {
      list.skip(length);
      continue;
    }
    // Longer than any host name: no need to read it (and spread it) at all.
    if (length > HOSTNAME_MAX + 1) return { ok: false, reason: 'invalid_name' };
    const checked = checkHostname(list.text(length));
    return checked.ok ? { ok: true, name: checked.name } : { ok: false, reason: 'invalid_name' };
  }
  return { ok: false, reason: 'no_sni' };
}
