/**
 * A real QUIC handshake between two namespaces, with the example programs of
 * Debian's ngtcp2 packages (0.12, GnuTLS flavour): `gtlsserver` (package
 * ngtcp2-server, /usr/sbin) and `gtlsclient` (ngtcp2-client, /usr/bin).
 *
 *   const server = await startQuicServer({ ns: topo.server, host: topo.server.ipv4 });
 *   t.after(() => server.stop());
 *   const client = await runQuicClient({ ns: topo.client, host: 'quic.test', port: server.port }); // a name dnsmasq answers
 *   // client.pid, client.localPort, client.version === '0x00000001', client.datagramsSent …
 *
 * Versions: ngtcp2 0.12 speaks QUIC v1 (0x00000001, the default) and the
 * QUIC v2 draft (0x709a50c4, `version: 'v2draft'`); the final QUIC v2
 * (RFC 9369, 0x6b3343cf) is not supported: the server answers with Version
 * Negotiation and the client gives up (and still exits 0, which is why
 * success here is the client's "QUIC handshake has completed" line, never
 * its exit code).
 *
 * SNI: gtlsclient resolves its host argument with getaddrinfo (glibc) and
 * sends it as the ClientHello's server name; given an address literal it
 * sends 'localhost'. Its --sni option is ignored by this GnuTLS build
 * (checked with tshark on the Initial), so it is not used here.
 *
 * The client is run without --quiet: its log carries the negotiated version
 * and one "Sent packet: local=[a]:p remote=[b]:q ecn=… N bytes" line per
 * datagram (no GSO on the client side), from which the exact datagram and
 * byte counts come.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { Namespace } from './netns.js';
import { findCommand, ManagedProcess, run } from './process.js';

/** Commands a QUIC test needs (for `privileged(t, { commands })`). */
export const QUIC_COMMANDS: readonly string[] = ['gtlsserver', 'gtlsclient', 'openssl'];

/** The default QUIC port. */
export const QUIC_PORT = 4433;

/** QUIC versions the ngtcp2 0.12 examples speak, by their -v alias. */
export const QUIC_VERSIONS = { v1: '0x00000001', v2draft: '0x709a50c4' } as const;
export type QuicVersion = keyof typeof QUIC_VERSIONS;

function nsName(ns: Namespace | undefined): string | undefined {
  return ns === undefined || typeof ns === 'string' ? ns : ns.ns;
}

export interface QuicServerOptions {
  ns?: Namespace;
  /** Address to listen on (a literal). */
  host: string;
  /** UDP port. @default 4433 */
  port?: number;
  /** Name the self-signed certificate is for (CN and subjectAltName). @default 'quic.test' */
  certName?: string;
  /** @default 10000 */
  readyTimeoutMs?: number;
}

export interface QuicServer {
  host: string;
  port: number;
  pid: number;
  process: ManagedProcess;
  /** Temporary folder with key.pem and cert.pem; removed by stop(). */
  certDir: string;
  stop(): Promise<void>;
}

