import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { s3Client } from '../../lib/aws/clients.ts';
import { getObjectBytes, s3Url } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { FARGATE_ENV } from '../../lib/workflow/fargate-task.ts';
import type { TrainBudgetReached, TrainOutcome, TrainResult } from '../../lib/workflow/events.ts';
import { parseFargateSettings, type FargateSettings } from './fargate-settings.ts';
import { TaskAbandonedError, TaskStoppedError, TaskWatch, type Log, type SignalSource } from './task-watch.ts';

/**
 * The Fargate entry of the training image: the same train step as the train Lambda
 * (createTrainHandler from ./handler.ts), fed and answered the way Step Functions'
 * `ecs:runTask.waitForTaskToken` integration works (environment: FARGATE_ENV in
 * lib/workflow/fargate-task.ts):
 *
 * - input: the TrainEvent JSON at s3://$DATA_BUCKET/$FMNIST_TRAIN_EVENT_KEY
 *   (`runs/<runId>/train-event.json`), or the first command-line argument when run by hand;
 * - $SFN_TASK_TOKEN: the task token; without it the result is printed and nothing is sent;
 * - a heartbeat at once, then every $FMNIST_HEARTBEAT_SECONDS (default 60); they flow while
 *   training runs because trainModel yields to the event loop. When Step Functions answers that
 *   the token is dead (TaskTimedOut, TaskDoesNotExist, InvalidToken), training is aborted and
 *   the entry exits 1 without reporting (nobody waits);
 * - with $FMNIST_STATE_ENTERED_TIME and $FMNIST_STATE_TIMEOUT_SECONDS, training stops shortly
 *   before the state times out: SendTaskFailure TrainingDeadlineExceeded, exit 1;
 * - SIGTERM (ECS StopTask, scale-in): training stops, SendTaskFailure TaskStopped, exit 143;
 * - otherwise SendTaskSuccess with the TrainResult, or the TrainBudgetReached of an event with an
 *   epochBudget (exit 0), or SendTaskFailure with the error's name and message (exit 1; a
 *   ConfigError stays a ConfigError in the history).
 * $FMNIST_TIME_SCALE multiplies every timer (the local runtime runs the contract fast).
 */

/** What the task answers Step Functions with: it trains to the end, or to the event's epochBudget. */
export type FargateAnswer = TrainResult | TrainBudgetReached;

/** Exit codes: success, failure (reported, or the execution gone), stopped by SIGTERM (128 + 15, as a shell reports it). */
export const EXIT = { succeeded: 0, failed: 1, sigterm: 143 } as const;

/** Step Functions' limits on SendTaskFailure's error and cause. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;
/** A TrainEvent is a small state payload; anything near Step Functions' 256 KiB is not one. */
const MAX_TRAIN_EVENT_BYTES = 256 * 1024;

export interface FargateEntryDeps {
  env?: NodeJS.ProcessEnv;
  argv?: string[];
  sfn?: SFNClient;
  /** Reads the TrainEvent; defaults to the container's shared client (lib/aws/clients.ts). */
  s3?: S3Client;
  /**
   * The train step; defaults to the train Lambda's handler (loaded lazily: it pulls in tfjs). It
   * must stop when `signal` fires, and finish: the task has no one to continue it.
   */
  train?: (event: unknown, signal: AbortSignal) => Promise<TrainOutcome>;
  /** SIGTERM's source; defaults to the process. */
  signals?: SignalSource;
  log?: Log;
}

const defaultLog: Log = (message, extra = {}) =>
  console.log(JSON.stringify({ level: 'INFO', service: 'fmnist-train-fargate', message, ...extra }));

/**
 * The train Lambda's handler without a Lambda context: it resumes from the run's last checkpoint
 * (the Lambda's, when this task is its timeout fallback) and checkpoints as it goes, but never
 * pauses: the task has the whole state timeout.
 */
const defaultTrain = async (event: unknown, signal: AbortSignal): Promise<TrainOutcome> =>
  (await import('./handler.ts')).createTrainHandler({ hooks: { signal } })(event);

