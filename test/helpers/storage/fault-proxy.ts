/**
 * A fault-injecting HTTP proxy in front of an S3-protocol server, on
 * loopback: the storage tests point hostflow at it to meet throttling and
 * a flaky network. Each request it picks for faults (by default every
 * upload of a batch: PUT and POST, the preflight's probe excepted) takes
 * the next fault of a fixed schedule, a list or a seeded random one, so a
 * run is the same every time:
 *
 *   slowdown        503 with S3's SlowDown error; nothing reaches the server
 *   error500        500 InternalError; nothing reaches the server
 *   reset-request   reads part of the request body, then cuts the connection
 *   reset-response  forwards the whole request (the server stores the
 *                   object), sends part of the answer, then cuts: the client
 *                   cannot know its upload worked
 *   delay           waits `delayMs`, then forwards
 *   pass            forwards
 *
 * Every request is logged with the time it came and the fault it met.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Fault = 'slowdown' | 'error500' | 'reset-request' | 'reset-response' | 'delay' | 'pass';

export interface ProxyLogEntry {
  method: string;
  url: string;
  fault: Fault;
  /** ms since the proxy started, when its headers came. */
  at: number;
  /** ms since the proxy started, when the proxy answered or cut (null while on its way). */
  answeredAt: number | null;
}

export interface FaultProxyOptions {
  /** The server's port on 127.0.0.1. */
  upstreamPort: number;
  /** The faults, in order, for the requests they apply to; after them, `pass`. Or a function of the request's number (0, 1, ...). */
  schedule: readonly Fault[] | ((index: number) => Fault);
  /** Which requests take a fault. @default uploads: PUT and POST, not the preflight's probe */
  applies?: (request: IncomingMessage) => boolean;
  /** How long `delay` waits. @default 300 */
  delayMs?: number;
}

const defaultApplies = (request: IncomingMessage) => (request.method === 'PUT' || request.method === 'POST') && !(request.url ?? '').includes('/_hostflow/');

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

/** A small deterministic generator (mulberry32): the same seed gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` faults drawn by weight from a seeded generator, then `pass` (the list is fixed by the seed). */
export function randomSchedule(seed: number, count: number, weights: Partial<Record<Fault, number>>): Fault[] {
  const random = seededRandom(seed);
  const entries = Object.entries(weights) as [Fault, number][];
  const sum = entries.reduce((total, [, weight]) => total + weight, 0);
  return Array.from({ length: count }, () => {
    let pick = random() * sum;
    for (const [fault, weight] of entries) {
      pick -= weight;
      if (pick < 0) return fault;
    }
    return entries[entries.length - 1]?.[0] ?? 'pass';
  });
}

export class FaultProxy {
  readonly log: ProxyLogEntry[] = [];
  private readonly started = Date.now();
  private index = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: FaultProxyOptions,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts on a free loopback port; `t.after` closes it. */
  static async start(t: { after(fn: () => Promise<void>): void }, options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new FaultProxy(server, typeof address === 'object' && address ? address.port : 0, options);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => proxy.handle(request, response));
    t.after(() => proxy.close());
    return proxy;
  }

  /** The faults met so far, by kind. */
  counts(): Record<Fault, number> {
    const counts: Record<Fault, number> = { slowdown: 0, error500: 0, 'reset-request': 0, 'reset-response': 0, delay: 0, pass: 0 };
    for (const entry of this.log) counts[entry.fault]++;
    return counts;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private nextFault(request: IncomingMessage): Fault {
    if (!(this.options.applies ?? defaultApplies)(request)) return 'pass';
    const { schedule } = this.options;
    const index = this.index++;
    return typeof schedule === 'function' ? schedule(index) : (schedule[index] ?? 'pass');
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const fault = this.nextFault(request);
    const entry: ProxyLogEntry = { method: request.method ?? '', url: request.url ?? '', fault, at: Date.now() - this.started, answeredAt: null };
    this.log.push(entry);
    const answered = () => (entry.answeredAt ??= Date.now() - this.started);
    switch (fault) {
      case 'slowdown':
      case 'error500': {
        const [status, body] =
          fault === 'slowdown'
            ? [503, s3Error('SlowDown', 'Please reduce your request rate.')]
            : [500, s3Error('InternalError', 'We encountered an internal error. Please try again.')];
        // The body is read to its end first, as S3 does, so the connection stays usable.
        request.resume();
        request.once('end', () => {
          answered();
          response.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
          response.end(body);
        });
        return;
      }
      case 'reset-request': {
        let seen = 0;
        const cut = () => {
          answered();
          request.socket.destroy();
        };
        request.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 0) cut();
        });
        // A request without a body is cut once its headers came.
        request.once('end', cut);
        return;
      }
      case 'delay':
        setTimeout(() => this.forward(request, response, entry, false), this.options.delayMs ?? 300);
        return;
      case 'reset-response':
        this.forward(request, response, entry, true);
        return;
      case 'pass':
        this.forward(request, response, entry, false);
    }
  }

  private forward(request: IncomingMessage, response: ServerResponse, entry: ProxyLogEntry, cutAnswer: boolean): void {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: this.options.upstreamPort, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        if (cutAnswer) {
          // The server has the object; the client gets half a status line's worth of answer and a cut connection.
          answer.resume();
          answer.once('end', () => {
            entry.answeredAt = Date.now() - this.started;
            response.socket?.write(`HTTP/1.1 ${answer.statusCode ?? 200} OK\r\nx-amz-request-`);
            response.socket?.destroy();
          });
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        answer.once('end', () => (entry.answeredAt ??= Date.now() - this.started));
      },
    );
    upstream.once('error', () => {
      entry.answeredAt ??= Date.now() - this.started;
      response.socket?.destroy();
    });
    request.pipe(upstream);
  }
}
