/**
 * Workload peers for the record tests, each reporting its own pid and local
 * port so a test can find the records it caused:
 *
 * - a request/reply TCP server: reads the client's bytes until EOF, then
 *   replies with as many bytes as the client's first 4 bytes ask for and
 *   closes (the client closes first, so both ends' processes are known);
 * - clients of three runtimes that resolve a name with getaddrinfo: python3
 *   (optionally pausing between resolving and connecting), node, curl;
 * - python3's http.server, for curl.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Namespace } from './netns.js';
import { findCommand, ManagedProcess, python3 } from './process.js';

function nsName(ns: Namespace | undefined): string | undefined {
  return ns === undefined || typeof ns === 'string' ? ns : ns.ns;
}

/** Bytes of the header a client sends first: the reply size, big-endian u32. */
export const REQUEST_HEADER_BYTES = 4;

/** What one client connection did, as the client saw it. */
export interface ClientResult {
  pid: number;
  /** Payload bytes written (header included). */
  bytesSent: number;
  /** Payload bytes read until EOF. */
  bytesReceived: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** A process run to its end; its output, or an error carrying it. */
async function finish(child: ManagedProcess, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => child.child.kill('SIGKILL'), timeoutMs);
  const status = await child.exited;
  clearTimeout(timer);
  if (status.code !== 0) throw child.failure('failed');
  return child.output(KEPT);
}

const KEPT = 2000;

const RESULT = /^RESULT (\d+) (\d+) (\d+) (\S+) (\d+) (\S+) (\d+)$/m;

function parseResult(child: ManagedProcess, output: string): ClientResult {
  const match = RESULT.exec(output);
  if (!match) throw child.failure('printed no RESULT line');
  const ipv4Mapped = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return {
    pid: Number(match[1]),
    bytesSent: Number(match[2]),
    bytesReceived: Number(match[3]),
    localAddress: ipv4Mapped(match[4] ?? ''),
    localPort: Number(match[5]),
    remoteAddress: ipv4Mapped(match[6] ?? ''),
    remotePort: Number(match[7]),
  };
}

// ------------------------------------------------------------ reply server

const REPLY_SERVER = String.raw`
import os, socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(128)
lock = threading.Lock()
def serve(conn, peer):
    head, received, sent = b'', 0, 0
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            if len(head) < 4:
                head += data[:4 - len(head)]
            received += len(data)
        want = int.from_bytes(head, 'big') if len(head) == 4 else 0
        block = b'r' * 65536
        while sent < want:
            sent += conn.send(block[:min(len(block), want - sent)])
    except OSError:
        pass
    finally:
        conn.close()
    with lock:
        print('CONN', peer[0], peer[1], received, sent, flush=True)
print('READY', os.getpid(), srv.getsockname()[1], flush=True)
while True:
    conn, peer = srv.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
`;

export interface ReplyServerConnection {
  peerAddress: string;
  peerPort: number;
  bytesReceived: number;
  bytesSent: number;
}

export interface ReplyServer {
  host: string;
  port: number;
  pid: number;
  process: ManagedProcess;
  readonly connections: readonly ReplyServerConnection[];
  stop(): Promise<void>;
}

/**
 * A TCP server that reads each connection to EOF, replies with the number of
 * bytes its first 4 bytes ask for (big-endian), and closes: the client
 * half-closes first, the server closes last from its own process.
 */
export async function startReplyServer(options: { ns?: Namespace; host: string; port?: number }): Promise<ReplyServer> {
  const child = ManagedProcess.start(python3(), ['-u', '-c', REPLY_SERVER, options.host, String(options.port ?? 0)], {
    ns: nsName(options.ns),
  });
  const connections: ReplyServerConnection[] = [];
  child.onLine((line, stream) => {
    const match = stream === 'stdout' ? /^CONN (\S+) (\d+) (\d+) (\d+)$/.exec(line) : null;
    if (match) {
      connections.push({
        peerAddress: match[1] ?? '',
        peerPort: Number(match[2]),
        bytesReceived: Number(match[3]),
        bytesSent: Number(match[4]),
      });
    }
  });
  const ready = await child.waitForLine(/^READY (\d+) (\d+)$/, { stream: 'stdout' }).catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  return {
    host: options.host,
    pid: Number(ready[1]),
    port: Number(ready[2]),
    process: child,
    connections,
    stop: async () => {
      await child.stop();
    },
  };
}

// ------------------------------------------------------------ python client

const PYTHON_CLIENT = String.raw`
import os, socket, sys
host, port, family, nsend, reply, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == '1'
fam = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
info = socket.getaddrinfo(host, port, fam, socket.SOCK_STREAM)[0]
print('RESOLVED', info[4][0], flush=True)
if pause:
    sys.stdin.readline()
# What socket.create_connection does, with the address resolved above.
sock = socket.socket(info[0], info[1], info[2])
sock.settimeout(10)
sock.connect(info[4])
local, remote = sock.getsockname(), sock.getpeername()
data = reply.to_bytes(4, 'big') + b'q' * (nsend - 4)
sock.sendall(data)
sock.shutdown(socket.SHUT_WR)
received = 0
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    received += len(chunk)
sock.close()
print('RESULT', os.getpid(), len(data), received, local[0], local[1], remote[0], remote[1], flush=True)
`;

export interface ClientOptions {
  ns?: Namespace;
  /** Name (resolved with getaddrinfo) or address literal. */
  host: string;
  port: number;
  /** Family to resolve to: 4, 6 or 0 for the first answer. @default 0 */
  family?: 0 | 4 | 6;
  /** Bytes to send, the 4-byte request header included (>= 4). */
  send: number;
  /** Bytes the reply server is asked to send back. */
  reply: number;
  /** @default 15000 */
  timeoutMs?: number;
}

