/**
 * Traffic peers for tests, each a small python3 script run inside a network
 * namespace (or in the test's own one when `ns` is left out): a TCP server
 * that sends exactly N bytes per connection, a TCP client, a UDP sender of
 * exactly N datagrams of S bytes, a UDP sink, and getaddrinfo through libc.
 * Servers print a READY line once they listen, so nothing sleeps.
 *
 * Payload bytes follow one pattern, byte i = i % 251 (`payload(n)`), so a
 * receiver can check what arrived, not only how much.
 */
import { isIP } from 'node:net';
import { ManagedProcess, python3, run } from './process.js';
import type { Namespace } from './netns.js';

/** Pure: the payload the helpers send, byte i = i % 251. */
export function payload(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return bytes;
}

/** Python shared by the scripts: the payload pattern and address helpers. */
const PRELUDE = String.raw`
import socket, sys, threading, time
PATTERN = bytes(i % 251 for i in range(251)) * 262
def chunk(offset, size):
    start = offset % 251
    return PATTERN[start:start + min(size, len(PATTERN) - 251)]
def send_pattern(sock, count):
    sent = 0
    while sent < count:
        data = chunk(sent, count - sent)
        sock.sendall(data)
        sent += len(data)
    return sent
def matches(offset, data):
    view, done = memoryview(data), 0
    while done < len(data):
        expected = chunk(offset + done, len(data) - done)
        if view[done:done + len(expected)] != expected:
            return False
        done += len(expected)
    return True
def family_of(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET
def resolve(host, port, kind, family):
    fam = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
    return socket.getaddrinfo(host, port, fam, kind)[0]
def out(*words):
    print(*words, flush=True)
`;

const TCP_SERVER = String.raw`
host, port, nbytes, drain_timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
srv = socket.socket(family_of(host), socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(128)
lock = threading.Lock()
def serve(conn, peer):
    sent = received = 0
    try:
        sent = send_pattern(conn, nbytes)
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(drain_timeout)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            received += len(data)
    except OSError:
        pass
    finally:
        conn.close()
    with lock:
        out('CONN', peer[0], peer[1], sent, received)
out('READY', srv.getsockname()[1])
while True:
    conn, peer = srv.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
`;

const TCP_CLIENT = String.raw`
host, port, nsend, family, timeout, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
fam, kind, proto, _, addr = resolve(host, port, socket.SOCK_STREAM, family)
sock = socket.socket(fam, kind, proto)
sock.settimeout(timeout)
sock.connect(addr)
local, remote = sock.getsockname(), sock.getpeername()
send_pattern(sock, nsend)
sock.shutdown(socket.SHUT_WR)
received, valid = 0, True
while True:
    data = sock.recv(65536)
    if not data:
        break
    valid = valid and matches(received, data)
    received += len(data)
if hold > 0:
    time.sleep(hold)
sock.close()
out('RESULT', received, int(valid), local[0], local[1], remote[0], remote[1])
`;

const UDP_SENDER = String.raw`
host, port, count, size, family, interval, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
fam, kind, proto, _, addr = resolve(host, port, socket.SOCK_DGRAM, family)
# The route's source address, so the sender reports a concrete local address;
# sending unconnected keeps an ICMP port-unreachable from failing later sends.
probe = socket.socket(fam, kind, proto)
probe.connect(addr)
local_ip = probe.getsockname()[0]
probe.close()
sock = socket.socket(fam, kind, proto)
sock.bind((local_ip, sport))
data = chunk(0, size)  # size <= 65507 < the longest chunk
for i in range(count):
    if sock.sendto(data, addr) != size:
        sys.exit('short send')
    if interval > 0:
        time.sleep(interval)
local = sock.getsockname()
out('RESULT', count, local[0], local[1], addr[0], addr[1])
`;

const UDP_SINK = String.raw`
host, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind((host, port))
out('READY', sock.getsockname()[1])
while True:
    data, peer = sock.recvfrom(65535)
    valid = matches(0, data)
    out('DGRAM', len(data), int(valid), peer[0], peer[1])
`;

