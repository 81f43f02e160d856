/**
 * Parsing a subcommand's own arguments (`hostflow query`, `hostflow
 * schema`): commander writes help and usage errors to the given streams,
 * prefixed with the subcommand, and never exits the process itself.
 */
import type { Command } from 'commander';

export interface SubcommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Parses `argv`; null to go on, or the exit code when commander ended it (help: 0, a usage error: 2). */
export function parseSubcommand(command: Command, name: string, argv: readonly string[], io: SubcommandIo): number | null {
  command.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    outputError: (text, write) => write(`hostflow ${name}: ${text.replace(/^error: /, '')}`),
  });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  return null;
}
