/**
 * A raw client of the control socket for tests: sends bytes as they are
 * (garbage, long lines, half lines) and collects whole answers.
 */
import { connect, type Socket } from 'node:net';

/** Text answers end with `ok` or are one `error: ` line; JSON answers are one line (starting {"ok":). */
export function splitAnswers(text: string, json = false): string[][] {
  const answers: string[][] = [];
  let current: string[] = [];
  for (const line of text.split('\n').slice(0, -1)) {
    current.push(line);
    const jsonAnswer = current.length === 1 && line.startsWith('{"ok":');
    if (json || jsonAnswer || line === 'ok' || line.startsWith('error: ')) {
      answers.push(current);
      current = [];
    }
  }
  return answers;
}

export interface RawClient {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the first `count` answers once they are all in. */
  answers(count: number, options?: { json?: boolean; timeoutMs?: number }): Promise<string[][]>;
  close(): void;
}

export function openClient(path: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    const waiters = new Set<() => void>();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (const waiter of waiters) waiter();
    });
    socket.on('close', () => {
      for (const waiter of waiters) waiter();
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({
        socket,
        received: () => text,
        answers: (count, { json = false, timeoutMs = 10_000 } = {}) =>
          new Promise((done, fail) => {
            const check = () => {
              const answers = splitAnswers(text, json);
              if (answers.length >= count) {
                cleanup();
                done(answers.slice(0, count));
              } else if (socket.destroyed || socket.readableEnded) {
                cleanup();
                fail(new Error(`connection closed after ${answers.length} of ${count} answers: ${JSON.stringify(text.slice(-500))}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`${splitAnswers(text, json).length} of ${count} answers within ${timeoutMs} ms: ${JSON.stringify(text.slice(-500))}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          }),
        close: () => socket.destroy(),
      });
    });
  });
}
