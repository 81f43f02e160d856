/**
 * A list of listeners for one kind of news, for the parts that run beside
 * a session: they subscribe, the session only announces. Listeners run in
 * the order they subscribed; one that throws does not stop the others.
 */
export class Subscribers<T> {
  private readonly listeners = new Set<(value: T) => void>();

  /** Adds a listener; returns the call that removes it. */
  add(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  emit(value: T): void {
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch {
        // A listener's failure is its own (it counts and reports it); the session goes on.
      }
    }
  }
}
