/**
 * The control socket: a Unix stream socket (mode 0600 in a directory it
 * creates 0700; with a group, 0660 in a directory it creates 0750, both
 * given to that group) where clients send the line protocol of protocol.ts. Many
 * clients at once; each connection is read line by line with a bounded
 * buffer, answers are written in order, and a client that does not read
 * its answers is paused rather than buffered without bound. Nothing a
 * client sends (garbage, a 1 MB line, half a line and a hang-up) reaches
 * further than its own connection.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { HostflowError } from '../errors.js';
import type { FlowEntry } from '../kernel/flows.js';
import { startCommand, type ControlBackend } from './commands.js';
import type { ControlGroup } from './control-group.js';
import { MAX_LINE_BYTES, formatAnswer, parseRequest, type Answer } from './protocol.js';

export const DEFAULT_CONTROL_SOCKET = '/run/hostflow/control.sock';

export interface ControlServerOptions {
  /** @default DEFAULT_CONTROL_SOCKET */
  path?: string;
  backend: ControlBackend;
  /** Connections at once; more are closed at once. @default 256 */
  maxConnections?: number;
  /** A connection silent this long is closed. @default 600000 (10 min) */
  idleTimeoutMs?: number;
  /** How long one flow-table read serves list-src/list-dst of every client. @default 250 */
  flowCacheMs?: number;
  /** Answers waiting to be read by one client before its requests wait. @default 1 MiB */
  maxPendingAnswerBytes?: number;
  /** Open the socket to this group's members too (mode 0660), so `hostflow ctl` works for them without root. @default owner only */
  group?: ControlGroup;
}

export interface ControlServerStats {
  /** Connections accepted since start. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Requests answered (errors included). */
  requests: number;
  /** Of those, error answers. */
  errors: number;
}

/**
 * Creates the socket's directory when missing: 0700, or 0750 given to the
 * group. An existing directory is left as it is (it may be a systemd
 * RuntimeDirectory, or /tmp), but one the group's members cannot enter is
 * an error: the socket would be theirs in name only.
 */
function makeDirectory(directory: string, group: ControlGroup | undefined): void {
  const existed = existsSync(directory);
  try {
    mkdirSync(directory, { recursive: true, mode: group ? 0o750 : 0o700 });
    if (group && !existed) chownSync(directory, -1, group.gid);
  } catch (error) {
    throw new HostflowError(`cannot create the control socket's directory ${directory}: ${(error as Error).message}`);
  }
  if (!group) return;
  const stat = statSync(directory);
  const groupEnters = (stat.gid === group.gid && (stat.mode & 0o010) !== 0) || (stat.mode & 0o001) !== 0;
  if (!groupEnters) {
    throw new HostflowError(
      `the members of group ${group.name} cannot enter ${directory} (mode ${(stat.mode & 0o777).toString(8)}, gid ${stat.gid}): give it to the group with mode 0750, or choose another --control path`,
    );
  }
}

/** Is something listening at `path`? Resolves false for a stale socket file. */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

class Connection {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Skipping the rest of a line that was too long (its error is already answered). */
  private skipping = false;
  /** Lines waiting for their answer, in order; null stands for a line that was too long. */
  private readonly pending: Array<string | null> = [];
  private json = false;
  private closing = false;
  /** An answer is still being made (block-host's lookup): later lines wait, in order, and reading pauses. */
  private waiting = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: ControlServer,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('timeout', () => socket.destroy());
    // ECONNRESET, EPIPE: the client went away; nothing to tell anyone.
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (!this.skipping) {
        if (this.partialBytes + (end - start) + 1 > MAX_LINE_BYTES) {
          this.partial = [];
          this.partialBytes = 0;
          this.skipping = true;
          this.pending.push(null);
        } else if (end > start) {
          this.partial.push(chunk.subarray(start, end));
          this.partialBytes += end - start;
        }
      }
      if (newline < 0) break;
      if (!this.skipping) this.pending.push(Buffer.concat(this.partial).toString('utf8'));
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = false;
      start = newline + 1;
    }
    this.pump();
  }

  /** Answers queued requests while the client keeps reading; pauses reading when it does not. */
  private pump(): void {
    while (this.pending.length > 0 && !this.closing && !this.waiting && this.socket.writableLength < this.server.maxPendingAnswerBytes) {
      const line = this.pending.shift();
      if (line === null) this.answer({ ok: false, command: null, error: `line longer than ${MAX_LINE_BYTES} bytes; skipped` }, this.json);
      else this.handle(line ?? '');
    }
    if (this.closing) return;
    if (this.pending.length > 0 || this.waiting) this.socket.pause();
    else this.socket.resume();
  }

  private handle(line: string): void {
    const parsed = parseRequest(line);
    if (parsed.kind === 'empty') return;
    if (parsed.kind === 'error') {
      this.answer({ ok: false, command: null, error: parsed.error }, parsed.json || this.json);
      return;
    }
    const { request } = parsed;
    const json = request.json || this.json;
    if (request.command.name === 'mode') {
      const mode = request.args[0]?.toLowerCase();
      if (mode !== 'json' && mode !== 'text') {
        this.answer({ ok: false, command: 'mode', error: 'usage: mode json|text' }, json);
        return;
      }
      this.json = mode === 'json';
      this.answer({ ok: true, command: 'mode', result: mode, lines: [] }, this.json);
      return;
    }
    if (request.command.name === 'quit') {
      this.answer({ ok: true, command: 'quit', result: null, lines: [] }, json);
      this.closing = true;
      this.socket.end();
      return;
    }
    const answer = this.server.run(request);
    if (!(answer instanceof Promise)) {
      this.answer(answer, json);
      return;
    }
    this.waiting = true;
    void answer
      .catch((error: unknown): Answer => ({ ok: false, command: request.command.name, error: String(error) }))
      .then((settled) => {
        this.waiting = false;
        this.answer(settled, json);
        this.pump();
      });
  }

  private answer(answer: Answer, json: boolean): void {
    this.server.count(answer);
    if (!this.socket.writable) return;
    this.socket.write(formatAnswer(answer, json));
  }
}

