/**
 * Child processes for tests: `run()` for a command that finishes, and
 * `ManagedProcess` for one that keeps running (a server, dnsmasq, hostflow
 * itself), optionally inside a network namespace. Every ManagedProcess still
 * alive when the test process exits is killed, so a failing test leaks none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Folders searched after $PATH: `ip`, `dnsmasq`, `tcpdump` live in sbin. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The absolute path of an executable named `name`, searched in $PATH and then
 * the sbin folders (a non-root $PATH often lacks them), or undefined.
 */
export function findCommand(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const isExecutable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...pathEnv.split(delimiter).filter((dir) => dir !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** True when `name` is an executable in $PATH or an sbin folder. */
export function hasCommand(name: string): boolean {
  return findCommand(name) !== undefined;
}

/**
 * The python3 that helper scripts run with: Debian's own when present (a
 * pyenv shim in $PATH costs a shell start per call), else python3 in $PATH.
 */
export function python3(): string {
  return findCommand('/usr/bin/python3') ?? findCommand('python3') ?? 'python3';
}

/** Quote a command line for messages (not for a shell to run). */
export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/**
 * The argv that runs `cmd args` inside network namespace `ns`
 * (`ip netns exec`, which also bind-mounts /etc/netns/<ns>/* over /etc), or
 * unchanged when `ns` is undefined.
 */
export function inNamespace(ns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (ns === undefined) return [cmd, [...args]];
  return [findCommand('ip') ?? 'ip', ['netns', 'exec', ns, cmd, ...args]];
}

export interface RunOptions {
  /** Network namespace to run in. @default the test's own */
  ns?: string;
  /** Kill the command (SIGKILL) after this long. @default 30000 */
  timeoutMs?: number;
  /** Reject when the command exits non-zero or is killed. @default true */
  check?: boolean;
  /** Bytes written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  command: string;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A command that failed; the message carries its stderr. */
export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const how = result.timedOut ? 'timed out' : result.signal !== null ? `was killed by ${result.signal}` : `exited with ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).slice(-2000);
    super(`\`${result.command}\` ${how}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Run a command to its end and collect its output. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { timeoutMs = 30_000, check = true } = options;
  const [file, argv] = inNamespace(options.ns, cmd, args);
  const command = formatCommand(file, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run \`${command}\`: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        command,
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
      };
      if (check && (code !== 0 || timedOut)) reject(new CommandError(result));
      else resolve(result);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface StartOptions {
  /** Network namespace to run in. @default the test's own */
  ns?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Give the process a writable stdin. @default false */
  stdin?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Stream = 'stdout' | 'stderr';
type LineListener = (line: string, stream: Stream) => void;

/** How many output lines a ManagedProcess keeps for waitForLine and messages. */
const KEPT_LINES = 2000;

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that threw before stopping what it started.
  process.on('exit', () => {
    for (const managed of live) managed.child.kill('SIGKILL');
  });
}

/**
 * A long-running child process whose output is read line by line, so a test
 * can wait for the line that says it is ready instead of sleeping.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  /** The command line, for messages. */
  readonly command: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** Set once the process has exited. */
  exitStatus: ExitStatus | undefined;
  private readonly lines: Array<{ line: string; stream: Stream }> = [];
  private readonly listeners = new Set<LineListener>();
  private spawnError: Error | undefined;

  private constructor(cmd: string, args: readonly string[], options: StartOptions) {
    const [file, argv] = inNamespace(options.ns, cmd, args);
    this.command = formatCommand(file, argv);
    this.child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.spawnError = error;
        this.exitStatus ??= { code: null, signal: null };
        live.delete(this);
        resolve(this.exitStatus);
      });
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        live.delete(this);
        resolve(this.exitStatus);
      });
    });
    this.readLines('stdout');
    this.readLines('stderr');
    live.add(this);
    installExitHook();
  }

  /** Start `cmd args`, inside `options.ns` when given. */
  static start(cmd: string, args: readonly string[], options: StartOptions = {}): ManagedProcess {
    return new ManagedProcess(cmd, args, options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** The last lines the process printed (both streams), for messages. */
  output(lastLines = 50): string {
    return this.lines
      .slice(-lastLines)
      .map(({ line }) => line)
      .join('\n');
  }

  /** Call `listener` for every line printed from now on. Returns an unsubscribe function. */
  onLine(listener: LineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The first line (already printed or to come) matching `pattern`. Rejects
   * when the process exits first or after `timeoutMs`, with its output.
   */
  waitForLine(pattern: RegExp, { timeoutMs = 10_000, stream }: { timeoutMs?: number; stream?: Stream } = {}): Promise<RegExpMatchArray> {
    const matches = (line: string, from: Stream): RegExpMatchArray | null => (stream === undefined || stream === from ? line.match(pattern) : null);
    for (const { line, stream: from } of this.lines) {
      const match = matches(line, from);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        unsubscribe();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.failure(`printed no line matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onLine((line, from) => {
        const match = matches(line, from);
        if (!match) return;
        cleanup();
        resolve(match);
      });
      void this.exited.then(() => {
        // 'close' fires after the last output, so any matching line is seen.
        cleanup();
        reject(this.failure(`exited before printing a line matching ${pattern}`));
      });
    });
  }

  /**
   * Stop the process: `signal` (SIGTERM), then SIGKILL after `timeoutMs`.
   * Resolves with its exit status; a no-op when it has already exited.
   */
  async stop({ signal = 'SIGTERM', timeoutMs = 3000 }: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  /** An Error naming the command, how it ended and what it printed last. */
  failure(what: string): Error {
    const status = this.exitStatus;
    const how = this.spawnError
      ? ` (could not start: ${this.spawnError.message})`
      : status === undefined
        ? ''
        : status.signal !== null
          ? ` (killed by ${status.signal})`
          : ` (exit code ${status.code})`;
    const output = this.output(30);
    return new Error(`\`${this.command}\` ${what}${how}${output ? `; its output:\n${output}` : ''}`);
  }

  private readLines(stream: Stream): void {
    const source = this.child[stream];
    if (!source) return;
    source.setEncoding('utf8');
    let partial = '';
    const emit = (line: string): void => {
      this.lines.push({ line, stream });
      if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
      for (const listener of this.listeners) listener(line, stream);
    };
    source.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) emit(line);
    });
    source.on('end', () => {
      if (partial !== '') emit(partial);
      partial = '';
    });
  }
}
