/**
 * `hostflow ctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]`:
 * sends one command to a running hostflow's control socket and prints the
 * answer, so nobody needs netcat. Exit status: 0 answered ok, 1 answered
 * with an error, 2 usage error or no answer (no socket, refused, timeout).
 */
import { connect } from 'node:net';
import { DEFAULT_CONTROL_SOCKET } from './server.js';
import { COMMANDS } from './protocol.js';

export interface CtlIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const CTL_USAGE = [
  'usage: hostflow ctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]',
  '',
  'commands:',
  ...COMMANDS.filter((command) => command.name !== 'mode' && command.name !== 'quit').map((command) => `  ${command.usage.padEnd(28)} ${command.description}`),
  '',
  'options:',
  `  --socket PATH      the control socket (default ${DEFAULT_CONTROL_SOCKET})`,
  '  --json             print the answer as one JSON object',
  '  --timeout SECONDS  give up waiting for an answer after this long (default 5)',
].join('\n');

interface CtlArgs {
  socket: string;
  json: boolean;
  timeoutMs: number;
  words: string[];
}

function parseArgs(argv: readonly string[]): CtlArgs | string {
  const args: CtlArgs = { socket: DEFAULT_CONTROL_SOCKET, json: false, timeoutMs: 5000, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (args.words.length > 0) {
      args.words.push(arg);
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--socket' || flag === '-s') {
      const path = value();
      if (!path) return `${flag} needs a path`;
      args.socket = path;
    } else if (flag === '--json') {
      args.json = true;
    } else if (flag === '--timeout') {
      const seconds = Number(value());
      if (!Number.isFinite(seconds) || seconds <= 0) return '--timeout needs a positive number of seconds';
      args.timeoutMs = seconds * 1000;
    } else if (flag === '-h' || flag === '--help') {
      return 'help';
    } else if (flag.startsWith('-')) {
      return `unknown option ${flag}`;
    } else {
      args.words.push(arg);
    }
  }
  if (args.words.length === 0) return 'a command is needed';
  if (args.words.some((word) => /[\r\n]/.test(word))) return 'arguments cannot contain line breaks';
  return args;
}

function connectError(error: NodeJS.ErrnoException, path: string): string {
  switch (error.code) {
    case 'ENOENT':
      return `no control socket at ${path} (is hostflow running? its --control option sets the path)`;
    case 'ECONNREFUSED':
      return `nothing listens on ${path} (a socket left by a hostflow that is gone?)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path} (run as the user hostflow runs as, or as a member of its --control-group)`;
    default:
      return `cannot connect to ${path}: ${error.message}`;
  }
}

/**
 * Runs `hostflow ctl` with the words after `ctl`; resolves with the exit
 * status (never rejects, never exits the process).
 */
export function runCtl(argv: readonly string[], io: CtlIo = process): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed === 'help') {
    io.stdout.write(`${CTL_USAGE}\n`);
    return Promise.resolve(0);
  }
  if (typeof parsed === 'string') {
    io.stderr.write(`hostflow ctl: ${parsed}\n${CTL_USAGE}\n`);
    return Promise.resolve(2);
  }
  const { socket: path, json, timeoutMs, words } = parsed;
  return new Promise((resolve) => {
    const socket = connect(path);
    let received = '';
    let done = false;
    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (message) io.stderr.write(`hostflow ctl: ${message}\n`);
      socket.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => finish(2, `no answer from ${path} within ${timeoutMs / 1000} s`), timeoutMs);
    socket.setEncoding('utf8');
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      socket.write(`${json ? 'json ' : ''}${words.join(' ')}\n`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(2, connected ? `the connection to ${path} failed: ${error.message}` : connectError(error, path)),
    );
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (json) {
        const newline = received.indexOf('\n');
        if (newline < 0) return;
        const line = received.slice(0, newline);
        io.stdout.write(`${line}\n`);
        let answerOk = false;
        try {
          answerOk = (JSON.parse(line) as { ok?: unknown }).ok === true;
        } catch {
          finish(2, 'the answer is not JSON');
          return;
        }
        finish(answerOk ? 0 : 1);
        return;
      }
      let newline: number;
      while ((newline = received.indexOf('\n')) >= 0) {
        const line = received.slice(0, newline);
        received = received.slice(newline + 1);
        if (line === 'ok') return finish(0);
        if (line.startsWith('error: ')) return finish(1, line.slice('error: '.length));
        io.stdout.write(`${line}\n`);
      }
    });
    socket.on('close', () => finish(2, `${path} closed the connection without an answer`));
  });
}
