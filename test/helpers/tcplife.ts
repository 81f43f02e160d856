/**
 * libbpf-tools `tcplife` as an independent reference: started, waited for
 * until attached (it prints its header only after attaching), its rows
 * parsed, stopped with SIGINT.
 *
 * Row format (`-w`, libbpf-tools tcplife.c): PID COMM LADDR LPORT RADDR
 * RPORT TX_KB RX_KB MS, where TX_KB / RX_KB are `(double)bytes / 1024`
 * printed with `%.2f`, the bytes being the kernel's `tcp_sock.bytes_acked`
 * and `bytes_received` read when the socket reaches TCP_CLOSE.
 */
import { findCommand, ManagedProcess } from './process.js';

/** Names the tool has in the distributions we know. */
const NAMES = ['tcplife', 'libbpf-tools-tcplife', 'tcplife-bpfcc'];

/** The tcplife executable, or undefined. */
export function findTcplife(): string | undefined {
  for (const name of NAMES) {
    const path = findCommand(name);
    if (path !== undefined) return path;
  }
  return undefined;
}

export interface TcplifeRow {
  pid: number;
  comm: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** As printed: KiB with two decimals. */
  txKb: string;
  rxKb: string;
  ms: number;
}

/** Pure: one output row, or null for the header and anything else. */
export function parseTcplifeRow(line: string): TcplifeRow | null {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length < 9 || !/^\d+$/.test(tokens[0] ?? '')) return null;
  const tail = tokens.slice(-7);
  const [laddr, lport, raddr, rport, tx, rx, ms] = tail as [string, string, string, string, string, string, string];
  if (!/^\d+$/.test(lport) || !/^\d+$/.test(rport) || !/^\d+\.\d\d$/.test(tx) || !/^\d+\.\d\d$/.test(rx)) return null;
  return {
    pid: Number(tokens[0]),
    // COMM may hold spaces: it is whatever lies between PID and LADDR.
    comm: tokens.slice(1, -7).join(' '),
    localAddress: laddr,
    localPort: Number(lport),
    remoteAddress: raddr,
    remotePort: Number(rport),
    txKb: tx,
    rxKb: rx,
    ms: Number(ms),
  };
}

/** Pure: `bytes` as tcplife prints it (bytes / 1024, two decimals). */
export function tcplifeKb(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}

export interface RunningTcplife {
  process: ManagedProcess;
  /** Rows printed so far. */
  rows(): TcplifeRow[];
  /** Resolves once `done(rows)` holds, or rejects after timeoutMs. */
  waitFor(done: (rows: TcplifeRow[]) => boolean, timeoutMs?: number): Promise<TcplifeRow[]>;
  /** SIGINT, then every row it printed. */
  stop(): Promise<TcplifeRow[]>;
}

/**
 * Start `tcplife -w` in the test's own (root) namespace: its tracepoint sees
 * every namespace. stdout is a pipe, so it runs under `stdbuf -oL` to print
 * each row when it happens (and the header as soon as it is attached).
 */
export async function startTcplife(args: readonly string[] = []): Promise<RunningTcplife> {
  const tcplife = findTcplife();
  if (tcplife === undefined) throw new Error(`tcplife not found (looked for ${NAMES.join(', ')})`);
  const stdbuf = findCommand('stdbuf');
  const [cmd, argv] = stdbuf ? [stdbuf, ['-oL', tcplife, '-w', ...args]] : [tcplife, ['-w', ...args]];
  const child = ManagedProcess.start(cmd, argv);
  const rows: TcplifeRow[] = [];
  const waiters = new Set<() => void>();
  child.onLine((line, stream) => {
    if (stream !== 'stdout') return;
    const row = parseTcplifeRow(line);
    if (!row) return;
    rows.push(row);
    for (const waiter of waiters) waiter();
  });
  await child
    .waitForLine(/^PID\s+COMM\s+LADDR\s+LPORT\s+RADDR\s+RPORT\s+TX_KB\s+RX_KB\s+MS/, { stream: 'stdout', timeoutMs: 20_000 })
    .catch(async (error: unknown) => {
      await child.stop({ signal: 'SIGKILL' });
      throw error;
    });
  return {
    process: child,
    rows: () => [...rows],
    waitFor: (done, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done(rows)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...rows]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(child.failure(`timed out after ${timeoutMs} ms waiting for rows; rows so far: ${JSON.stringify(rows)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: async () => {
      await child.stop({ signal: 'SIGINT', timeoutMs: 5000 });
      return [...rows];
    },
  };
}