const GETADDRINFO = String.raw`
import json
host, family = sys.argv[1], int(sys.argv[2])
fam = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
try:
    infos = socket.getaddrinfo(host, None, fam, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
except socket.gaierror as error:
    out(json.dumps({'error': error.strerror, 'code': error.errno}))
    sys.exit(0)
addresses = []
for info in infos:
    if info[4][0] not in addresses:
        addresses.append(info[4][0])
out(json.dumps({'canonical': infos[0][3] if infos else '', 'addresses': addresses}))
`;

function nsName(ns: Namespace | undefined): string | undefined {
  return ns === undefined || typeof ns === 'string' ? ns : ns.ns;
}

function startScript(ns: Namespace | undefined, script: string, args: readonly (string | number)[]): ManagedProcess {
  return ManagedProcess.start(python3(), ['-u', '-c', PRELUDE + script, ...args.map(String)], { ns: nsName(ns) });
}

async function runScript(ns: Namespace | undefined, script: string, args: readonly (string | number)[], timeoutMs: number): Promise<string> {
  const { stdout } = await run(python3(), ['-u', '-c', PRELUDE + script, ...args.map(String)], {
    ns: nsName(ns),
    timeoutMs,
  });
  return stdout;
}

function checkCount(value: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer in 0..${max}, got ${value}`);
  }
}

function checkPort(port: number): void {
  checkCount(port, 'port', 65535);
}

function checkAddress(host: string): void {
  if (isIP(host) === 0) throw new RangeError(`'${host}' is not an IP address to listen on`);
}

/** Address family to resolve a host name to: 4, 6, or 0 for either. */
export type Family = 0 | 4 | 6;

// ---------------------------------------------------------------- TCP server

export interface TcpServerOptions {
  /** Namespace to listen in. @default the test's own */
  ns?: Namespace;
  /** Address to listen on. */
  host: string;
  /** @default 0, a free port */
  port?: number;
  /** Bytes sent on every connection before the server closes its side. */
  bytes: number;
  /** How long the server waits for the client's EOF before closing. @default 5000 */
  drainTimeoutMs?: number;
  /** @default 10000 */
  readyTimeoutMs?: number;
}

/** One connection the server finished. */
export interface TcpServerConnection {
  peerAddress: string;
  peerPort: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface TcpServer {
  host: string;
  port: number;
  process: ManagedProcess;
  /** Connections finished so far. */
  readonly connections: readonly TcpServerConnection[];
  /** Resolves once `count` connections have finished. */
  waitForConnections(count: number, timeoutMs?: number): Promise<readonly TcpServerConnection[]>;
  stop(): Promise<void>;
}

/**
 * A TCP server that, on every connection, sends exactly `bytes` bytes of
 * payload, closes its side, reads what the client sends until EOF, and
 * closes. Resolves once it listens. Listening on '::' takes IPv4 clients too
 * (their peerAddress is then '::ffff:a.b.c.d').
 */
export async function startTcpServer(options: TcpServerOptions): Promise<TcpServer> {
  const { host, port = 0, bytes, drainTimeoutMs = 5000, readyTimeoutMs = 10_000 } = options;
  checkAddress(host);
  checkPort(port);
  checkCount(bytes, 'bytes');
  const child = startScript(options.ns, TCP_SERVER, [host, port, bytes, drainTimeoutMs / 1000]);
  const connections: TcpServerConnection[] = [];
  const waiters = new Set<() => void>();
  child.onLine((line, stream) => {
    const match = stream === 'stdout' ? /^CONN (\S+) (\d+) (\d+) (\d+)$/.exec(line) : null;
    if (!match) return;
    connections.push({
      peerAddress: match[1] ?? '',
      peerPort: Number(match[2]),
      bytesSent: Number(match[3]),
      bytesReceived: Number(match[4]),
    });
    for (const waiter of waiters) waiter();
  });
  const ready = await child.waitForLine(/^READY (\d+)$/, { stream: 'stdout', timeoutMs: readyTimeoutMs }).catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  return {
    host,
    port: Number(ready[1]),
    process: child,
    connections,
    waitForConnections: (count, timeoutMs = 10_000) =>
      waitUntil(
        () => connections.length >= count,
        waiters,
        child,
        timeoutMs,
        () => `${connections.length} of ${count} connections finished`,
      ).then(() => connections),
    stop: async () => {
      await child.stop();
    },
  };
}

// ---------------------------------------------------------------- TCP client

export interface TcpFetchOptions {
  /** Namespace to connect from. @default the test's own */
  ns?: Namespace;
  /** Address or name (resolved with getaddrinfo inside `ns`). */
  host: string;
  port: number;
  /** Family to resolve `host` to. @default 0, the first getaddrinfo answer */
  family?: Family;
  /** Bytes of payload to send before reading. @default 0 */
  send?: number;
  /** Keep the connection open this long after the server's EOF. @default 0 */
  holdMs?: number;
  /** @default 10000 */
  timeoutMs?: number;
}

export interface TcpFetchResult {
  bytesReceived: number;
  /** True when every received byte matched the payload pattern. */
  payloadValid: boolean;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** Connect, send `send` bytes, half-close, read until EOF; resolves with what arrived. */
export async function tcpFetch(options: TcpFetchOptions): Promise<TcpFetchResult> {
  const { host, port, family = 0, send = 0, holdMs = 0, timeoutMs = 10_000 } = options;
  checkPort(port);
  checkCount(send, 'send');
  const stdout = await runScript(options.ns, TCP_CLIENT, [host, port, send, family, timeoutMs / 1000, holdMs / 1000], timeoutMs + holdMs + 5000);
  const match = /^RESULT (\d+) ([01]) (\S+) (\d+) (\S+) (\d+)$/m.exec(stdout);
  if (!match) throw new Error(`TCP client printed no result: ${stdout}`);
  return {
    bytesReceived: Number(match[1]),
    payloadValid: match[2] === '1',
    localAddress: match[3] ?? '',
    localPort: Number(match[4]),
    remoteAddress: match[5] ?? '',
    remotePort: Number(match[6]),
  };
}

// ---------------------------------------------------------------- UDP sender

export interface UdpSendOptions {
  /** Namespace to send from. @default the test's own */
  ns?: Namespace;
  /** Address or name (resolved with getaddrinfo inside `ns`). */
  host: string;
  port: number;
  /** Datagrams to send. */
  count: number;
  /** Payload bytes per datagram (UDP payload, headers not counted). */
  size: number;
  family?: Family;
  /** Pause between datagrams. @default 0 */
  intervalMs?: number;
  /** Local port to send from. @default 0, any */
  sourcePort?: number;
  /** @default 30000 */
  timeoutMs?: number;
}

export interface UdpSendResult {
  datagrams: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** Send exactly `count` datagrams of `size` payload bytes each from one socket. */
export async function udpSend(options: UdpSendOptions): Promise<UdpSendResult> {
  const { host, port, count, size, family = 0, intervalMs = 0, sourcePort = 0, timeoutMs = 30_000 } = options;
  checkPort(port);
  checkPort(sourcePort);
  checkCount(count, 'count');
  checkCount(size, 'size', 65_507);
  const stdout = await runScript(options.ns, UDP_SENDER, [host, port, count, size, family, intervalMs / 1000, sourcePort], timeoutMs);
  const match = /^RESULT (\d+) (\S+) (\d+) (\S+) (\d+)$/m.exec(stdout);
  if (!match) throw new Error(`UDP sender printed no result: ${stdout}`);
  return {
    datagrams: Number(match[1]),
    localAddress: match[2] ?? '',
    localPort: Number(match[3]),
    remoteAddress: match[4] ?? '',
    remotePort: Number(match[5]),
  };
}

// ---------------------------------------------------------------- UDP sink

export interface UdpSinkOptions {
  /** Namespace to listen in. @default the test's own */
  ns?: Namespace;
  host: string;
  /** @default 0, a free port */
  port?: number;
  /** @default 10000 */
  readyTimeoutMs?: number;
}

export interface UdpSinkTotals {
  datagrams: number;
  /** Payload bytes. */
  bytes: number;
  /** Datagrams whose payload did not match the pattern. */
  invalid: number;
}

export interface UdpSink {
  host: string;
  port: number;
  process: ManagedProcess;
  /** Totals so far. */
  totals(): UdpSinkTotals;
  /** Resolves once `datagrams` datagrams have arrived. */
  waitFor(datagrams: number, timeoutMs?: number): Promise<UdpSinkTotals>;
  /** Stop and return the final totals. */
  stop(): Promise<UdpSinkTotals>;
}

/** A UDP socket that counts the datagrams it receives. Resolves once bound. */
export async function startUdpSink(options: UdpSinkOptions): Promise<UdpSink> {
  const { host, port = 0, readyTimeoutMs = 10_000 } = options;
  checkAddress(host);
  checkPort(port);
  const child = startScript(options.ns, UDP_SINK, [host, port]);
  const totals: UdpSinkTotals = { datagrams: 0, bytes: 0, invalid: 0 };
  const waiters = new Set<() => void>();
  child.onLine((line, stream) => {
    const match = stream === 'stdout' ? /^DGRAM (\d+) ([01]) /.exec(line) : null;
    if (!match) return;
    totals.datagrams++;
    totals.bytes += Number(match[1]);
    if (match[2] !== '1') totals.invalid++;
    for (const waiter of waiters) waiter();
  });
  const ready = await child.waitForLine(/^READY (\d+)$/, { stream: 'stdout', timeoutMs: readyTimeoutMs }).catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  return {
    host,
    port: Number(ready[1]),
    process: child,
    totals: () => ({ ...totals }),
    waitFor: (datagrams, timeoutMs = 10_000) =>
      waitUntil(
        () => totals.datagrams >= datagrams,
        waiters,
        child,
        timeoutMs,
        () => `${totals.datagrams} of ${datagrams} datagrams arrived`,
      ).then(() => ({ ...totals })),
    stop: async () => {
      await child.stop();
      return { ...totals };
    },
  };
}

// ---------------------------------------------------------------- resolver

export interface GetaddrinfoResult {
  /** The canonical name (end of the CNAME chain), '' when none. */
  canonical: string;
  /** Addresses in getaddrinfo's order, without repeats. */
  addresses: string[];
}

/**
 * Resolve `host` with libc's getaddrinfo inside `ns` (through the
 * namespace's resolv.conf, so through the topology's dnsmasq). Rejects with
 * the resolver's message when the name does not resolve.
 */
export async function getaddrinfo(options: { ns?: Namespace; host: string; family?: Family; timeoutMs?: number }): Promise<GetaddrinfoResult> {
  const { host, family = 0, timeoutMs = 10_000 } = options;
  const stdout = await runScript(options.ns, GETADDRINFO, [host, family], timeoutMs);
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Partial<GetaddrinfoResult> & {
    error?: string;
    code?: number;
  };
  if (result.error !== undefined) throw new Error(`getaddrinfo(${host}) failed: ${result.error} (${result.code})`);
  return { canonical: result.canonical ?? '', addresses: result.addresses ?? [] };
}

// ---------------------------------------------------------------- shared

function waitUntil(done: () => boolean, waiters: Set<() => void>, child: ManagedProcess, timeoutMs: number, progress: () => string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      waiters.delete(check);
      if (error) reject(error);
      else resolve();
    };
    const check = (): void => {
      if (done()) finish();
    };
    const timer = setTimeout(() => finish(child.failure(`timed out after ${timeoutMs} ms: ${progress()}`)), timeoutMs);
    waiters.add(check);
    void child.exited.then(() => {
      if (!done()) finish(child.failure(`exited: ${progress()}`));
    });
  });
}
