/**
 * Test clients that resolve names without glibc, and the python3 clients
 * that resolve with it, from test/fixtures/:
 *
 * - go-client: statically linked Go (CGO_ENABLED=0, -tags netgo), whose own
 *   resolver reads /etc/resolv.conf and sends the DNS queries itself;
 * - musl-client: statically linked with musl-gcc, whose getaddrinfo() is
 *   musl's own (no glibc, so no uprobe on glibc's resolver fires);
 * - udp-client.py and glibc-client.py: python3, resolving through glibc.
 *
 * The binaries are built once per source into build/test/<source hash>/
 * under their own names (so their comm is 'go-client' and 'musl-client'), so an edit rebuilds and an unchanged source
 * is reused across runs), offline: Go builds one file with GO111MODULE=off
 * and its caches under build/test/go/.
 *
 *   const goClient = await buildGoClient();
 *   const { results } = await runGoClient({ ns: topo.client, steps: ['resolve', 'alpha.test', 'tcp', 'alpha.test:8080', 'send', '100'] });
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import type { Namespace } from './netns.js';
import { findCommand, ManagedProcess, python3, run } from './process.js';

/** test/fixtures/ of the repository. */
export const FIXTURES_DIR = join(packageRoot(), 'test', 'fixtures');
/** Where the built clients go (and Go's caches). */
export const STATIC_BUILD_DIR = join(packageRoot(), 'build', 'test');

/** The python3 scripts, run with `python3()`. */
export const UDP_CLIENT_SCRIPT = join(FIXTURES_DIR, 'udp-client.py');
export const GLIBC_CLIENT_SCRIPT = join(FIXTURES_DIR, 'glibc-client.py');
export const UDP_ECHO_SERVER_SCRIPT = join(FIXTURES_DIR, 'udp-echo-server.py');

/**
 * One step of a client, as the client printed it (one JSON line). Counts are
 * payload bytes and datagrams, exactly as the client's system calls returned
 * them; `name` and `addresses` are there when the step resolved a name.
 */
export interface ClientStep {
  step: 'resolve' | 'sleep-until-file' | 'tcp' | 'udp' | 'udp-unconnected';
  pid: number;
  /** /proc/self/comm of the client. */
  comm: string;
  name?: string;
  addresses?: string[];
  /** An unconnected UDP socket reports 0.0.0.0 here (it is bound to no address). */
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  bytesSent: number;
  bytesReceived: number;
  datagramsSent: number;
  datagramsReceived: number;
  /** sleep-until-file: the file waited for. */
  path?: string;
}

const builds = new Map<string, Promise<string>>();

/** Build once per process and per source hash; concurrent callers share the build. */
function buildOnce(key: string, build: () => Promise<string>): Promise<string> {
  let pending = builds.get(key);
  if (pending === undefined) {
    pending = build();
    builds.set(key, pending);
    pending.catch(() => builds.delete(key));
  }
  return pending;
}

async function sourceHash(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
    .slice(0, 12);
}

/** Build into a temporary name and rename, so a half-written binary is never reused. */
async function buildTo(output: string, build: (temporary: string) => Promise<void>): Promise<string> {
  if (existsSync(output)) return output;
  await mkdir(dirname(output), { recursive: true });
  const temporary = `${output}.${process.pid}.tmp`;
  try {
    await build(temporary);
    await rename(temporary, output);
  } finally {
    await rm(temporary, { force: true });
  }
  return output;
}

/** The static Go client (test/fixtures/go-client/main.go), built when its source changed. Returns its path. */
export function buildGoClient(): Promise<string> {
  const source = join(FIXTURES_DIR, 'go-client', 'main.go');
  return buildOnce('go-client', async () => {
    const output = join(STATIC_BUILD_DIR, await sourceHash(source), 'go-client');
    return buildTo(output, async (temporary) => {
      const go = findCommand('go') ?? '/usr/lib/go/bin/go';
      const cache = join(STATIC_BUILD_DIR, 'go');
      await run(go, ['build', '-tags', 'netgo', '-trimpath', '-o', temporary, source], {
        timeoutMs: 300_000,
        env: {
          PATH: process.env.PATH,
          HOME: cache,
          // One file, standard library only: nothing to download, ever.
          GO111MODULE: 'off',
          GOPROXY: 'off',
          GOFLAGS: '',
          CGO_ENABLED: '0',
          GOCACHE: join(cache, 'cache'),
          GOPATH: join(cache, 'path'),
        },
      });
    });
  });
}

/** The static musl client (test/fixtures/musl-client.c), built with `musl-gcc -static`. Returns its path. */
export function buildMuslClient(): Promise<string> {
  const source = join(FIXTURES_DIR, 'musl-client.c');
  return buildOnce('musl-client', async () => {
    const output = join(STATIC_BUILD_DIR, await sourceHash(source), 'musl-client');
    return buildTo(output, async (temporary) => {
      await run(findCommand('musl-gcc') ?? 'musl-gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', temporary, source], { timeoutMs: 120_000 });
    });
  });
}

