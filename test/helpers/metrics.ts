/**
 * For the metrics tests: records built field by field, an exposition text
 * read back into samples by a parser of its own (not prom-client's), and
 * promtool's verdict on a text.
 */
import { spawnSync } from 'node:child_process';
import type { ConnRecord, DnsRecord, UdpRecord } from '../../src/records/types.js';

const processFields = { pid: 100, ppid: 1, exe: null, cmdline: null, uid: 0, container_id: null, container_runtime: null };

export function connRecord(fields: Partial<ConnRecord> = {}): ConnRecord {
  return {
    type: 'conn',
    event: 'open',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'curl',
    family: 4,
    saddr: '10.0.0.2',
    sport: 40000,
    daddr: '10.0.0.1',
    dport: 443,
    direction: 'out',
    host: 'api.example.com',
    host_source: 'process',
    unresolved: null,
    probe: 'tracepoint',
    connect_latency_ms: 0.5,
    duration_ms: null,
    bytes_sent: null,
    bytes_received: null,
    retransmits: null,
    established: null,
    ...fields,
  };
}

/** The close of `open` with these byte counts. */
export function closeOf(open: ConnRecord, bytesSent: number, bytesReceived: number, fields: Partial<ConnRecord> = {}): ConnRecord {
  return { ...open, event: 'close', duration_ms: 10, bytes_sent: bytesSent, bytes_received: bytesReceived, retransmits: 0, established: true, ...fields };
}

export function dnsRecord(fields: Partial<DnsRecord> = {}): DnsRecord {
  return {
    type: 'dns',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'curl',
    tid: 100,
    host: 'api.example.com',
    cnames: null,
    addrs: ['10.0.0.1'],
    ttl: null,
    latency_ms: 1.5,
    source: 'getaddrinfo',
    status: '0',
    iface: null,
    server: null,
    ...fields,
  };
}

export function udpRecord(fields: Partial<UdpRecord> = {}): UdpRecord {
  return {
    type: 'udp',
    event: 'open',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'ntpd',
    family: 4,
    saddr: '10.0.0.2',
    sport: 50000,
    daddr: '10.0.0.1',
    dport: 123,
    host: 'ntp.example.com',
    host_source: 'process',
    unresolved: null,
    iface: null,
    first_seen: '2026-01-01T10:00:00.000000Z',
    last_seen: null,
    packets_sent: null,
    bytes_sent: null,
    packets_received: null,
    bytes_received: null,
    end_reason: null,
    ...fields,
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (format 0.0.4), label values unescaped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`not a sample: ${line}`);
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
        if (!label?.[1]) throw new Error(`bad label at ${at}: ${line}`);
        at += label[0].length;
        let value = '';
        for (; line[at] !== '"'; at++) {
          if (at >= line.length) throw new Error(`unterminated label value: ${line}`);
          if (line[at] === '\\') {
            at++;
            const escaped = line[at];
            value += escaped === 'n' ? '\n' : escaped;
          } else value += line[at];
        }
        labels[label[1]] = value;
        at++;
        if (line[at] === ',') at++;
      }
      at++;
    }
    samples.push({ name, labels, value: Number(line.slice(at).trim()) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}

/** `promtool check metrics` on the text: its exit code and what it said. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool did not run (scripts/setup.sh installs it with the prometheus package): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
