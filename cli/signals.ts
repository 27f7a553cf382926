import { constants } from 'node:os';
import { removeTrackedLeftovers } from '../lib/data/leftovers.ts';

/**
 * Ctrl-C (SIGINT) and SIGTERM for the CLI. By default the process removes what it was building
 * (staging directories, temporary buckets: ../data/leftovers.ts) and exits with the conventional
 * code, 128 + the signal's number. A command that can stop cleanly (a local run aborts its
 * execution, which stops its tasks and its cloud) registers itself with whileInterruptible: the
 * first signal then goes to it, and a second one exits at once.
 */
let current: ((signal: NodeJS.Signals) => void) | undefined;
let received: NodeJS.Signals | undefined;

export function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const first = received === undefined;
      received ??= signal;
      if (current && first) {
        process.stderr.write(`fmnist: ${signal}: stopping (again to quit at once)\n`);
        current(signal);
        return;
      }
      removeTrackedLeftovers();
      process.exit(exitCodeFor(signal));
    });
  }
}

/** Runs `work`, giving it the first SIGINT/SIGTERM through `onSignal` instead of exiting. */
export async function whileInterruptible<T>(onSignal: (signal: NodeJS.Signals) => void, work: () => Promise<T>): Promise<T> {
  current = onSignal;
  try {
    return await work();
  } finally {
    current = undefined;
  }
}

/** The signal that stopped the command, if one did. */
export function interruption(): NodeJS.Signals | undefined {
  return received;
}

export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