/** What `file` says of a binary, e.g. '…, statically linked, …'. */
export async function describeBinary(path: string): Promise<string> {
  const { stdout } = await run('file', ['-b', path]);
  return stdout.trim();
}

/** The client's JSON lines, in order. Throws, with the output, on a line that is not JSON. */
export function parseClientSteps(output: string): ClientStep[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ClientStep);
}

export interface ClientRun {
  pid: number;
  /** Every step the client printed, in order. */
  steps: ClientStep[];
  /** The running process, until it ends: a test can look at it meanwhile (see `started`). */
  process: ManagedProcess;
}

export interface StartedClient {
  pid: number;
  process: ManagedProcess;
  /** Resolves with the steps once the client exits 0; rejects with its output otherwise, or after `timeoutMs`. */
  finished: Promise<ClientRun>;
}

function nsName(ns: Namespace | undefined): string | undefined {
  return ns === undefined || typeof ns === 'string' ? ns : ns.ns;
}

/** Start a client in a namespace; its steps come with `finished`. */
export function startClient(cmd: string, args: readonly string[], options: { ns?: Namespace; timeoutMs?: number } = {}): StartedClient {
  const child = ManagedProcess.start(cmd, args, { ns: nsName(options.ns) });
  const finished = (async () => {
    const timer = setTimeout(() => child.child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    const status = await child.exited;
    clearTimeout(timer);
    if (status.code !== 0) throw child.failure('failed');
    return { pid: child.pid ?? 0, steps: parseClientSteps(child.output(2000)), process: child };
  })();
  // `ip netns exec` execs the command in place: this pid is the client's.
  return { pid: child.pid ?? 0, process: child, finished };
}

/** Run the static Go client's steps (see test/fixtures/go-client/main.go) to its end. */
export async function runGoClient(options: { ns?: Namespace; steps: readonly string[]; timeoutMs?: number }): Promise<ClientRun> {
  return startClient(await buildGoClient(), options.steps, options).finished;
}

export interface MuslClientOptions {
  ns?: Namespace;
  /** Name to resolve with musl's getaddrinfo (IPv4). */
  name: string;
  /** TCP port to connect to; 0 for no TCP step. */
  tcpPort: number;
  /** Bytes sent on the TCP connection. */
  tcpBytes: number;
  /** UDP port of an echo server; 0 for no UDP step. */
  udpPort: number;
  datagrams: number;
  datagramBytes: number;
  timeoutMs?: number;
}

function muslArgs(options: MuslClientOptions): string[] {
  return [options.name, options.tcpPort, options.tcpBytes, options.udpPort, options.datagrams, options.datagramBytes].map(String);
}

/** Run the static musl client to its end: resolve, then TCP and connected UDP. */
export async function runMuslClient(options: MuslClientOptions): Promise<ClientRun> {
  return startClient(await buildMuslClient(), muslArgs(options), options).finished;
}

/** Start the static musl client (for a test that needs its pid while it runs). */
export async function startMuslClient(options: MuslClientOptions): Promise<StartedClient> {
  return startClient(await buildMuslClient(), muslArgs(options), options);
}

export interface UdpClientOptions {
  ns?: Namespace;
  /** connect() + send(), or sendto() on an unconnected socket. */
  mode: 'connected' | 'unconnected';
  /** Name (glibc getaddrinfo, IPv4) or IPv4 literal. */
  host: string;
  port: number;
  datagrams: number;
  datagramBytes: number;
  timeoutMs?: number;
}

/** The python3 UDP client (test/fixtures/udp-client.py): exact counts, one echo read per datagram. */
export function startUdpClient(options: UdpClientOptions): StartedClient {
  const args = [UDP_CLIENT_SCRIPT, options.mode, options.host, options.port, options.datagrams, options.datagramBytes].map(String);
  return startClient(python3(), args, options);
}

/** startUdpClient to its end: its one step. */
export async function runUdpClient(options: UdpClientOptions): Promise<ClientStep> {
  return onlyStep(await startUdpClient(options).finished);
}

/** The python3 TCP client that resolves with glibc (test/fixtures/glibc-client.py): send `bytes`, half-close, read to EOF. */
export function startGlibcClient(options: { ns?: Namespace; name: string; port: number; bytes: number; timeoutMs?: number }): StartedClient {
  return startClient(python3(), [GLIBC_CLIENT_SCRIPT, options.name, String(options.port), String(options.bytes)], options);
}

function onlyStep(run: ClientRun): ClientStep {
  const [step] = run.steps;
  if (run.steps.length !== 1 || step === undefined) throw run.process.failure(`printed ${run.steps.length} result lines, expected 1`);
  return step;
}
