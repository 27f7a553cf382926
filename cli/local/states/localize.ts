import type { AslDefinition } from '../cloud/model.ts';
import { type AslState, statesOf } from './asl.ts';

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
 *   HeartbeatSecondsPath; a Distributed Map (or any of its fields: ItemReader, ItemBatcher,
 *   ResultWriter, ToleratedFailure*), which the library would run as an inline one; and, in a
 *   state nested in a Map or Parallel, `$$.Execution.Input` / `$$.Execution.StartTime` (the
 *   library gives an iteration its own input and start time there; AWS the execution's).
 * - Every rule applies to nested states too (./asl.ts statesOf, which also refuses a state name
 *   used twice).
 * - A Map runs at most `mapConcurrency` iterations at once locally (see INLINE_MAP_MAX_CONCURRENCY);
 *   where that is fewer than AWS would run, it is listed among the adjustments.
 *
 * Retry intervals are scaled by the runner through the library's retryIntervalOverrides
 * (retryIntervals()).
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export class UnsupportedDefinitionError extends Error {
  override readonly name = 'UnsupportedDefinitionError';
}

/** Step Functions runs at most this many iterations of an inline Map at once (MaxConcurrency 0 or above it: this many). */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

/** Map fields only a Distributed Map has, or that only it honours. */
const DISTRIBUTED_MAP_FIELDS = ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath', 'Label'];

/** `$$`, `$$.Execution`, `$$.Execution.Input…`, `$$.Execution.StartTime`: what the library answers wrongly inside an iteration or branch. */
const EXECUTION_CONTEXT_READ = /\$\$(?:\.Execution(?:\.(?:Input|StartTime)\b|(?![.\w]))|(?![.\w]))/;

export function localizeDefinition(
  definition: AslDefinition,
  timeScale = 1,
  options: { mapConcurrency?: number } = {},
): { definition: AslDefinition; adjustments: string[] } {
  const copy = structuredClone(definition);
  const adjustments: string[] = [];
  const executionSeconds = copy.TimeoutSeconds === undefined ? MAX_TIMER_SECONDS : Math.min(copy.TimeoutSeconds * timeScale, MAX_TIMER_SECONDS);
  if (executionSeconds !== copy.TimeoutSeconds) {
    adjustments.push(`execution TimeoutSeconds ${copy.TimeoutSeconds ?? '(none)'} -> ${executionSeconds} (time scale ${timeScale})`);
    copy.TimeoutSeconds = executionSeconds;
  }
  for (const { name, state, enclosing } of statesOf(copy)) {
    if (state.Type === 'Map') checkInlineMap(name, state);
    if (enclosing.length > 0) checkNestedContextReads(name, state, enclosing);
    if (state.Type === 'Map' && options.mapConcurrency !== undefined) {
      const bound = localMapBound(name, state, options.mapConcurrency);
      if (bound) adjustments.push(bound);
    }
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

function checkInlineMap(name: string, state: AslState): void {
  const processor = (state.ItemProcessor ?? {}) as { ProcessorConfig?: { Mode?: string } };
  if (processor.ProcessorConfig?.Mode !== undefined && processor.ProcessorConfig.Mode !== 'INLINE') {
    throw new UnsupportedDefinitionError(`${name}: a ${processor.ProcessorConfig.Mode} Map is not emulated by the local runtime (only INLINE)`);
  }
  const distributed = DISTRIBUTED_MAP_FIELDS.filter((field) => field in state);
  if (distributed.length > 0) throw new UnsupportedDefinitionError(`${name}: ${distributed.join(', ')} (Distributed Map) is not emulated by the local runtime`);
}

function checkNestedContextReads(name: string, state: AslState, enclosing: string[]): void {
  const own = JSON.stringify({ ...state, ItemProcessor: undefined, Iterator: undefined, Branches: undefined });
  const read = EXECUTION_CONTEXT_READ.exec(own);
  if (read) {
    throw new UnsupportedDefinitionError(
      `${name} (inside ${enclosing.join(' > ')}): ${read[0]} is not emulated inside a Map or Parallel (the library answers with the iteration's own input and start time, AWS with the execution's)`,
    );
  }
}

/** The adjustment line when this machine runs fewer iterations of the Map at once than AWS would. */
function localMapBound(name: string, state: AslState, mapConcurrency: number): string | undefined {
  // MaxConcurrencyPath resolves at run time; up to 40 is what AWS may then run.
  const declared = typeof state.MaxConcurrency === 'number' ? state.MaxConcurrency : 0;
  const aws = declared === 0 ? INLINE_MAP_MAX_CONCURRENCY : Math.min(declared, INLINE_MAP_MAX_CONCURRENCY);
  if (mapConcurrency >= aws) return undefined;
  const declaredText = typeof state.MaxConcurrencyPath === 'string' ? `MaxConcurrencyPath ${state.MaxConcurrencyPath}` : `MaxConcurrency ${declared}`;
  return `${name}: at most ${mapConcurrency} iterations at once on this machine (${declaredText}: AWS runs up to ${aws}), a resource bound; the results are the same`;
}

/**
 * The library's retryIntervalOverrides for a time scale (milliseconds per retrier of each state):
 * none at scale 1, where the definition's intervals, backoff and jitter apply as written; else
 * each retrier's IntervalSeconds scaled (the library then applies it without backoff or jitter).
 * Nested states included: the library passes the same overrides, by name, to iterations and branches.
 */
export function retryIntervals(definition: AslDefinition, timeScale: number, fixedMs?: number): Record<string, number[]> | undefined {
  if (fixedMs === undefined && timeScale === 1) return undefined;
  const overrides: Record<string, number[]> = {};
  for (const { name, state } of statesOf(definition)) {
    const retriers = (state.Retry as { IntervalSeconds?: number }[] | undefined) ?? [];
    if (retriers.length === 0) continue;
    overrides[name] = retriers.map((retrier) => fixedMs ?? (retrier.IntervalSeconds ?? 1) * 1000 * timeScale);
  }
  return overrides;
}
