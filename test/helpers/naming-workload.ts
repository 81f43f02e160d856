/**
 * A naming workload: in a Topology, one client of each kind resolves its own
 * name and talks to the server namespace, and the workload returns the
 * ground truth of what each did, for a test to compare hostflow's records
 * with. Every name points at the same address (the server's IPv4), so a
 * tracer that took a name from the wrong process, or the last name resolved
 * anywhere, shows as a wrong name.
 *
 *   const topo = await Topology.create({ hosts: namingWorkloadHosts });
 *   t.after(() => topo.destroy());
 *   const truth = await runNamingWorkload(topo);
 *   for (const flow of truth.flows) … // flow.pid, flow.name, flow.remoteAddress, flow.remotePort, flow.protocol …
 *
 * The clients, run one after the other:
 *
 * | client                 | resolves with            | then                                      |
 * | ---------------------- | ------------------------ | ----------------------------------------- |
 * | glibc                  | python3 getaddrinfo      | TCP: send, half-close, read to EOF        |
 * | musl                   | musl's getaddrinfo       | TCP, then connected UDP to the echo       |
 * | go                     | Go's own resolver        | TCP, then connected UDP to the echo       |
 * | dig-udp, dig-tcp       | dig (its own query)      | the DNS exchange is the flow              |
 * | python-udp-connected   | python3 getaddrinfo      | connect() + send() to the echo            |
 * | python-udp-unconnected | python3 getaddrinfo      | sendto() to the echo                      |
 * | quic                   | gtlsclient's getaddrinfo | QUIC v1 handshake and one HTTP/3 request  |
 */
import { randomInt } from 'node:crypto';
import type { DnsHost } from './dnsmasq.js';
import type { Topology, TopologyPlan } from './netns.js';
import { findCommand, ManagedProcess } from './process.js';
import { QUIC_PORT, runQuicClient, startQuicServer } from './quic.js';
import { startTcpServer } from './servers.js';
import { type ClientStep, runGoClient, runMuslClient, startGlibcClient, startUdpClient } from './static-clients.js';
import { startUdpEchoServer, type UdpCounts, udpPeerKey } from './udp-server.js';

/** The clients of the workload, in the order they run. */
export const WORKLOAD_CLIENTS = ['glibc', 'musl', 'go', 'dig-udp', 'dig-tcp', 'python-udp-connected', 'python-udp-unconnected', 'quic'] as const;
export type WorkloadClient = (typeof WORKLOAD_CLIENTS)[number];

/** The name each client resolves: `<client>.names.test`. */
export function workloadName(client: WorkloadClient): string {
  return `${client}.names.test`;
}

/**
 * The records of the workload's names, for `Topology.create({ hosts })`:
 * every name one A record, the server's IPv4 (no AAAA, so every resolver's
 * answer, and every client's choice, is that one address).
 */
export function namingWorkloadHosts(plan: TopologyPlan): DnsHost[] {
  return WORKLOAD_CLIENTS.map((client) => ({ name: workloadName(client), ipv4: plan.server.ipv4 }));
}

/** Who sent the client's DNS query. */
export type WorkloadResolver = 'glibc' | 'musl' | 'go' | 'dig';

/**
 * One conversation of one client, as it happened. `protocol` is what the
 * conversation carried: 'tcp' or 'udp' payload to the workload's servers,
 * 'dns' (dig's own query to dnsmasq, over `transport`), or 'quic'.
 */
export interface WorkloadFlow {
  client: WorkloadClient;
  pid: number;
  /** The process's comm (/proc/<pid>/comm of its main thread). */
  comm: string;
  /** The name the client resolved before this conversation. */
  name: string;
  /** The addresses the client's resolver returned for it. */
  addresses: string[];
  resolver: WorkloadResolver;
  protocol: 'tcp' | 'udp' | 'dns' | 'quic';
  transport: 'tcp' | 'udp';
  /** The client's address: for an unconnected UDP socket, the source address the kernel chose (the client's only one). */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Payload bytes (TCP) or datagram payload bytes (UDP) the client sent and received. */
  bytesSent: number;
  bytesReceived: number;
  /** UDP datagrams (0 for TCP). */
  datagramsSent: number;
  datagramsReceived: number;
}

export interface NamingWorkloadOptions {
  /** Bytes each TCP client sends. @default 1000 */
  tcpBytesSent?: number;
  /** Bytes the TCP server sends on each connection. @default 2000 */
  tcpBytesReceived?: number;
  /** Datagrams each UDP client sends, and their size. @default 5 and 100 */
  datagrams?: number;
  datagramBytes?: number;
  /** @default 30000 per client */
  timeoutMs?: number;
}