export async function runFargateTraining(deps: FargateEntryDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? defaultLog;
  const taskToken = env[FARGATE_ENV.taskToken] || undefined;
  const sfn = taskToken ? (deps.sfn ?? new SFNClient({})) : undefined;
  let watch: TaskWatch | undefined;

  try {
    const settings = parseFargateSettings(env, deps.argv ?? process.argv);
    if (settings.timeScale !== 1) log('timers scaled', { timeScale: settings.timeScale, heartbeatMs: settings.heartbeatMs });
    watch = new TaskWatch({ sfn, taskToken, settings, signals: deps.signals ?? process, log });
    await watch.start();
    const stopped = watch.whenStopped();
    const event = await Promise.race([readTrainEvent(settings.trainEvent, deps.s3), stopped]);
    if (watch.signal.aborted) throw watch.signal.reason;

    const training = (deps.train ?? defaultTrain)(event, watch.signal).then(finished);
    const first = await Promise.race([training.then((result) => ({ result })), stopped.then((reason) => ({ reason }))]);
    const result = 'result' in first ? first.result : await resultWithin(training, settings.stopGraceMs, first.reason);
    watch.dispose();
    if (sfn) await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(result) }));
    else console.log(JSON.stringify(result));
    log('training finished', { runId: result.runId, seconds: result.seconds, resumedFrom: result.resumedFrom });
    return EXIT.succeeded;
  } catch (caught) {
    watch?.dispose();
    // A stop request wins over whatever training rejected with meanwhile (TrainingAborted).
    const error = toError(watch?.signal.aborted ? watch.signal.reason : caught);
    log('training failed', { error: error.name, cause: error.message, stack: error.stack });
    if (error instanceof TaskAbandonedError) return EXIT.failed;
    await reportFailure(sfn, taskToken, error, log);
    return error instanceof TaskStoppedError ? EXIT.sigterm : EXIT.failed;
  }
}

/**
 * After a stop request: training's result if it still finishes within the grace period
 * (uploading the model, say), else the stop reason is thrown. On AWS the process exits right
 * after, which ends whatever training did not finish.
 */
async function resultWithin(training: Promise<FargateAnswer>, graceMs: number, reason: Error): Promise<FargateAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs)));
  try {
    const result = await Promise.race([training.catch(() => undefined), grace]);
    if (result === undefined || reason instanceof TaskAbandonedError) throw reason;
    return result;
  } finally {
    clearTimeout(timer);
  }
}

async function readTrainEvent(source: FargateSettings['trainEvent'], s3: S3Client | undefined): Promise<unknown> {
  if ('argument' in source) return parseTrainEventJson(source.argument, 'the command-line argument');
  const url = s3Url(source);
  let bytes: Buffer;
  try {
    bytes = await getObjectBytes(s3 ?? s3Client(), source);
  } catch (error) {
    // getObjectBytes reports S3's error code on the S3OperationError it throws.
    if ((error as { code?: string }).code === 'NoSuchKey') throw new ConfigError(`the training event ${url} does not exist (${FARGATE_ENV.trainEventKey})`);
    const { name, message } = toError(error);
    throw Object.assign(new Error(`reading the training event ${url}: ${message}`, { cause: error }), { name });
  }
  if (bytes.length > MAX_TRAIN_EVENT_BYTES) throw new ConfigError(`the training event ${url} is ${bytes.length} bytes, more than ${MAX_TRAIN_EVENT_BYTES}`);
  return parseTrainEventJson(bytes.toString('utf8'), url);
}

function parseTrainEventJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the training event in ${where} is not valid JSON: ${(error as Error).message}`);
  }
}

async function reportFailure(sfn: SFNClient | undefined, taskToken: string | undefined, error: Error, log: Log): Promise<void> {
  if (!sfn) return;
  try {
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken,
        error: (error.name || 'Error').slice(0, MAX_ERROR_CHARS),
        cause: error.message.slice(0, MAX_CAUSE_CHARS),
      }),
    );
  } catch (sendError) {
    const { name, message } = toError(sendError);
    log('SendTaskFailure failed', { error: name, cause: message });
  }
}

/** Without a Lambda context the train step never pauses for time; a "continue" here would be a bug, not a result. */
function finished(outcome: TrainOutcome): FargateAnswer {
  if (outcome.status === 'continue') throw new Error(`training answered status "${outcome.status}" on Fargate, where nothing continues it`);
  return outcome;
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  runFargateTraining().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(EXIT.failed);
    },
  );
}
