import { pathToFileURL } from 'node:url';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import type { TrainResult } from '../../lib/workflow/events.ts';

/**
 * The Fargate entry of the training image: the same train step as the train Lambda
 * (createTrainHandler from ./handler.ts), fed and answered the way Step Functions'
 * `ecs:runTask.waitForTaskToken` integration works:
 *
 * - input: the TrainEvent JSON in $FMNIST_TRAIN_EVENT (set by the state's container override),
 *   or as the first command-line argument when run by hand;
 * - $SFN_TASK_TOKEN: the task token; without it the result is printed and nothing is sent;
 * - heartbeats every $FMNIST_HEARTBEAT_SECONDS (default 60) so a dead container is noticed
 *   within the state's HeartbeatSeconds, and the container stops early when the execution has
 *   gone (TaskTimedOut, TaskDoesNotExist);
 * - SendTaskSuccess with the TrainResult, or SendTaskFailure with the error's name and message
 *   (a ConfigError stays a ConfigError in the execution's history).
 * Exit code 0 on success, 1 on failure.
 */
export const TRAIN_EVENT_ENV = 'FMNIST_TRAIN_EVENT';
export const TASK_TOKEN_ENV = 'SFN_TASK_TOKEN';

export interface FargateEntryDeps {
  env?: NodeJS.ProcessEnv;
  argv?: string[];
  sfn?: SFNClient;
  /** The train step; defaults to the train Lambda's handler (loaded lazily: it pulls in tfjs). */
  train?: (event: unknown) => Promise<TrainResult>;
  heartbeatMs?: number;
  log?: (message: string, extra?: Record<string, unknown>) => void;
  /** Called when Step Functions says the task is gone; defaults to exiting the process. */
  onAbandoned?: () => void;
}

const defaultLog = (message: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ level: 'INFO', service: 'fmnist-train-fargate', message, ...extra }));

export async function runFargateTraining(deps: FargateEntryDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? defaultLog;
  const token = env[TASK_TOKEN_ENV] || undefined;
  const sfn = token ? (deps.sfn ?? new SFNClient({})) : undefined;
  const heartbeatMs = deps.heartbeatMs ?? Number(env.FMNIST_HEARTBEAT_SECONDS ?? 60) * 1000;
  const onAbandoned = deps.onAbandoned ?? (() => process.exit(1));

  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    try {
      await sfn!.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    } catch (error) {
      const name = (error as Error).name;
      log('heartbeat failed', { error: name, cause: (error as Error).message });
      if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist' || name === 'InvalidToken') {
        if (timer) clearInterval(timer);
        log('the execution no longer waits for this task: stopping');
        onAbandoned();
      }
    }
  };

  try {
    if (sfn) {
      await beat();
      timer = setInterval(() => void beat(), heartbeatMs);
      timer.unref();
    }
    const raw = env[TRAIN_EVENT_ENV] ?? (deps.argv ?? process.argv)[2];
    if (raw === undefined || raw === '') {
      throw Object.assign(new Error(`no training event: set ${TRAIN_EVENT_ENV} or pass the TrainEvent JSON as argument`), {
        name: 'ConfigError',
      });
    }
    let event: unknown;
    try {
      event = JSON.parse(raw);
    } catch (error) {
      throw Object.assign(new Error(`the training event is not valid JSON: ${(error as Error).message}`), { name: 'ConfigError' });
    }
    const train = deps.train ?? (await import('./handler.ts')).createTrainHandler();
    const result = await train(event);
    if (timer) clearInterval(timer);
    if (sfn) await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(result) }));
    else console.log(JSON.stringify(result));
    log('training finished', { runId: result.runId, seconds: result.seconds });
    return 0;
  } catch (error) {
    if (timer) clearInterval(timer);
    const err = error instanceof Error ? error : new Error(String(error));
    log('training failed', { error: err.name, cause: err.message, stack: err.stack });
    if (sfn) {
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: (err.name || 'Error').slice(0, 256),
          cause: err.message.slice(0, 32_768),
        }),
      );
    }
    return 1;
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  runFargateTraining().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
