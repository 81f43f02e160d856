/**
 * The control socket's line protocol (bpf-experiments' commands, extended),
 * pure: a request line in, one answer out.
 *
 * A request is one line (LF or CRLF ended, at most 4096 bytes):
 *
 *   [json] COMMAND [ARG...]
 *
 * Commands are listed in COMMANDS (and answered by `help`). Empty lines are
 * ignored. Every other line gets exactly one answer:
 *
 * - text (the default): zero or more data lines, then a line `ok`; or a
 *   single line `error: MESSAGE`;
 * - JSON (the request starts with `json`, or the connection sent
 *   `mode json`): a single line, `{"ok":true,"command":C,"result":R}` or
 *   `{"ok":false,"command":C,"error":MESSAGE}` (C is null when the line
 *   named no known command).
 *
 * `mode json` / `mode text` switch the connection's default; `quit` answers
 * and closes the connection.
 */

export interface CommandSpec {
  name: string;
  usage: string;
  description: string;
  minArgs: number;
  maxArgs: number;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'list-src', usage: 'list-src [LIMIT]', description: 'packets, bytes and drops by source address in the flow table, with hostnames', minArgs: 0, maxArgs: 1 },
  { name: 'list-dst', usage: 'list-dst [LIMIT]', description: 'packets, bytes and drops by destination address in the flow table, with hostnames', minArgs: 0, maxArgs: 1 },
  { name: 'list-block-src', usage: 'list-block-src', description: 'blocked source prefixes with the packets and bytes each dropped', minArgs: 0, maxArgs: 0 },
  { name: 'block-src', usage: 'block-src ADDRESS|PREFIX', description: 'drop packets from this source on ingress (e.g. 192.0.2.1, 10.0.0.0/8, fd00::/64)', minArgs: 1, maxArgs: 1 },
  { name: 'unblock-src', usage: 'unblock-src ADDRESS|PREFIX', description: 'remove a blocked prefix; answers what it dropped', minArgs: 1, maxArgs: 1 },
  { name: 'list-block-host', usage: 'list-block-host', description: 'blocked names with the addresses blocked for each', minArgs: 0, maxArgs: 0 },
  { name: 'block-host', usage: 'block-host NAME', description: 'drop packets from every address NAME resolves to, now and later (*.example.com: every name under it)', minArgs: 1, maxArgs: 1 },
  { name: 'unblock-host', usage: 'unblock-host NAME', description: 'stop blocking NAME; its addresses stay blocked only where another rule needs them', minArgs: 1, maxArgs: 1 },
  { name: 'list-hosts', usage: 'list-hosts', description: 'addresses and the hostnames they stand for', minArgs: 0, maxArgs: 0 },
  { name: 'stats', usage: 'stats', description: 'the tracer\'s counters: records, events lost, capture', minArgs: 0, maxArgs: 0 },
  { name: 'mode', usage: 'mode json|text', description: 'answer this connection in JSON lines or text', minArgs: 1, maxArgs: 1 },
  { name: 'help', usage: 'help', description: 'this list', minArgs: 0, maxArgs: 0 },
  { name: 'quit', usage: 'quit', description: 'close the connection', minArgs: 0, maxArgs: 0 },
];

const BY_NAME = new Map(COMMANDS.map((command) => [command.name, command]));

/** Longest request line, LF included; longer lines are answered with an error and skipped. */
export const MAX_LINE_BYTES = 4096;

export interface Request {
  command: CommandSpec;
  args: string[];
  /** This answer in JSON whatever the connection's mode. */
  json: boolean;
}

export type ParseResult = { kind: 'empty' } | { kind: 'request'; request: Request } | { kind: 'error'; json: boolean; error: string };

/** Printable, short: what of a client's bytes may be quoted back in an error. */
export function quote(text: string, max = 40): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}

export function parseRequest(line: string): ParseResult {
  const words = line.trim().split(/[ \t]+/).filter((word) => word !== '');
  if (words.length === 0) return { kind: 'empty' };
  let json = false;
  if (words[0]?.toLowerCase() === 'json') {
    json = true;
    words.shift();
    if (words.length === 0) return { kind: 'error', json, error: `'json' needs a command after it` };
  }
  const name = (words.shift() ?? '').toLowerCase();
  const command = BY_NAME.get(name);
  if (!command) return { kind: 'error', json, error: `unknown command '${quote(name)}' (try: help)` };
  if (words.length < command.minArgs || words.length > command.maxArgs) {
    return { kind: 'error', json, error: `usage: ${command.usage}` };
  }
  return { kind: 'request', request: { command, args: words, json } };
}

export type Answer =
  | { ok: true; command: string; result: unknown; lines: string[] }
  | { ok: false; command: string | null; error: string };

/** The bytes of one answer, newline included. */
export function formatAnswer(answer: Answer, json: boolean): string {
  if (json) {
    return `${JSON.stringify(answer.ok ? { ok: true, command: answer.command, result: answer.result } : { ok: false, command: answer.command, error: answer.error })}\n`;
  }
  if (!answer.ok) return `error: ${answer.error.replace(/\n/g, ' ')}\n`;
  return answer.lines.map((line) => `${line}\n`).join('') + 'ok\n';
}
