import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { FARGATE_ENV } from '../../lib/workflow/fargate-task.ts';
import { trainEventKey } from '../../lib/workflow/layout.ts';
import { validateRunId } from '../../lib/workflow/run-id.ts';

/**
 * The Fargate entry's environment (contract: FARGATE_ENV in lib/workflow/fargate-task.ts),
 * validated, with every duration already multiplied by FMNIST_TIME_SCALE.
 */
export interface FargateSettings {
  /** Where the TrainEvent JSON comes from. */
  trainEvent: { bucket: string; key: string } | { argument: string };
  heartbeatMs: number;
  /** When the container stops itself, before the state's TimeoutSeconds passes; absent without a state timeout. */
  deadline?: {
    /** Epoch milliseconds. */
    stopAt: number;
    /** How long before the state's timeout, unscaled, and as scaled for the timers. */
    marginSeconds: number;
    marginMs: number;
    timeoutSeconds: number;
    enteredTime: string;
  };
  /** How long a stop request waits for training to unwind before SendTaskFailure goes anyway. */
  stopGraceMs: number;
  timeScale: number;
}

export const DEFAULT_HEARTBEAT_SECONDS = 60;
/**
 * The container stops this long before the state's timeout (at most 10 % of the timeout): time
 * for training to reach its next yield (one batch), the stop grace below, SendTaskFailure with
 * the SDK's retries (normally well under a second) and clock skew between the task and Step
 * Functions (milliseconds with Amazon Time Sync). A minute out of a 12-hour timeout is nothing.
 */
export const DEADLINE_MARGIN_SECONDS = 60;
/** Within ECS's default 30-second stopTimeout, with room left for SendTaskFailure. */
export const STOP_GRACE_SECONDS = 10;

/** A string environment variable read by `read`, which returns undefined for a bad value; the issue quotes the value. */
const variable = <T>(expected: string, read: (value: string) => T | undefined) =>
  z.string().transform((value, ctx) => {
    const result = value.trim() === '' ? undefined : read(value);
    if (result === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${expected}, got "${value}"` });
      return z.NEVER;
    }
    return result;
  });

const positiveNumber = (expected: string) =>
  variable(expected, (value) => {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  });

const isoTime = z.iso.datetime({ offset: true });

const Environment = z
  .object({
    DATA_BUCKET: variable('an S3 bucket name', (value) => (/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) ? value : undefined)).optional(),
    [FARGATE_ENV.trainEventKey]: z.string().optional(),
    [FARGATE_ENV.heartbeatSeconds]: positiveNumber('a positive number of seconds').optional(),
    [FARGATE_ENV.timeScale]: positiveNumber('a positive number (the factor for every timer)').optional(),
    [FARGATE_ENV.stateEnteredTime]: variable('an ISO 8601 time ($$.State.EnteredTime)', (value) =>
      isoTime.safeParse(value).success ? value : undefined,
    ).optional(),
    [FARGATE_ENV.stateTimeoutSeconds]: variable("a whole number of seconds of at least 1 (the state's TimeoutSeconds)", (value) =>
      /^[1-9][0-9]*$/.test(value) ? Number(value) : undefined,
    ).optional(),
  })
  .refine((env) => (env[FARGATE_ENV.stateEnteredTime] === undefined) === (env[FARGATE_ENV.stateTimeoutSeconds] === undefined), {
    message: `${FARGATE_ENV.stateEnteredTime} and ${FARGATE_ENV.stateTimeoutSeconds} must be set together`,
  });

/** @throws ConfigError naming each environment variable that is wrong, or the missing event. */
export function parseFargateSettings(env: NodeJS.ProcessEnv, argv: readonly string[]): FargateSettings {
  const parsed = Environment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
    throw new ConfigError(`invalid Fargate task environment: ${problems.join('; ')}`);
  }
  const vars = parsed.data;
  const timeScale = vars[FARGATE_ENV.timeScale] ?? 1;
  const scaledMs = (seconds: number) => seconds * 1000 * timeScale;
  const enteredTime = vars[FARGATE_ENV.stateEnteredTime];
  const timeoutSeconds = vars[FARGATE_ENV.stateTimeoutSeconds];
  const stopGraceMs = scaledMs(STOP_GRACE_SECONDS);
  let deadline: FargateSettings['deadline'];
  if (enteredTime !== undefined && timeoutSeconds !== undefined) {
    const marginSeconds = Math.min(DEADLINE_MARGIN_SECONDS, timeoutSeconds / 10);
    const marginMs = scaledMs(marginSeconds);
    deadline = { stopAt: Date.parse(enteredTime) + scaledMs(timeoutSeconds) - marginMs, marginSeconds, marginMs, timeoutSeconds, enteredTime };
  }
  return {
    trainEvent: trainEventSource(vars[FARGATE_ENV.trainEventKey], vars.DATA_BUCKET, argv),
    heartbeatMs: scaledMs(vars[FARGATE_ENV.heartbeatSeconds] ?? DEFAULT_HEARTBEAT_SECONDS),
    deadline,
    stopGraceMs: deadline ? Math.min(stopGraceMs, deadline.marginMs / 2) : stopGraceMs,
    timeScale,
  };
}

function trainEventSource(key: string | undefined, bucket: string | undefined, argv: readonly string[]): FargateSettings['trainEvent'] {
  if (key === undefined) {
    const argument = argv[2];
    if (argument === undefined || argument === '') {
      throw new ConfigError(
        `no training event: set ${FARGATE_ENV.trainEventKey} (with DATA_BUCKET) or pass the TrainEvent JSON as the first argument`,
      );
    }
    return { argument };
  }
  const runId = /^runs\/([^/]+)\/train-event\.json$/.exec(key)?.[1];
  if (runId === undefined) throw new ConfigError(`${FARGATE_ENV.trainEventKey}: "${key}" is not of the form ${trainEventKey('<runId>')}`);
  try {
    validateRunId(runId);
  } catch (error) {
    throw new ConfigError(`${FARGATE_ENV.trainEventKey}: ${(error as Error).message}`);
  }
  if (bucket === undefined) throw new ConfigError(`DATA_BUCKET: must be set to read ${FARGATE_ENV.trainEventKey} from`);
  return { bucket, key };
}
