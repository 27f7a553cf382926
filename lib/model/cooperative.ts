/**
 * Keeps a long run of synchronous work (training steps, validation batches) cooperative: the
 * process's timers and I/O still run (heartbeats, deadlines, signal handlers, progress bars), and
 * whoever started the work can stop it between two units of work with an AbortSignal.
 */

/**
 * Milliseconds of work between two yields to the event loop. A yield with nothing due costs a
 * few microseconds, so 20 ms keeps its cost far below 1 % of training time (bench/yield-cost.ts
 * measures it) while timers are never late by much more than one training step.
 */
export const YIELD_INTERVAL_MS = 20;

/**
 * What trainModel rejects with when its AbortSignal fires; `cause` is the signal's reason. Not a
 * UserError: whoever aborted reports its own reason (the Fargate task's stop reasons, Ctrl-C).
 */
export class TrainingAbortedError extends Error {
  override readonly name = 'TrainingAborted';
  constructor(reason: unknown) {
    super(`training was aborted: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: reason });
  }
}

export class CooperativeLoop {
  private lastYield = performance.now();

  /** `yieldEveryMs`: Infinity never yields (only to measure what yielding costs and buys). */
  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly yieldEveryMs = YIELD_INTERVAL_MS,
  ) {
    if (!(yieldEveryMs >= 0)) throw new RangeError(`yieldEveryMs must be a number of milliseconds >= 0, got ${yieldEveryMs}`);
  }

  /** Throws TrainingAbortedError if the signal has fired. */
  throwIfAborted(): void {
    if (this.signal?.aborted) throw new TrainingAbortedError(this.signal.reason);
  }

  /**
   * Call between units of work: yields to the event loop once `yieldEveryMs` have passed since
   * the last yield (setImmediate, so due timers and I/O callbacks run, not just microtasks),
   * then throws TrainingAbortedError if the signal fired meanwhile.
   */
  async checkpoint(): Promise<void> {
    if (performance.now() - this.lastYield >= this.yieldEveryMs) {
      await new Promise((resolve) => setImmediate(resolve));
      this.lastYield = performance.now();
    }
    this.throwIfAborted();
  }
}
