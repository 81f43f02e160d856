/**
 * The control socket's line protocol (bpf-experiments' commands, extended),
 * pure: a request line in, one answer out.
 *
 * A request is one line (LF or CRLF ended, at most 4096 bytes):
 *
 *   [json] COMMAND [ARG...]
 *
 * Commands are the rows of COMMANDS (commands.ts; `help` lists them). Empty lines are
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
import { COMMANDS } from './commands.js';
import { quote } from './quote.js';

/** What the protocol knows of a command: its name and how many arguments it takes (COMMANDS, in commands.ts, has the rest). */
export interface CommandSpec {
  name: string;
  usage: string;
  description: string;
  minArgs: number;
  maxArgs: number;
}

export { COMMANDS, quote };

const BY_NAME: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.map((command) => [command.name, command]));

/** Longest request line, LF included; longer lines are answered with an error and skipped. */
export const MAX_LINE_BYTES = 4096;

export interface Request {
  command: CommandSpec;
  args: string[];
  /** This answer in JSON whatever the connection's mode. */
  json: boolean;
}

export type ParseResult = { kind: 'empty' } | { kind: 'request'; request: Request } | { kind: 'error'; json: boolean; error: string };

export function parseRequest(line: string): ParseResult {
  const words = line
    .trim()
    .split(/[ \t]+/)
    .filter((word) => word !== '');
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

export type Answer = { ok: true; command: string; result: unknown; lines: string[] } | { ok: false; command: string | null; error: string };

/** The bytes of one answer, newline included. */
export function formatAnswer(answer: Answer, json: boolean): string {
  if (json) {
    return `${JSON.stringify(answer.ok ? { ok: true, command: answer.command, result: answer.result } : { ok: false, command: answer.command, error: answer.error })}\n`;
  }
  if (!answer.ok) return `error: ${answer.error.replace(/\n/g, ' ')}\n`;
  return answer.lines.map((line) => `${line}\n`).join('') + 'ok\n';
}
