/**
 * The terminal UI in a real terminal: hostflow runs in tmux (120x40) in
 * the client namespace of a topology with dnsmasq, python3 workloads
 * resolve and connect beside it, and what tmux shows must name the hosts
 * and processes in every view; keys switch views and filter, and q exits
 * 0 after printing the summary. Each view's screen is saved under
 * /tmp/hostflow-ui-screens/. Every test runs alone: each starts from the
 * bare table of its view, and the q test quits a hostflow of its own.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectProbeModes, withConnectProbe } from '../helpers/connect-probe.js';
import { CLI } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { ManagedProcess, python3 } from '../helpers/process.js';
import { startTcpServer, tcpFetch, type TcpServer } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'tmux'], features: ['netns' as const, 'btf' as const] };
const SCREENS = '/tmp/hostflow-ui-screens';
const SERVER_BYTES = 200_000;

/** python3 that resolves a name, connects, reads to EOF and keeps the socket until its stdin closes. */
const HOLDER = String.raw`
import socket, sys
info = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), socket.AF_INET, socket.SOCK_STREAM)[0]
sock = socket.socket(info[0], info[1], info[2])
sock.connect(info[4])
while sock.recv(65536):
    pass
print('HOLDING', sock.getsockname()[1], flush=True)
sys.stdin.read()
sock.close()
`;

function uiCommand(): string[] {
  return [CLI, '--ui', ...withConnectProbe([])];
}

class Tmux {
  readonly socket: string;

  constructor(id: string) {
    this.socket = `hostflow-ui-${id}`;
  }

