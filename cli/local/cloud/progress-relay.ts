/**
 * Loaded into every local sandbox that may train (`--import`, before the code it runs): relays
 * the training progress published on the diagnostics channel (lib/model/progress-channel.ts) to
 * the local cloud over the process's IPC channel, as `{ type: 'progress', message }`. This is the
 * local runtime's one progress channel (cli/local/README.md); it only observes: the code runs
 * unchanged, and without an IPC channel (AWS, a process started by hand) this does nothing.
 */
import { subscribeToTrainingProgress } from '../../../lib/model/progress-channel.ts';

export interface ProgressReply {
  type: 'progress';
  message: unknown;
}

if (process.send) {
  subscribeToTrainingProgress((message) => {
    // The parent may already be gone (the sandbox is being killed): progress is not worth a crash.
    if (process.connected) process.send!({ type: 'progress', message } satisfies ProgressReply, undefined, {}, () => {});
  });
}
