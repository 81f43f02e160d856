/**
 * A UDP echo server in a namespace (test/fixtures/udp-echo-server.py) that
 * counts exactly, per peer: every datagram is echoed to its sender and
 * counted, so a test can compare a tracer's UDP record with the truth.
 *
 *   const echo = await startUdpEchoServer({ ns: topo.server, host: topo.server.ipv4 });
 *   t.after(() => echo.stop());
 *   … clients send …
 *   const counts = await echo.counts(); // { '10.213.7.2 40312': { datagramsReceived: 5, … } }
 */
import type { Namespace } from './netns.js';
import { ManagedProcess, python3 } from './process.js';
import { UDP_ECHO_SERVER_SCRIPT } from './static-clients.js';

/** What the server exchanged with one peer (its address and port). */
export interface UdpPeerCounts {
  datagramsReceived: number;
  bytesReceived: number;
  datagramsSent: number;
  bytesSent: number;
}

/** Counts per peer, keyed by `udpPeerKey(address, port)`. */
export type UdpCounts = Record<string, UdpPeerCounts>;

/** The key of a peer in UdpCounts: 'address port'. */
export function udpPeerKey(address: string, port: number): string {
  return `${address} ${port}`;
}

export interface UdpEchoServerOptions {
  ns?: Namespace;
  /** Address to bind (IPv4 or IPv6 literal). */
  host: string;
  /** @default 0, a free port */
  port?: number;
  /** Echo each datagram back. @default true */
  echo?: boolean;
  /** @default 10000 */
  readyTimeoutMs?: number;
}

export interface UdpEchoServer {
  host: string;
  port: number;
  /** The server's pid (python3 itself: `ip netns exec` execs in place). */
  pid: number;
  process: ManagedProcess;
  /** The counts so far, per peer. */
  counts(timeoutMs?: number): Promise<UdpCounts>;
  /** Stop the server; resolves with its final counts. */
  stop(): Promise<UdpCounts>;
}

const COUNTS_LINE = /^COUNTS (.*)$/;

/** Start the echo server; resolves once it is bound. */
export async function startUdpEchoServer(options: UdpEchoServerOptions): Promise<UdpEchoServer> {
  const { host, port = 0, echo = true, readyTimeoutMs = 10_000 } = options;
  const ns = options.ns === undefined || typeof options.ns === 'string' ? options.ns : options.ns.ns;
  const args = [UDP_ECHO_SERVER_SCRIPT, host, String(port), ...(echo ? [] : ['--no-echo'])];
  const child = ManagedProcess.start(python3(), args, { ns, stdin: true });
  const ready = await child.waitForLine(/^READY (\d+) (\d+)$/, { stream: 'stdout', timeoutMs: readyTimeoutMs }).catch(async (error: unknown) => {
    await child.stop({ signal: 'SIGKILL' });
    throw error;
  });
  let last: UdpCounts = {};
  // Each request is answered by the next COUNTS line; requests are serialised.
  let queue: Promise<unknown> = Promise.resolve();
  const nextCounts = (timeoutMs: number): Promise<UdpCounts> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(child.failure(`did not report its counts within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = child.onLine((line, stream) => {
        const match = stream === 'stdout' ? COUNTS_LINE.exec(line) : null;
        if (!match) return;
        clearTimeout(timer);
        unsubscribe();
        last = JSON.parse(match[1] ?? '{}') as UdpCounts;
        resolve(last);
      });
      void child.exited.then(() => {
        clearTimeout(timer);
        unsubscribe();
        reject(child.failure('exited before reporting its counts'));
      });
    });
  const counts = (timeoutMs = 5000): Promise<UdpCounts> => {
    const request = queue.then(() => {
      if (!child.running) return last;
      const answer = nextCounts(timeoutMs);
      child.child.stdin?.write('counts\n');
      return answer;
    });
    queue = request.catch(() => undefined);
    return request;
  };
  return {
    host,
    port: Number(ready[2]),
    pid: Number(ready[1]),
    process: child,
    counts,
    stop: async () => {
      if (child.running) {
        // EOF on stdin: the server prints its final counts and exits.
        const final = nextCounts(5000).catch(() => last);
        child.child.stdin?.end();
        last = await final;
        await child.stop({ timeoutMs: 2000 });
      }
      return last;
    },
  };
}
