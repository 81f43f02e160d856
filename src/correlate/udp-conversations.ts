/**
 * UDP conversations from successive reads of the kernel's `udp_convs`
 * table: an entry seen for the first time opens a conversation; one ends
 * when its socket was released (a udpClose event), when it saw no datagram
 * for the idle time, when the kernel's LRU pushed it out, or when the run
 * stops. Ended conversations are handed back so that their kernel entries
 * are deleted: a datagram after that starts a new conversation. Pure.
 */
import type { UdpConversationEntry } from '../kernel/udp-convs.js';
import type { UdpEndReason } from '../records/types.js';

export interface EndedConversation {
  entry: UdpConversationEntry;
  reason: UdpEndReason;
}

export interface ConversationChanges {
  opened: UdpConversationEntry[];
  ended: EndedConversation[];
}

export function conversationKey(entry: Pick<UdpConversationEntry, 'socket' | 'family' | 'raddr' | 'rport'>): string {
  return `${entry.socket}|${entry.family}|${entry.raddr}|${entry.rport}`;
}

export class UdpConversations {
  /** Conversations the kernel's table pushed out before they ended (their last datagrams uncounted). */
  evicted = 0;
  private live = new Map<string, UdpConversationEntry>();
  /** Sockets released since the last read, by cookie. */
  private readonly released = new Set<string>();

  constructor(private readonly idleNs: number) {}

  get size(): number {
    return this.live.size;
  }

  /** A socket with conversations was released: they end at the next read, with its final counts. */
  socketClosed(socket: string): void {
    this.released.add(socket);
  }

  /** Applies one read of the table, taken at `nowNs` (kernel monotonic). */
  apply(snapshot: readonly UdpConversationEntry[], nowNs: number): ConversationChanges {
    const opened: UdpConversationEntry[] = [];
    const ended: EndedConversation[] = [];
    const next = new Map<string, UdpConversationEntry>();
    const seen = new Set<string>();
    for (const entry of snapshot) {
      const key = conversationKey(entry);
      seen.add(key);
      const before = this.live.get(key);
      const fresh = !before || before.firstNs !== entry.firstNs;
      // Pushed out and created again between two reads: the first one's last datagrams are lost.
      if (before && fresh) this.pushedOut(before, ended);
      if (fresh) opened.push(entry);
      if (this.released.has(entry.socket)) ended.push({ entry, reason: 'close' });
      else if (entry.lastNs + this.idleNs <= nowNs) ended.push({ entry, reason: 'idle' });
      else next.set(key, entry);
    }
    // Gone from the table without being ended here: the kernel's LRU pushed it out.
    for (const [key, entry] of this.live) if (!seen.has(key)) this.pushedOut(entry, ended);
    this.released.clear();
    this.live = next;
    return { opened, ended };
  }

  private pushedOut(entry: UdpConversationEntry, ended: EndedConversation[]): void {
    this.evicted++;
    ended.push({ entry, reason: this.released.has(entry.socket) ? 'close' : 'idle' });
  }

  /** The run stops: every live conversation ends. */
  finish(): EndedConversation[] {
    const ended = [...this.live.values()].map((entry) => ({ entry, reason: 'stop' as const }));
    this.live.clear();
    return ended;
  }
}
