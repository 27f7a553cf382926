import { ConfigError } from '../errors.ts';
import { BACKEND_PREFERENCES, type BackendPreference } from './config.ts';

/**
 * The operator's choices about how training runs (not part of a training config: they change
 * speed, not the model). lib/model reads no environment: the edges (handlers, the CLI, bench,
 * the image self-check) read these variables and pass the parsed choices in as options.
 */

/** How a step runs: 'auto' (one TensorFlow graph on the native backend, else op by op), 'graph' (or fail), 'eager' (op by op). */
export const TRAIN_STEPS = ['auto', 'graph', 'eager'] as const;
export type TrainStepChoice = (typeof TRAIN_STEPS)[number];

/** Chooses the step: 'eager' for comparisons and as an escape hatch, 'graph' to insist on it. */
export const TRAIN_STEP_ENV_VAR = 'FMNIST_TRAIN_STEP';
/** Forces a backend whatever the config says, e.g. to compare backends on the same config. */
export const BACKEND_ENV_VAR = 'FMNIST_BACKEND';

/** An unset or empty value is 'auto'. @throws ConfigError `source: must be auto, graph or eager, got "x"` */
export function parseTrainStep(value: string | undefined, source: string): TrainStepChoice {
  if (value === undefined || value === '') return 'auto';
  if (!(TRAIN_STEPS as readonly string[]).includes(value)) throw new ConfigError(`${source}: must be auto, graph or eager, got "${value}"`);
  return value as TrainStepChoice;
}

/** An unset or empty value is no choice (the config's backend stands). @throws ConfigError naming `source` */
export function parseBackendChoice(value: string | undefined, source: string): BackendPreference | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(value)) {
    throw new ConfigError(`${source}: must be one of ${BACKEND_PREFERENCES.join(', ')}, got "${value}"`);
  }
  return value as BackendPreference;
}

/** Both choices from an environment the caller read (`process.env` at an edge). */
export function trainingChoicesFrom(env: Readonly<Record<string, string | undefined>>): { trainStep: TrainStepChoice; backend?: BackendPreference } {
  const backend = parseBackendChoice(env[BACKEND_ENV_VAR], BACKEND_ENV_VAR);
  return { trainStep: parseTrainStep(env[TRAIN_STEP_ENV_VAR], TRAIN_STEP_ENV_VAR), ...(backend && { backend }) };
}
