import { type AslState, selectReferencePath } from './asl.ts';
import { StatesError } from './errors.ts';

/**
 * What Step Functions reads from a Map (or Parallel) state's input itself, before its iterations
 * run: the effective input, the number of items (MapStateStarted's length), and MaxConcurrencyPath,
 * checked as the service checks it. Only plain reference paths are evaluated here; anything else
 * is left to aws-local-stepfunctions, which evaluates every path again when it runs the state.
 */

/** A Map or Parallel state's effective input (InputPath applied; Parameters are its ItemSelector), when a reference path gives it. */
export function effectiveInputOf(state: AslState, rawInput: unknown): unknown {
  if (state.InputPath === null) return {};
  if (typeof state.InputPath !== 'string') return rawInput;
  const selected = selectReferencePath(state.InputPath, rawInput);
  return selected?.found ? selected.value : undefined;
}

/** How many items the Map iterates over (MapStateStarted's length), when ItemsPath is a plain reference path. */
export function itemCount(state: AslState, effectiveInput: unknown): number | undefined {
  const items = typeof state.ItemsPath === 'string' ? selectReferencePath(state.ItemsPath, effectiveInput) : { found: true, value: effectiveInput };
  return items?.found && Array.isArray(items.value) ? items.value.length : undefined;
}

/**
 * MaxConcurrencyPath must select a non-negative integer; anything else is States.Runtime (which
 * no Retry or Catch handles), with the causes Step Functions gives. A path that selects nothing
 * is left to the library (States.Runtime too).
 */
export function checkMaxConcurrencyPath(state: AslState, effectiveInput: unknown): void {
  const path = state.MaxConcurrencyPath;
  if (typeof path !== 'string') return;
  const selected = selectReferencePath(path, effectiveInput);
  if (!selected?.found) return;
  const value = selected.value;
  let cause: string | undefined;
  if (!Number.isInteger(value)) {
    cause = `The MaxConcurrencyPath field refers to value "${typeof value === 'string' ? value : JSON.stringify(value)}" which is not a valid integer: ${path}`;
  } else if ((value as number) < 0) {
    cause = `Expected non-negative integer for MaxConcurrency, got '${value}' instead.`;
  }
  if (cause) throw new StatesError('States.Runtime', cause, { retryable: false, catchable: false });
}
