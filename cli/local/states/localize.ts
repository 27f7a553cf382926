import type { AslDefinition } from '../cloud/model.ts';

/**
 * The definition as aws-local-stepfunctions must be given it to mean what it means in AWS.
 *
 * - Task timeouts: the library's own (60 s without TimeoutSeconds, no HeartbeatSeconds at all)
 *   are switched off by setting every Task's TimeoutSeconds to the longest timer Node.js has;
 *   the Task handlers (./integrations.ts) enforce the definition's TimeoutSeconds and
 *   HeartbeatSeconds themselves, scaled, and can then also close the state's task tokens.
 * - The execution's TimeoutSeconds is scaled like every other duration.
 * - `ResultPath: "$"` (the default meaning: the result replaces the input) is stored by the
 *   library under a key named "$"; it is written as the equivalent omission.
 * - What the library would get wrong and this runtime does not emulate is refused, not run:
 *   States.TaskFailed (it matches States.Timeout there, not in AWS), TimeoutSecondsPath and
 *   HeartbeatSecondsPath.
 *
 * Retry intervals are scaled by the runner through the library's retryIntervalOverrides
 * (retryIntervals()).
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export class UnsupportedDefinitionError extends Error {
  override readonly name = 'UnsupportedDefinitionError';
}

export function localizeDefinition(definition: AslDefinition, timeScale = 1): { definition: AslDefinition; adjustments: string[] } {
  const copy = structuredClone(definition);
  const adjustments: string[] = [];
  const executionSeconds = copy.TimeoutSeconds === undefined ? MAX_TIMER_SECONDS : Math.min(copy.TimeoutSeconds * timeScale, MAX_TIMER_SECONDS);
  if (executionSeconds !== copy.TimeoutSeconds) {
    adjustments.push(`execution TimeoutSeconds ${copy.TimeoutSeconds ?? '(none)'} -> ${executionSeconds} (time scale ${timeScale})`);
    copy.TimeoutSeconds = executionSeconds;
  }
  for (const [name, state] of Object.entries(copy.States)) {
    for (const field of ['TimeoutSecondsPath', 'HeartbeatSecondsPath']) {
      if (field in state) throw new UnsupportedDefinitionError(`${name}: ${field} is not emulated by the local runtime`);
    }
    const handlers = [...((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []), ...((state.Catch as { ErrorEquals: string[] }[] | undefined) ?? [])];
    if (handlers.some((handler) => handler.ErrorEquals.includes('States.TaskFailed'))) {
      throw new UnsupportedDefinitionError(`${name}: States.TaskFailed is not emulated (the library would match States.Timeout with it, AWS does not)`);
    }
    if (state.ResultPath === '$') {
      delete state.ResultPath;
      adjustments.push(`${name}: ResultPath "$" -> omitted (the same meaning)`);
    }
    for (const catcher of (state.Catch as { ResultPath?: string }[] | undefined) ?? []) {
      if (catcher.ResultPath === '$') {
        delete catcher.ResultPath;
        adjustments.push(`${name}: Catch ResultPath "$" -> omitted (the same meaning)`);
      }
    }
    if (state.Type === 'Task') {
      state.TimeoutSeconds = MAX_TIMER_SECONDS;
      delete state.HeartbeatSeconds;
    }
  }
  return { definition: copy, adjustments };
}

/**
 * The library's retryIntervalOverrides for a time scale (milliseconds per retrier of each state):
 * none at scale 1, where the definition's intervals, backoff and jitter apply as written; else
 * each retrier's IntervalSeconds scaled (the library then applies it without backoff or jitter).
 */
export function retryIntervals(definition: AslDefinition, timeScale: number, fixedMs?: number): Record<string, number[]> | undefined {
  if (fixedMs === undefined && timeScale === 1) return undefined;
  const overrides: Record<string, number[]> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const retriers = (state.Retry as { IntervalSeconds?: number }[] | undefined) ?? [];
    if (retriers.length === 0) continue;
    overrides[name] = retriers.map((retrier) => fixedMs ?? (retrier.IntervalSeconds ?? 1) * 1000 * timeScale);
  }
  return overrides;
}