  run(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  capture(): string {
    return this.run('capture-pane', '-p', '-t', 'ui');
  }

  keys(...keys: string[]): void {
    this.run('send-keys', '-t', 'ui', ...keys);
  }

  /** Polls the screen until `check` accepts it; fails with the last screen. */
  async waitFor(what: string, check: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = this.capture();
      if (check(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the terminal never showed ${what}; last screen:\n${screen}`);
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

/** Starts hostflow's UI in a new tmux session 'ui' whose exit code goes to `exitFile`; resolves once it traces. */
async function startUi(tmux: Tmux, ns: string, args: readonly string[], exitFile: string): Promise<void> {
  const hostflow = ['ip', 'netns', 'exec', ns, process.execPath, ...uiCommand(), ...args];
  tmux.run('new-session', '-d', '-x', '120', '-y', '40', '-s', 'ui', `${hostflow.join(' ')}; echo $? > ${exitFile}`);
  tmux.run('set-option', '-t', 'ui', 'remain-on-exit', 'on');
  await tmux.waitFor('the UI', (screen) => /1 Hosts/.test(screen) && new RegExp(`connect (${connectProbeModes()})\\b`).test(screen), 30_000);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * What covers the table, by its footer and caption: a filter being typed,
 * the help, a row's details, a kept filter, or nothing. Each Esc takes one
 * away, so a test waits for it to change before it sends another key: Ink
 * reads an Esc with the key right after it as one Alt chord.
 */
function cover(screen: string): 'typing' | 'help' | 'details' | 'filter' | 'none' {
  if (/\/ filter: /.test(screen)) return 'typing';
  if (/Esc close help/.test(screen)) return 'help';
  if (/Esc back/.test(screen)) return 'details';
  return / {2}filter \S/.test(screen) ? 'filter' : 'none';
}

/** The table of a view with nothing over it. */
const bareTable = (screen: string) => /\? help\s+q quit/.test(screen) && cover(screen) === 'none';

const lineWith = (screen: string, ...words: string[]) => screen.split('\n').find((line) => words.every((word) => line.includes(word)));

function save(name: string, screen: string): void {
  mkdirSync(SCREENS, { recursive: true });
  writeFileSync(join(SCREENS, `${name}.txt`), screen);
}

describe('terminal UI in tmux', privilegedSuite(requirements), () => {
  let topo: Topology;
  let server: TcpServer;
  let tmux: Tmux;
  let workDir: string;
  let exitFile: string;
  let holder: ManagedProcess | undefined;

  before(async () => {
    topo = await Topology.create({
      ttl: 60,
      hosts: ({ server: s }) => [
        { name: 'web.hostflow.test', ipv4: s.ipv4, ipv6: s.ipv6 },
        { name: 'api.hostflow.test', ipv4: s.ipv4 },
      ],
      cnames: [{ alias: 'alias.hostflow.test', target: 'web.hostflow.test' }],
    });
    server = await startTcpServer({ ns: topo.server, host: '::', port: 8080, bytes: SERVER_BYTES, drainTimeoutMs: 30_000 });
    workDir = mkdtempSync(join(tmpdir(), 'hostflow-ui-'));
    exitFile = join(workDir, 'exit-code');
    tmux = new Tmux(topo.id);
    await startUi(tmux, topo.client.ns, ['-i', topo.client.iface, '--flow-interval', '1'], exitFile);

    // A connection held open, one that closes, and a lookup only the wire sees.
    holder = ManagedProcess.start(python3(), ['-u', '-c', HOLDER, 'web.hostflow.test', '8080'], { ns: topo.client.ns, stdin: true });
    await holder.waitForLine(/^HOLDING \d+$/, { stream: 'stdout' });
    await tcpFetch({ ns: topo.client, host: 'api.hostflow.test', port: 8080, family: 4, send: 1000 });
    await topo.exec(topo.client, 'dig', ['+short', '+tries=1', 'alias.hostflow.test', 'A']);
  });

  after(async () => {
    tmux?.kill();
    await holder?.stop();
    await server?.stop();
    await topo?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** Sends Esc and waits until it took away what covered the table. */
  async function escape(): Promise<string> {
    const before = cover(tmux.capture());
    tmux.keys('Escape');
    return tmux.waitFor(`Esc to take away the ${before}`, (screen) => cover(screen) !== before, 5000);
  }

  /**
   * Shows the bare table of a view, whatever the test before left: Esc
   * until no help, details or filter is left (the first cancels a filter
   * being typed or closes an overlay, the next clears a kept filter), then
   * the view's key and its heading.
   */
  async function showView(key: '1' | '2' | '3' | '4', heading: RegExp): Promise<string> {
    for (let presses = 0; cover(tmux.capture()) !== 'none'; presses++) {
      if (presses === 3) throw new Error(`three Esc and the table is still covered:\n${tmux.capture()}`);
      await escape();
    }
    tmux.keys(key);
    return tmux.waitFor(`view ${key}`, (screen) => heading.test(screen) && bareTable(screen));
  }

  /** Keeps python3 downloading from web.hostflow.test (so flows and rates show) until the screen passes `check`. */
  async function whileDownloading(what: string, check: (screen: string) => boolean): Promise<string> {
    let done = false;
    const traffic = (async () => {
      while (!done) {
        await tcpFetch({ ns: topo.client, host: 'web.hostflow.test', port: 8080, family: 4 });
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    try {
      return await tmux.waitFor(what, check);
    } finally {
      done = true;
      await traffic;
    }
  }

  test('Hosts shows each resolved hostname with the process that used it, and its rate', async () => {
    await showView('1', /HOST\s+PROCESSES/);
    const screen = await whileDownloading('both hosts with python3 and a rate', (s) =>
      Boolean(lineWith(s, 'web.hostflow.test', 'python3', '/s') && lineWith(s, 'api.hostflow.test', 'python3')),
    );
    save('hosts', screen);
    assert.match(lineWith(screen, 'web.hostflow.test') ?? '', /python3\s+[12]\s+\d+\s+\d+\s+\S+\s+\S+\s+\d+(\.\d)?K\/s/, 'the held connection is open');
    assert.match(lineWith(screen, 'api.hostflow.test') ?? '', /python3\s+0\s+1\s+\d+\s+195K\s+1000B/, 'closed: the payload both ways');
    assert.match(screen, /hostflow\s+lost 0/);
  });

  test('2 switches to Connections: the live and the closed connection, with process and name', async () => {
    // Connections are traced host-wide: the filter keeps the workload's.
    await showView('2', /STATE/);
    tmux.keys('/');
    tmux.run('send-keys', '-t', 'ui', '-l', 'port:8080');
    tmux.keys('Enter');
    // The filter kept (rows are filtered while it is typed, too) and both connections in it.
    const screen = await tmux.waitFor(
      'both connections',
      (s) =>
        / {2}filter port:8080/.test(s) && Boolean(lineWith(s, 'python3', 'web.hostflow.test', 'open') && lineWith(s, 'python3', 'api.hostflow.test', 'closed')),
    );
    save('connections', screen);
    assert.match(lineWith(screen, 'api.hostflow.test', 'closed') ?? '', new RegExp(`out ${topo.server.ipv4.replaceAll('.', '\\.')}:8080`));
    assert.match(lineWith(screen, 'api.hostflow.test', 'closed') ?? '', /1000B\s+195K\s+0/);
    assert.ok(bareTable(await escape()), 'Esc cleared the filter');
  });

  test('3 switches to Flows: the top talker is the server, named, with its process', async () => {
    await showView('3', /DIR\s+PROTO/);
    // Flows show the last interval: traffic keeps coming until one is drawn.
    const screen = await whileDownloading('a flow of python3 with web.hostflow.test', (s) => Boolean(lineWith(s, 'in', 'tcp', 'web.hostflow.test', 'python3')));
    save('flows', screen);
    const rows = screen.split('\n').filter((line) => /^(in|out)\s+\S+\s/.test(line));
    // Every download is the same size, so any of them may lead; a download it must be.
    assert.match(rows[0] ?? '', /^in\s+tcp\s.*:8080\s+(web|api)\.hostflow\.test\s+python3\s/, 'a download leads by bytes');
  });

  test('4 switches to DNS: getaddrinfo lookups with their process, wire answers with their CNAME target', async () => {
    await showView('4', /LATENCY/);
    const screen = await tmux.waitFor('lookups', (s) =>
      Boolean(lineWith(s, 'python3', 'web.hostflow.test', 'getaddrinfo') && lineWith(s, 'alias.hostflow.test', 'wire')),
    );
    save('dns', screen);
    assert.ok(lineWith(screen, 'python3', 'api.hostflow.test', topo.server.ipv4, 'getaddrinfo'));
  });

  test('/ filters: only the matching host is left, Esc brings the others back', async () => {
    await showView('1', /HOST\s+PROCESSES/);
    // Both hosts first (alone, this test may run before the UI has them), so that the filter has one to hide.
    await tmux.waitFor('both hosts', (s) => Boolean(lineWith(s, 'web.hostflow.test') && lineWith(s, 'api.hostflow.test', 'python3')));
    tmux.keys('/');
    tmux.run('send-keys', '-t', 'ui', '-l', 'api');
    tmux.keys('Enter');
    const screen = await tmux.waitFor('only api', (s) => / {2}filter api/.test(s) && !s.includes('web.hostflow.test'));
    save('filter', screen);
    assert.ok(lineWith(screen, 'api.hostflow.test', 'python3'), screen);
    assert.ok(bareTable(await escape()), 'Esc cleared the filter');
    await tmux.waitFor('the other host back', (s) => s.includes('web.hostflow.test'));
  });

  test('q exits with code 0 and prints the summary after the UI', async () => {
    // A hostflow of its own, so that the other tests' UI keeps running: no
    // flows or wire DNS (nothing attached to the interface the other counts
    // on) and no control socket (the other holds the default path).
    const own = new Tmux(`${topo.id}-q`);
    const ownExit = join(workDir, 'q-exit-code');
    try {
      await startUi(own, topo.client.ns, ['--no-flows', '--no-wire-dns', '--no-control'], ownExit);
      own.keys('q');
      await own.waitFor('the summary', (s) => /summary: ok events: \d+ delivered; none lost/.test(s));
      const screen = own.run('capture-pane', '-p', '-S', '-', '-t', 'ui').trimEnd();
      save('exit', screen);
      // The shell writes the exit code once hostflow has exited.
      const deadline = Date.now() + 10_000;
      let code = '';
      while ((code = readText(ownExit).trim()) === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(code, '0', `exit code ${JSON.stringify(code)} (none within 10 s when empty):\n${screen}`);
      assert.doesNotMatch(screen, /1 Hosts/, 'the UI left the screen as it found it');
    } finally {
      own.kill();
    }
  });
});
