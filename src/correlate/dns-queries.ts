/**
 * DNS queries seen leaving a local socket, waiting for their response:
 * a response on the same socket with the same id and question ends the
 * wait (and gives the lookup its latency); a query still waiting after the
 * DNS timeout becomes a `TIMEOUT` lookup of its process. Bounded: a flood
 * of queries that are never answered pushes the oldest out, counted.
 * Time is the kernel's (events arrive in timestamp order).
 */
import type { Task, Tuple } from '../kernel/decode.js';

export interface PendingQuery {
  tsNs: number;
  task: Task;
  socket: string;
  /** As on the wire: saddr/sport the local end, daddr/dport the resolver. */
  tuple: Tuple;
  ifindex: number;
  netns: string | null;
  id: number;
  host: string;
  qtype: string;
  transport: 'udp' | 'tcp';
}

export interface PendingQueriesOptions {
  /** How long a query waits for its response. */
  timeoutNs: number;
  /** Queries kept waiting at most. @default 16384 */
  maxEntries?: number;
}

export class PendingQueries {
  /** Queries pushed out by the bound before their response or timeout. */
  evicted = 0;
  /** The same query sent again on the same socket while the first waited (a retry): the first one's time is kept. */
  retries = 0;
  // Insertion order is time order: the oldest is first.
  private readonly waiting = new Map<string, PendingQuery>();
  private readonly maxEntries: number;

  constructor(private readonly options: PendingQueriesOptions) {
    this.maxEntries = options.maxEntries ?? 16_384;
  }

  get size(): number {
    return this.waiting.size;
  }

  get capacity(): number {
    return this.maxEntries;
  }

  add(query: PendingQuery): void {
    const key = keyOf(query.socket, query.id, query.host, query.qtype);
    if (this.waiting.has(key)) {
      this.retries++;
      return;
    }
    this.waiting.set(key, query);
    if (this.waiting.size > this.maxEntries) {
      this.waiting.delete(this.waiting.keys().next().value as string);
      this.evicted++;
    }
  }

  /** The query a response on `socket` answers, no longer waiting; undefined when none waits. */
  answer(socket: string, id: number, host: string, qtype: string): PendingQuery | undefined {
    const key = keyOf(socket, id, host, qtype);
    const query = this.waiting.get(key);
    if (query) this.waiting.delete(key);
    return query;
  }

  /** Queries that waited the whole timeout by `nowNs`, oldest first, no longer waiting. */
  expire(nowNs: number): PendingQuery[] {
    const expired: PendingQuery[] = [];
    for (const [key, query] of this.waiting) {
      if (query.tsNs + this.options.timeoutNs > nowNs) break;
      this.waiting.delete(key);
      expired.push(query);
    }
    return expired;
  }
}

function keyOf(socket: string, id: number, host: string, qtype: string): string {
  return `${socket}|${id}|${qtype}|${host}`;
}
