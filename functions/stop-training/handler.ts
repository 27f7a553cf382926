import { Logger } from '@aws-lambda-powertools/logger';
import { ClusterNotFoundException, ECSClient, InvalidParameterException, StopTaskCommand } from '@aws-sdk/client-ecs';
import { paginateGetExecutionHistory, SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { parseEvent } from '../../lib/workflow/events.ts';

/**
 * Stops the Fargate training tasks of an execution that failed, timed out or was aborted. Step
 * Functions does not stop a task started with `ecs:runTask.waitForTaskToken` when the execution
 * stops waiting for it, so without this a container would train on, unwatched and billed.
 *
 * Target of an EventBridge rule on "Step Functions Execution Status Change" events of the
 * training workflow. Reads the execution's history for the ECS tasks it started (TaskSubmitted
 * events) and calls StopTask for each one in $TRAINING_CLUSTER_ARN. Idempotent: EventBridge may
 * deliver an event twice, and stopping a stopped or vanished task is fine.
 */
export const STOP_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export const CLUSTER_ENV = 'TRAINING_CLUSTER_ARN';

/** ECS's limit on StopTask's reason. */
const MAX_REASON_CHARS = 255;

export const ExecutionStatusChange = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:.+$/, 'must be a Step Functions execution ARN'),
    status: z.string().min(1),
  }),
});

export interface StopTrainingResult {
  executionArn: string;
  status: string;
  /** Tasks StopTask accepted (running ones stop, stopped ones stay stopped). */
  stopped: string[];
  /** Tasks ECS no longer knows. */
  gone: string[];
  /** Tasks outside the training cluster, left alone. */
  skipped: string[];
}

export interface StopTrainingDeps {
  sfn?: SFNClient;
  ecs?: ECSClient;
  logger?: Logger;
  /** Defaults to $TRAINING_CLUSTER_ARN. */
  clusterArn?: string;
}

let sharedSfn: SFNClient | undefined;
let sharedEcs: ECSClient | undefined;

export function createStopTrainingHandler(deps: StopTrainingDeps = {}) {
  const logger = deps.logger ?? new Logger({ serviceName: 'fmnist-stop-training' });
  return async (event: unknown): Promise<StopTrainingResult | undefined> => {
    const { detail } = parseEvent(ExecutionStatusChange, event, 'execution status change');
    const { executionArn, status } = detail;
    if (!(STOP_STATUSES as readonly string[]).includes(status)) {
      logger.info('execution status needs no stopping', { executionArn, status });
      return undefined;
    }
    const cluster = parseClusterArn(deps.clusterArn ?? process.env[CLUSTER_ENV]);
    const sfn = deps.sfn ?? (sharedSfn ??= new SFNClient({}));
    const ecs = deps.ecs ?? (sharedEcs ??= new ECSClient({}));

    const result: StopTrainingResult = { executionArn, status, stopped: [], gone: [], skipped: [] };
    const failures: string[] = [];
    const reason = `Step Functions execution ${executionArn} ended ${status}`.slice(0, MAX_REASON_CHARS);
    for (const taskArn of await ecsTasksOf(sfn, executionArn, logger)) {
      const task = parseTaskArn(taskArn);
      if (!task || task.clusterArn !== cluster) {
        logger.warn('task is not in the training cluster: left alone', { executionArn, taskArn, cluster });
        result.skipped.push(taskArn);
        continue;
      }
      try {
        await ecs.send(new StopTaskCommand({ cluster: task.clusterArn, task: taskArn, reason }));
        logger.info('task stopped', { executionArn, status, taskArn });
        result.stopped.push(taskArn);
      } catch (error) {
        if (isGone(error)) {
          logger.info('task already gone', { executionArn, taskArn, error: (error as Error).message });
          result.gone.push(taskArn);
        } else {
          logger.error('StopTask failed', { executionArn, taskArn, error: error as Error });
          failures.push(`${taskArn}: ${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    }
    // Every task got its try; a failure is thrown so Lambda retries the event (stopping twice is harmless).
    if (failures.length > 0) throw new Error(`could not stop ${failures.length} training task(s) of ${executionArn}: ${failures.join('; ')}`);
    return result;
  };
}

/** The task ARNs in the outputs of the execution's ECS TaskSubmitted events (RunTask's response), each once. */
async function ecsTasksOf(sfn: SFNClient, executionArn: string, logger: Logger): Promise<string[]> {
  const arns = new Set<string>();
  const pages = paginateGetExecutionHistory({ client: sfn, pageSize: 1000 }, { executionArn, includeExecutionData: true });
  for await (const page of pages) {
    for (const event of page.events ?? []) {
      const details = event.taskSubmittedEventDetails;
      if (event.type !== 'TaskSubmitted' || details?.resourceType !== 'ecs') continue;
      const found = taskArnsIn(details.output);
      if (found === undefined) {
        logger.warn('TaskSubmitted output names no task', { executionArn, eventId: event.id, truncated: details.outputDetails?.truncated });
        continue;
      }
      for (const arn of found) arns.add(arn);
    }
  }
  return [...arns];
}

/** RunTask's response as Step Functions records it: `Tasks[].TaskArn`, or the API's own `tasks[].taskArn`. */
function taskArnsIn(output: string | undefined): string[] | undefined {
  if (!output) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return undefined;
  }
  const response = parsed as { Tasks?: { TaskArn?: unknown }[]; tasks?: { taskArn?: unknown }[] };
  const arns = [
    ...(Array.isArray(response.Tasks) ? response.Tasks.map((task) => task?.TaskArn) : []),
    ...(Array.isArray(response.tasks) ? response.tasks.map((task) => task?.taskArn) : []),
  ].filter((arn): arn is string => typeof arn === 'string');
  return arns.length > 0 ? arns : undefined;
}

const CLUSTER_ARN = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster\/([A-Za-z0-9_-]{1,255})$/;
const TASK_ARN = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):task\/([A-Za-z0-9_-]{1,255})\/[A-Za-z0-9]+$/;

function parseClusterArn(value: string | undefined): string {
  if (!value) throw new ConfigError(`${CLUSTER_ENV} is not set`);
  if (!CLUSTER_ARN.test(value)) throw new ConfigError(`${CLUSTER_ENV}: "${value}" is not an ECS cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)`);
  return value;
}

/** The task's cluster from its ARN (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`); undefined for other shapes. */
function parseTaskArn(arn: string): { clusterArn: string } | undefined {
  const match = TASK_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition, region, account, cluster] = match;
  return { clusterArn: `arn:${partition}:ecs:${region}:${account}:cluster/${cluster}` };
}

/** ECS forgets stopped tasks after a while ("The referenced task was not found"), and a deleted cluster its tasks. */
function isGone(error: unknown): boolean {
  return (error instanceof InvalidParameterException && /not found/i.test(error.message)) || error instanceof ClusterNotFoundException;
}

export const handler = createStopTrainingHandler();
