/**
 * An error whose message is meant for the user as it is: one line, saying
 * what failed and what to do. The CLI prints these without a stack trace.
 */
export class HostflowError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostflowError';
  }
}

/** The first line of an error's message, for one-line reports. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
