import { z } from 'zod';
import { envSetting, type Env } from '../env.ts';

/**
 * What a function may use, from its environment: Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE
 * (MB, which for Lambda are MiB), the local runtime sets it the same way for the functions it
 * emulates, and the stack sets FMNIST_EPHEMERAL_STORAGE_MIB (/tmp) where a function's work
 * depends on it. Absent on a laptop: no limit. Present but malformed fails loudly, naming the
 * variable: a wrong limit would silently change what is accepted.
 */
export const RUNTIME_ENV = {
  memoryMiB: 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  ephemeralStorageMiB: 'FMNIST_EPHEMERAL_STORAGE_MIB',
} as const;

/** Lambda's range for both settings (MiB). */
const MiBSetting = z
  .string()
  .regex(/^\d+$/, 'must be a whole number of MiB')
  .transform(Number)
  .pipe(z.int().min(128, 'must be at least 128').max(10_240, 'must be at most 10240'));

export interface RuntimeResources {
  /** MiB of memory the function has, if it runs in (or as) a Lambda function. */
  memoryMiB?: number;
  /** MiB of /tmp, if the stack says. */
  ephemeralStorageMiB?: number;
}

/** Read by the handler (the edge) from its environment. */
export function runtimeResources(env: Env): RuntimeResources {
  return { memoryMiB: envSetting(env, RUNTIME_ENV.memoryMiB, MiBSetting), ephemeralStorageMiB: envSetting(env, RUNTIME_ENV.ephemeralStorageMiB, MiBSetting) };
}
