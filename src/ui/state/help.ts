/** The `?` screen: keys, filter syntax, and what the less obvious columns mean. */
import { sanitize } from '../../format/sanitize.js';
import { seg, type Line } from './frame.js';

const KEYS: Array<[string, string]> = [
  ['Tab / 1-4', 'switch view: Hosts, Connections, Flows, DNS (Shift-Tab back)'],
  ['↑ ↓  j k', 'move; PgUp PgDn a page; Home End (g G) first, last'],
  ['Enter', 'details of the row (a host lists its connections); Esc back'],
  ['/', 'filter; Enter keeps it, Esc drops the edit; Esc again clears it'],
  ['s  S', 'next sort column; reverse the order'],
  ['p', 'pause the screen (records keep being collected)'],
  ['c', 'clear every table'],
  ['q  Ctrl-C', 'quit: every sink is flushed, a summary goes to stderr'],
];

const NOTES: string[] = [
  'filter: all words must match; a word matches name, process, address, port',
  '  or pid; narrow it: host:api proc:curl addr:10.0. port:443 pid:42; !x: not',
  'Hosts: IN, OUT = TCP payload of closed connections; RATE = wire bytes/s',
  '  over the last flow interval',
  'Connections: live, and closed in the last minute (bytes come at close)',
  'Flows: XDP/TC counters of the last interval per 5-tuple, top talkers',
  'LOST EVENTS: the kernel dropped events (ring full); tables miss some',
];

/** The keys, then the XDP mode of each interface and why ('eth0: generic (native refused by virtio_net: ...)'), then the notes. */
export function helpLines(xdp: readonly string[] = []): Line[] {
  const lines: Line[] = [[seg('keys', 'title')], ...KEYS.map(([keys, what]): Line => [seg(`  ${keys.padEnd(12)}`, 'key'), seg(what)]), []];
  if (xdp.length > 0) {
    lines.push([seg('XDP on each interface', 'title')], ...xdp.map((line): Line => [seg(`  ${sanitize(line)}`)]));
    lines.push([seg('  generic mode counts ingress after GRO: merged TCP segments count as one packet', 'dim')], []);
  }
  lines.push(...NOTES.map((note): Line => [seg(`  ${note}`, 'dim')]));
  return lines;
}