export interface NamingWorkloadTruth {
  /** Every conversation of every client, in the order they ran. */
  flows: WorkloadFlow[];
  /** The name of each client. */
  names: Record<WorkloadClient, string>;
  /** The address all names point at (the server's IPv4). */
  address: string;
  tcpPort: number;
  udpPort: number;
  quicPort: number;
  /** What the echo server counted, per peer 'address port' (matches the UDP flows exactly). */
  echoCounts: UdpCounts;
}

/** Run every client once against servers it starts in `topology.server`; the servers are stopped before it returns. */
export async function runNamingWorkload(topology: Topology, options: NamingWorkloadOptions = {}): Promise<NamingWorkloadTruth> {
  const { tcpBytesSent = 1000, tcpBytesReceived = 2000, datagrams = 5, datagramBytes = 100, timeoutMs = 30_000 } = options;
  const { server, client: clientEnd } = topology;
  const address = server.ipv4;
  const names = Object.fromEntries(WORKLOAD_CLIENTS.map((client) => [client, workloadName(client)])) as Record<WorkloadClient, string>;

  const tcp = await startTcpServer({ ns: server, host: address, bytes: tcpBytesReceived });
  const echo = await startUdpEchoServer({ ns: server, host: address });
  const quic = await startQuicServer({ ns: server, host: address, port: QUIC_PORT, certName: names.quic });
  const flows: WorkloadFlow[] = [];
  try {
    const fromStep = (client: WorkloadClient, resolver: WorkloadResolver, step: ClientStep, name: string): WorkloadFlow => {
      const transport = step.step === 'tcp' ? 'tcp' : 'udp';
      return {
        client,
        pid: step.pid,
        comm: step.comm,
        name,
        addresses: step.addresses ?? [],
        resolver,
        protocol: transport,
        transport,
        // An unconnected socket is bound to 0.0.0.0; its datagrams leave from the client's only address.
        localAddress: step.localAddress === '0.0.0.0' ? clientEnd.ipv4 : (step.localAddress ?? ''),
        localPort: step.localPort ?? 0,
        remoteAddress: step.remoteAddress ?? '',
        remotePort: step.remotePort ?? 0,
        bytesSent: step.bytesSent,
        bytesReceived: step.bytesReceived,
        datagramsSent: step.datagramsSent,
        datagramsReceived: step.datagramsReceived,
      };
    };
    const payloadSteps = (steps: ClientStep[]): ClientStep[] => steps.filter((step) => step.step === 'tcp' || step.step.startsWith('udp'));

    // glibc: python3's getaddrinfo, then TCP.
    const glibc = await startGlibcClient({ ns: clientEnd, name: names.glibc, port: tcp.port, bytes: tcpBytesSent, timeoutMs }).finished;
    for (const step of payloadSteps(glibc.steps)) flows.push(fromStep('glibc', 'glibc', step, names.glibc));

    // musl: its own resolver, then TCP and connected UDP.
    const musl = await runMuslClient({
      ns: clientEnd,
      name: names.musl,
      tcpPort: tcp.port,
      tcpBytes: tcpBytesSent,
      udpPort: echo.port,
      datagrams,
      datagramBytes,
      timeoutMs,
    });
    const muslAddresses = musl.steps.find((step) => step.step === 'resolve')?.addresses ?? [];
    for (const step of payloadSteps(musl.steps)) flows.push({ ...fromStep('musl', 'musl', step, names.musl), addresses: muslAddresses });

    // Go: its own resolver (each step resolves the name again), TCP and connected UDP.
    const go = await runGoClient({
      ns: clientEnd,
      steps: ['tcp', `${names.go}:${tcp.port}`, 'send', String(tcpBytesSent), 'udp', `${names.go}:${echo.port}`, 'send', `${datagrams}x${datagramBytes}`],
      timeoutMs,
    });
    for (const step of payloadSteps(go.steps)) flows.push(fromStep('go', 'go', step, names.go));

    // dig over UDP and TCP, from a fixed source port so the truth has it.
    for (const [client, transport] of [
      ['dig-udp', 'udp'],
      ['dig-tcp', 'tcp'],
    ] as const) {
      flows.push(await runDig(topology, client, transport, names[client], timeoutMs));
    }

    // python3 UDP, connected and unconnected, resolving with glibc.
    for (const [client, mode] of [
      ['python-udp-connected', 'connected'],
      ['python-udp-unconnected', 'unconnected'],
    ] as const) {
      const run = await startUdpClient({ ns: clientEnd, mode, host: names[client], port: echo.port, datagrams, datagramBytes, timeoutMs }).finished;
      for (const step of payloadSteps(run.steps)) flows.push(fromStep(client, 'glibc', step, names[client]));
    }

    // QUIC: gtlsclient resolves its name with getaddrinfo and sends it as SNI.
    const handshake = await runQuicClient({ ns: clientEnd, host: names.quic, port: quic.port, timeoutMs });
    flows.push({
      client: 'quic',
      pid: handshake.pid,
      comm: handshake.comm,
      name: names.quic,
      addresses: [handshake.remoteAddress],
      resolver: 'glibc',
      protocol: 'quic',
      transport: 'udp',
      localAddress: handshake.localAddress,
      localPort: handshake.localPort,
      remoteAddress: handshake.remoteAddress,
      remotePort: handshake.remotePort,
      bytesSent: handshake.bytesSent,
      bytesReceived: handshake.bytesReceived,
      datagramsSent: handshake.datagramsSent,
      datagramsReceived: handshake.datagramsReceived,
    });

    const echoCounts = await echo.counts();
    checkEchoCounts(flows, echoCounts);
    return { flows, names, address, tcpPort: tcp.port, udpPort: echo.port, quicPort: quic.port, echoCounts };
  } finally {
    await Promise.all([tcp.stop(), echo.stop(), quic.stop()]);
  }
}

