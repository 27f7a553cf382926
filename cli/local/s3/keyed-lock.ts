/**
 * Runs tasks one at a time per key, in the order they asked; tasks on different keys run
 * concurrently. In-process only: it serializes the requests of one server.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous; // never rejects: only `mine`s, which only resolve, are chained
    try {
      return await task();
    } finally {
      release();
      // The last in line leaves no entry behind, so the map does not grow with every key written.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