export class ControlServer {
  readonly stats: ControlServerStats = { connections: 0, open: 0, requests: 0, errors: 0 };
  readonly maxPendingAnswerBytes: number;
  private readonly sockets = new Set<Socket>();
  private flowCache: { at: number; flows: FlowEntry[] } | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly options: ControlServerOptions,
  ) {
    this.maxPendingAnswerBytes = options.maxPendingAnswerBytes ?? 1 << 20;
  }

  /**
   * Listens on the socket: creates its directory (0700) when missing,
   * replaces a stale socket file, refuses to take over a live one or any
   * other kind of file. Throws a HostflowError a user can act on.
   */
  static async start(options: ControlServerOptions): Promise<ControlServer> {
    const path = options.path ?? DEFAULT_CONTROL_SOCKET;
    const { group } = options;
    makeDirectory(dirname(path), group);
    let existing;
    try {
      existing = lstatSync(path);
    } catch {
      existing = null;
    }
    if (existing) {
      if (!existing.isSocket()) throw new HostflowError(`${path} exists and is not a socket; choose another --control path`);
      if (await probe(path)) throw new HostflowError(`another process (another hostflow?) listens on ${path}; choose another --control path`);
      unlinkSync(path);
    }

    const server = createServer({ allowHalfOpen: false });
    const control = new ControlServer(path, server, options);
    server.maxConnections = options.maxConnections ?? 256;
    server.on('connection', (socket) => control.accept(socket));
    // The socket is created by bind() inside listen(): a umask of 0177 makes
    // it 0600 from its first moment, the chmod below only confirms it.
    const umask = process.umask(group ? 0o117 : 0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new HostflowError(`cannot listen on ${path}: ${(error as Error).message}`);
    } finally {
      process.umask(umask);
    }
    try {
      if (group) chownSync(path, -1, group.gid);
      chmodSync(path, group ? 0o660 : 0o600);
    } catch (error) {
      server.close();
      throw new HostflowError(
        `cannot give the control socket ${path} to group ${group?.name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (hostflow must be a member of the group, or have CAP_CHOWN)`,
      );
    }
    // An error after listen (EMFILE on accept) must not end the process.
    server.on('error', () => {});
    return control;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.stats.open++;
    this.sockets.add(socket);
    socket.setTimeout(this.options.idleTimeoutMs ?? 600_000);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.stats.open--;
    });
    new Connection(socket, this);
  }

  /** Runs one request against the backend (called by connections). */
  run(request: Parameters<typeof startCommand>[0]): Answer | Promise<Answer> {
    return startCommand(request, { backend: this.options.backend, flows: () => this.flows() });
  }

  /** Counts an answer (called by connections). */
  count(answer: Answer): void {
    this.stats.requests++;
    if (!answer.ok) this.stats.errors++;
  }

  private flows(): FlowEntry[] {
    const now = Date.now();
    const maxAge = this.options.flowCacheMs ?? 250;
    if (this.flowCache && now - this.flowCache.at < maxAge) return this.flowCache.flows;
    const flows = this.options.backend.readFlows?.() ?? [];
    this.flowCache = { at: now, flows };
    return flows;
  }

  /** Stops listening, closes every connection, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
