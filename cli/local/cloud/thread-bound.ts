import { availableParallelism } from 'node:os';
import type { CloudModel } from './model.ts';

/**
 * Thread-pool sizes a function or container is configured with for the platform's vCPUs (the
 * training function's TF_NUM_INTEROP_THREADS is 6, the vCPUs of 10,240 MB: six chains of the
 * graph step), capped at this machine's cores. Six busy TensorFlow threads on two cores take
 * turns on them: measured here, an epoch took 9.3-10.2 s instead of 8.0-8.1 s. Like the Map
 * concurrency this is a resource bound of the machine, not a semantic difference: the work and
 * its limits are the same, only the float sums (inside a kernel, and over a batch's chains) are
 * split as a run with that many threads splits them. Every bound applied is listed in the run's
 * adjustments (`threadBounds`).
 */
const THREAD_VARIABLES = ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS'] as const;

/** `env` with each thread count above `cores` lowered to it; values that are not counts stay as they are. */
export function boundThreads(env: Record<string, string>, cores = availableParallelism()): Record<string, string> {
  const bounded = { ...env };
  for (const name of THREAD_VARIABLES) {
    const count = threadCount(env[name]);
    if (count !== undefined && count > cores) bounded[name] = String(cores);
  }
  return bounded;
}

/** One line per function or container whose thread counts boundThreads lowers, for the run's adjustments. */
export function threadBounds(model: Pick<CloudModel, 'functions' | 'taskDefinitions'>, cores = availableParallelism()): string[] {
  const environments = [
    ...model.functions.map((fn) => ({ owner: fn.logicalId, environment: fn.environment })),
    ...model.taskDefinitions.flatMap((definition) => definition.containers.map((container) => ({ owner: `${definition.family}/${container.name}`, environment: container.environment }))),
  ];
  return environments.flatMap(({ owner, environment }) => {
    const bounded = boundThreads(environment, cores);
    const lowered = THREAD_VARIABLES.filter((name) => bounded[name] !== environment[name]).map((name) => `${name} ${environment[name]} -> ${bounded[name]}`);
    return lowered.length === 0 ? [] : [`${owner}: ${lowered.join(', ')} (this machine's cores)`];
  });
}

function threadCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