/** The UDP clients' own counts must be the echo server's, mirrored; anything else is a broken fixture, not a finding. */
function checkEchoCounts(flows: readonly WorkloadFlow[], counts: UdpCounts): void {
  for (const flow of flows) {
    if (flow.protocol !== 'udp') continue;
    const peer = counts[udpPeerKey(flow.localAddress, flow.localPort)];
    const mirrored =
      peer !== undefined &&
      peer.datagramsReceived === flow.datagramsSent &&
      peer.bytesReceived === flow.bytesSent &&
      peer.datagramsSent === flow.datagramsReceived &&
      peer.bytesSent === flow.bytesReceived;
    if (!mirrored) {
      throw new Error(
        `the echo server's counts for ${flow.client} (${udpPeerKey(flow.localAddress, flow.localPort)}) are ${JSON.stringify(peer)}, the client's ${JSON.stringify(flow)}`,
      );
    }
  }
}

/** dig's answer to one query: the DNS exchange itself is the flow (remote port 53). */
async function runDig(topology: Topology, client: WorkloadClient, transport: 'udp' | 'tcp', name: string, timeoutMs: number): Promise<WorkloadFlow> {
  const { server, client: clientEnd } = topology;
  // A source port of our choosing, outside the ephemeral range (32768-60999), so the truth has it.
  const localPort = randomInt(20_000, 30_000);
  const args = [`@${server.ipv4}`, '-b', `${clientEnd.ipv4}#${localPort}`, '+time=2', '+tries=1', '+qr', ...(transport === 'tcp' ? ['+tcp'] : []), name, 'A'];
  const dig = ManagedProcess.start(findCommand('dig') ?? 'dig', args, { ns: clientEnd.ns });
  const timer = setTimeout(() => dig.child.kill('SIGKILL'), timeoutMs);
  const status = await dig.exited;
  clearTimeout(timer);
  const output = dig.output(500);
  const addresses = [...output.matchAll(/^\S+\s+\d+\s+IN\s+A\s+(\S+)$/gm)].map((match) => match[1] ?? '');
  const querySize = /^;; QUERY SIZE: (\d+)$/m.exec(output);
  const answerSize = /^;; MSG SIZE\s+rcvd: (\d+)$/m.exec(output);
  if (status.code !== 0 || addresses.length === 0 || !querySize || !answerSize) throw dig.failure(`did not resolve ${name}`);
  // DNS over TCP puts a 2-byte length before each message.
  const framing = transport === 'tcp' ? 2 : 0;
  return {
    client,
    pid: dig.pid ?? 0,
    comm: 'dig',
    name,
    addresses,
    resolver: 'dig',
    protocol: 'dns',
    transport,
    localAddress: clientEnd.ipv4,
    localPort,
    remoteAddress: server.ipv4,
    remotePort: 53,
    bytesSent: Number(querySize[1]) + framing,
    bytesReceived: Number(answerSize[1]) + framing,
    datagramsSent: transport === 'udp' ? 1 : 0,
    datagramsReceived: transport === 'udp' ? 1 : 0,
  };
}