export interface PausedClient {
  pid: number;
  /** The address getaddrinfo gave, once the name is resolved. */
  resolved: Promise<string>;
  /** Let the client connect; resolves with what it did. */
  connect(): Promise<ClientResult>;
}

function checkSizes(options: ClientOptions): void {
  if (!Number.isInteger(options.send) || options.send < REQUEST_HEADER_BYTES) throw new RangeError(`send must be >= ${REQUEST_HEADER_BYTES}`);
  if (!Number.isInteger(options.reply) || options.reply < 0 || options.reply > 0xffffffff) throw new RangeError('reply must be a u32');
}

function startPython(options: ClientOptions, pause: boolean): ManagedProcess {
  checkSizes(options);
  const args = [options.host, options.port, options.family ?? 0, options.send, options.reply, pause ? 1 : 0].map(String);
  return ManagedProcess.start(python3(), ['-u', '-c', PYTHON_CLIENT, ...args], { ns: nsName(options.ns), stdin: pause });
}

/** python3: getaddrinfo, connect, send, half-close, read to EOF. */
export async function pythonClient(options: ClientOptions): Promise<ClientResult> {
  const child = startPython(options, false);
  return parseResult(child, await finish(child, options.timeoutMs ?? 15_000));
}

/** python3 that resolves at once and connects only when told to. */
export async function pausedPythonClient(options: ClientOptions): Promise<PausedClient> {
  const child = startPython(options, true);
  const resolved = child.waitForLine(/^RESOLVED (\S+)$/, { stream: 'stdout', timeoutMs: 10_000 }).then((match) => match[1] ?? '');
  await resolved.catch(async (error: unknown) => {
    await child.stop({ signal: 'SIGKILL' });
    throw error;
  });
  return {
    pid: child.pid ?? 0,
    resolved,
    connect: async () => {
      child.child.stdin?.end('go\n');
      return parseResult(child, await finish(child, options.timeoutMs ?? 15_000));
    },
  };
}

// ------------------------------------------------------------ node client

const NODE_CLIENT = String.raw`
const net = require('node:net');
const [host, port, family, nsend, reply] = process.argv.slice(1);
const data = Buffer.alloc(Number(nsend), 'n');
data.writeUInt32BE(Number(reply), 0);
let received = 0;
let ends;
const socket = net.connect({ host, port: Number(port), family: Number(family) }, () => {
  ends = [socket.localAddress, socket.localPort, socket.remoteAddress, socket.remotePort];
  socket.end(data);
});
socket.setTimeout(10000, () => socket.destroy(new Error('timed out')));
socket.on('data', (chunk) => { received += chunk.length; });
socket.on('error', (error) => { console.error(error.message); process.exitCode = 1; });
socket.on('close', (hadError) => {
  if (!hadError) console.log('RESULT', process.pid, data.length, received, ...ends);
});
`;

/** node: net.connect to a name (dns.lookup, so getaddrinfo on a libuv thread), send, half-close, read to EOF. */
export async function nodeClient(options: ClientOptions): Promise<ClientResult> {
  checkSizes(options);
  const args = [options.host, options.port, options.family ?? 0, options.send, options.reply].map(String);
  const child = ManagedProcess.start(process.execPath, ['-e', NODE_CLIENT, ...args], { ns: nsName(options.ns) });
  return parseResult(child, await finish(child, options.timeoutMs ?? 15_000));
}

// ------------------------------------------------------------ curl and http.server

export interface HttpServer {
  port: number;
  /** Size of /file. */
  fileBytes: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** python3 -m http.server serving one file, /file, of `fileBytes` bytes. */
export async function startHttpServer(options: { ns?: Namespace; host: string; port: number; fileBytes: number }): Promise<HttpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-http-'));
  writeFileSync(join(dir, 'file'), Buffer.alloc(options.fileBytes, 'h'));
  const child = ManagedProcess.start(python3(), ['-u', '-m', 'http.server', '--bind', options.host, '--directory', dir, String(options.port)], {
    ns: nsName(options.ns),
  });
  void child.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await child.waitForLine(/^Serving HTTP on /, { stream: 'stdout' }).catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  return {
    port: options.port,
    fileBytes: options.fileBytes,
    process: child,
    stop: async () => {
      await child.stop();
    },
  };
}

/** `curl -s url`: the exact bytes it wrote (request) and read (headers + body), from its own -w counters. */
export async function curlFetch(options: { ns?: Namespace; url: string; timeoutMs?: number }): Promise<ClientResult> {
  const format = 'RESULT %{size_request} %{size_header} %{size_download} %{local_ip} %{local_port} %{remote_ip} %{remote_port}\n';
  const child = ManagedProcess.start(findCommand('curl') ?? 'curl', ['-s', '-o', '/dev/null', '--max-time', '10', '-w', format, options.url], {
    ns: nsName(options.ns),
  });
  const output = await finish(child, options.timeoutMs ?? 15_000);
  const match = /^RESULT (\d+) (\d+) (\d+) (\S+) (\d+) (\S+) (\d+)$/m.exec(output);
  if (!match) throw child.failure('printed no RESULT line');
  return {
    // `ip netns exec` execs the command: the child's pid is curl's.
    pid: child.pid ?? 0,
    bytesSent: Number(match[1]),
    bytesReceived: Number(match[2]) + Number(match[3]),
    localAddress: match[4] ?? '',
    localPort: Number(match[5]),
    remoteAddress: match[6] ?? '',
    remotePort: Number(match[7]),
  };
}
