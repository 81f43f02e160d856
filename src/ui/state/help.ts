/** The `?` screen: the keymap's lines, filter syntax, and what the less obvious columns mean. */
import { sanitize } from '../../format/sanitize.js';
import { seg, type Line } from './frame.js';
import { KEYMAP } from './keymap.js';

/** The keys column of the help screen, and what each binding does. */
const KEY_LINES = KEYMAP.flatMap(({ help }) => (help ? [help] : []));

const NOTES: string[] = [
  'filter: all words must match; a word matches name, process, address, port,',
  '  pid, protocol or status; narrow it: host:api proc:curl addr:10.0. port:443',
  '  pid:42 proto:udp status:nxdomain status:failed (any failed lookup); !x: not',
  'Hosts: IN, OUT = payload of closed connections and UDP conversations;',
  '  RATE = wire bytes/s over the last flow interval',
  'Connections: TCP connections and UDP conversations (PROTO), live and',
  '  closed in the last minute (bytes come at close)',
  'Flows: XDP/TC counters of the last interval per 5-tuple, top talkers',
  'DNS: FAILS = failed lookups (NXDOMAIN, SERVFAIL, TIMEOUT, EAI_*) of the',
  "  row's process since start; s to 'process failures' puts the worst first",
  'LOST EVENTS: the kernel dropped events (ring full); tables miss some',
];

/** The keys, then the XDP mode of each interface and why ('eth0: generic (native refused by virtio_net: ...)'), then the notes. */
export function helpLines(xdp: readonly string[] = []): Line[] {
  const lines: Line[] = [
    [seg('keys', 'title'), seg('  (Esc, ? or Enter closes this screen)', 'dim')],
    ...KEY_LINES.map(([keys, what]): Line => [seg(`  ${keys.padEnd(12)}`, 'key'), seg(what)]),
    [],
  ];
  if (xdp.length > 0) {
    lines.push([seg('XDP on each interface', 'title')], ...xdp.map((line): Line => [seg(`  ${sanitize(line)}`)]));
    lines.push([seg('  generic mode counts ingress after GRO: merged TCP segments count as one packet', 'dim')], []);
  }
  lines.push(...NOTES.map((note): Line => [seg(`  ${note}`, 'dim')]));
  return lines;
}