/** A self-signed P-256 certificate for `name` in a new temporary folder. */
export async function makeCertificate(name: string): Promise<{ dir: string; key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hostflow-quic-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2'];
  await run(findCommand('openssl') ?? 'openssl', [...args, '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`]);
  return { dir, key, cert };
}

/** Start gtlsserver on `host`:`port` (UDP) with a fresh certificate; resolves once the port is bound. */
export async function startQuicServer(options: QuicServerOptions): Promise<QuicServer> {
  const { host, port = QUIC_PORT, certName = 'quic.test', readyTimeoutMs = 10_000 } = options;
  if (isIP(host) === 0) throw new RangeError(`'${host}' is not an address to listen on`);
  const ns = nsName(options.ns);
  const { dir, key, cert } = await makeCertificate(certName);
  const server = ManagedProcess.start(findCommand('gtlsserver') ?? 'gtlsserver', [host, String(port), key, cert], { ns });
  const stop = async (): Promise<void> => {
    await server.stop({ timeoutMs: 2000 });
    await rm(dir, { recursive: true, force: true });
  };
  // gtlsserver prints nothing when ready: wait until the socket is bound.
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const { stdout } = await run('ss', ['-Hnulp', `sport = :${port}`], { ns, check: false });
    if (stdout.includes(`pid=${server.pid},`)) break;
    if (!server.running || Date.now() > deadline) {
      await stop();
      throw server.failure(server.running ? `did not bind UDP port ${port} within ${readyTimeoutMs} ms` : 'exited at start');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { host, port, pid: server.pid ?? 0, process: server, certDir: dir, stop };
}

export interface QuicClientOptions {
  ns?: Namespace;
  /**
   * Server name or address. A name is resolved by gtlsclient through glibc's
   * getaddrinfo and is the SNI; an address literal makes the SNI 'localhost'.
   */
  host: string;
  /** @default 4433 */
  port?: number;
  /** @default 'v1' */
  version?: QuicVersion;
  /** @default 15000 */
  timeoutMs?: number;
}

/** A finished client run: who it was and exactly what it exchanged. */
export interface QuicClientResult {
  /** gtlsclient's pid (`ip netns exec` execs it in place). */
  pid: number;
  /** Its comm: 'gtlsclient'. */
  comm: string;
  host: string;
  /** The server name the ClientHello carried: `host`, or 'localhost' for an address literal. */
  sni: string;
  /** The version the handshake agreed on, as gtlsclient logged it: '0x00000001'. */
  version: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** UDP datagrams and their payload bytes, from the client's "Sent packet"/"Received packet" lines. */
  datagramsSent: number;
  bytesSent: number;
  datagramsReceived: number;
  bytesReceived: number;
  /** The client's last output lines, for messages. */
  output: string;
}

const PACKET_LINE = /^(Sent|Received) packet: local=\[([^\]]+)\]:(\d+) remote=\[([^\]]+)\]:(\d+) ecn=\S+ (\d+) bytes$/;

/** Start gtlsclient; `finished` resolves once it exits after a completed handshake. */
export function startQuicClient(options: QuicClientOptions): { pid: number; process: ManagedProcess; finished: Promise<QuicClientResult> } {
  const { host, port = QUIC_PORT, version = 'v1', timeoutMs = 15_000 } = options;
  const sni = isIP(host) === 0 ? host : 'localhost';
  const args = [
    '--exit-on-all-streams-close',
    '--no-http-dump',
    '--timeout=5s',
    '--handshake-timeout=5s',
    '-v',
    version,
    host,
    String(port),
    `https://${sni}/`,
  ];
  const client = ManagedProcess.start(findCommand('gtlsclient') ?? 'gtlsclient', args, { ns: nsName(options.ns) });
  const counts = { datagramsSent: 0, bytesSent: 0, datagramsReceived: 0, bytesReceived: 0 };
  let ends: { localAddress: string; localPort: number; remoteAddress: string; remotePort: number } | undefined;
  let negotiated: string | undefined;
  let completed = false;
  client.onLine((line) => {
    const packet = PACKET_LINE.exec(line);
    if (packet) {
      const bytes = Number(packet[6]);
      if (packet[1] === 'Sent') {
        counts.datagramsSent++;
        counts.bytesSent += bytes;
      } else {
        counts.datagramsReceived++;
        counts.bytesReceived += bytes;
      }
      ends ??= { localAddress: packet[2] ?? '', localPort: Number(packet[3]), remoteAddress: packet[4] ?? '', remotePort: Number(packet[5]) };
      return;
    }
    const versionMatch = /the negotiated version is (0x[0-9a-f]+)/.exec(line);
    if (versionMatch) negotiated = versionMatch[1];
    if (line === 'QUIC handshake has completed') completed = true;
  });
  const finished = (async (): Promise<QuicClientResult> => {
    const timer = setTimeout(() => client.child.kill('SIGKILL'), timeoutMs);
    const status = await client.exited;
    clearTimeout(timer);
    if (status.code !== 0 || !completed) throw client.failure(completed ? 'failed after the handshake' : 'did not complete a QUIC handshake');
    if (ends === undefined || negotiated === undefined) throw client.failure('logged no packets or no negotiated version');
    return { pid: client.pid ?? 0, comm: 'gtlsclient', host, sni, version: negotiated, ...ends, ...counts, output: client.output(30) };
  })();
  return { pid: client.pid ?? 0, process: client, finished };
}

/** Run gtlsclient to its end against a server; rejects unless the handshake completed. */
export function runQuicClient(options: QuicClientOptions): Promise<QuicClientResult> {
  return startQuicClient(options).finished;
}
