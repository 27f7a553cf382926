import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createEvaluateHandler } from '../../functions/evaluate/handler.ts';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { createPromoteHandler } from '../../functions/promote/handler.ts';
import { runFargateTraining, TASK_TOKEN_ENV } from '../../functions/train/fargate.ts';
import { createTrainHandler } from '../../functions/train/handler.ts';
import { createValidateHandler } from '../../functions/validate/handler.ts';
import type { HandlerDeps } from '../aws/handler-deps.ts';
import type { TrainHooks } from '../model/train.ts';
import type { TrainResult } from '../workflow/events.ts';
import type { AslDefinition } from './definition.ts';
import {
  asJson,
  containerEnvironment,
  integrationOf,
  type JsonValue,
  lambdaTask,
  type LocalTaskTokens,
  STATE_PAYLOAD_LIMIT_BYTES,
  StatesError,
  type TaskFunction,
} from './integrations.ts';

/**
 * Which code runs behind each Task state, by state name (the names are the interface between
 * lib/infra/workflow-definition.ts and this runner). The same handler factories the Lambda
 * functions export, given the local bucket's client:
 *
 *   ValidateInput  -> functions/validate/handler.ts   (Lambda, payloadResponseOnly)
 *   Ingest         -> functions/ingest/handler.ts     (Lambda, payloadResponseOnly)
 *   TrainOnLambda  -> functions/train/handler.ts      (Lambda, payloadResponseOnly)
 *   TrainOnFargate -> functions/train/fargate.ts running functions/train/handler.ts
 *                     (ecs:runTask.waitForTaskToken: the container's environment from the
 *                     state's ContainerOverrides, completion by SendTaskSuccess/Failure)
 *   Evaluate       -> functions/evaluate/handler.ts   (Lambda, payloadResponseOnly)
 *   Promote        -> functions/promote/handler.ts    (Lambda, payloadResponseOnly)
 *
 * The names are repeated here rather than imported from workflow-definition.ts because that
 * module loads aws-cdk-lib (about 2 s); test/local checks they equal STATE_NAMES, and the runner
 * refuses a definition with a Task state that has no function here (or a mapping to no state).
 */
export const LOCAL_TASK_STATES = {
  validate: 'ValidateInput',
  ingest: 'Ingest',
  trainOnLambda: 'TrainOnLambda',
  trainOnFargate: 'TrainOnFargate',
  evaluate: 'Evaluate',
  promote: 'Promote',
} as const;

export type LocalTaskStateName = (typeof LOCAL_TASK_STATES)[keyof typeof LOCAL_TASK_STATES];

export interface TaskFunctionDeps {
  s3: S3Client;
  bucket: string;
  /** A logger per service name (fmnist-ingest, ...). */
  logger: (serviceName: string) => Logger;
  /** Passed to the train handler as `hooks` (used once the handler accepts them; see README). */
  trainHooks?: TrainHooks;
}

/** The handler functions, one per Task state. For TrainOnFargate: the train step inside the container. */
export function defaultTaskFunctions(deps: TaskFunctionDeps): Record<LocalTaskStateName, TaskFunction> {
  const common = (service: string): HandlerDeps => ({ s3: deps.s3, bucket: deps.bucket, logger: deps.logger(service) });
  const trainDeps = (service: string): HandlerDeps => {
    // A variable, not a literal: `hooks` is not (yet) part of HandlerDeps.
    const withHooks: HandlerDeps & { hooks?: TrainHooks } = { ...common(service), hooks: deps.trainHooks };
    return withHooks;
  };
  return {
    ValidateInput: createValidateHandler({ logger: deps.logger('fmnist-validate') }),
    Ingest: createIngestHandler(common('fmnist-ingest')),
    TrainOnLambda: createTrainHandler(trainDeps('fmnist-train')),
    TrainOnFargate: createTrainHandler(trainDeps('fmnist-train')),
    Evaluate: createEvaluateHandler(common('fmnist-evaluate')),
    Promote: createPromoteHandler(common('fmnist-promote')),
  };
}

export interface LocalHandlerOptions {
  tokens: LocalTaskTokens;
  /** Where the Fargate entry's own log lines go. */
  fargateLog?: (message: string, extra?: Record<string, unknown>) => void;
  /** Called with every task promise (the runner waits for ones a timeout left running). */
  track?: (stateName: string, work: Promise<unknown>) => void;
}

type LocalHandler = (input: JsonValue) => Promise<JsonValue>;

/**
 * aws-local-stepfunctions `taskResourceLocalHandlers` for every Task state of `definition`, each
 * wrapped in the emulation its Resource ARN calls for (./integrations.ts).
 */
export function localTaskHandlers(
  definition: AslDefinition,
  functions: Partial<Record<string, TaskFunction>>,
  options: LocalHandlerOptions,
): Record<string, LocalHandler> {
  const handlers: Record<string, LocalHandler> = {};
  const taskStates = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
  const missing = taskStates.filter(([name]) => !functions[name]).map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `Task state(s) without local code: ${missing.join(', ')}. Map them in lib/local/tasks.ts ` +
        '(state names are the interface between lib/infra/workflow-definition.ts and the local runner).',
    );
  }
  const unknown = Object.keys(functions).filter((name) => functions[name] && !definition.States[name]);
  if (unknown.length > 0) {
    throw new Error(`local code mapped to state(s) the definition does not have: ${unknown.join(', ')} (renamed?)`);
  }
  for (const [name, state] of taskStates) {
    const fn = functions[name]!;
    const kind = integrationOf(String(state.Resource));
    const run: LocalHandler =
      kind === 'ecs-run-task-wait-for-token' ? ecsRunTaskWithToken(name, fn, options) : lambdaTask(name, kind, fn);
    handlers[name] = (input) => {
      const work = run(input);
      options.track?.(name, work);
      return work;
    };
  }
  return handlers;
}

/**
 * `ecs:runTask.waitForTaskToken`: "starts the container" in-process, which is the unchanged
 * Fargate entry (runFargateTraining) given the environment the state's ContainerOverrides set
 * (FMNIST_TRAIN_EVENT, SFN_TASK_TOKEN), an SFN client answered by `tokens`, and the train step.
 * The state completes when the entry calls SendTaskSuccess (its output is the result) or
 * SendTaskFailure (its error and cause become the state's). Not emulated: HeartbeatSeconds
 * (aws-local-stepfunctions ignores it; the entry still sends heartbeats, counted by `tokens`).
 * A container that ends without either callback fails the state at once with
 * States.HeartbeatTimeout, where AWS would wait HeartbeatSeconds first.
 */
export function ecsRunTaskWithToken(stateName: string, train: TaskFunction, options: LocalHandlerOptions): LocalHandler {
  return async (parameters) => {
    const env = containerEnvironment(parameters);
    const token = env[TASK_TOKEN_ENV];
    if (!token) {
      throw new StatesError('States.Runtime', `${stateName}: no ${TASK_TOKEN_ENV} in the container overrides`, {
        retryable: false,
        catchable: false,
      });
    }
    const completion = options.tokens.wait(token);
    const container = runFargateTraining({
      env,
      sfn: options.tokens.client,
      train: (event) => train(asJson(event)) as Promise<TrainResult>,
      log: options.fargateLog ?? (() => {}),
      onAbandoned: () => {},
    });
    container.then(
      (code) =>
        options.tokens.fail(
          token,
          new StatesError('States.HeartbeatTimeout', `${stateName}: the task exited (code ${code}) without SendTaskSuccess or SendTaskFailure`),
        ),
      (error: unknown) =>
        options.tokens.fail(
          token,
          new StatesError('States.HeartbeatTimeout', `${stateName}: the task crashed without SendTaskSuccess or SendTaskFailure: ${String(error)}`),
        ),
    );
    const output = await completion;
    const bytes = Buffer.byteLength(JSON.stringify(output), 'utf8');
    if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
      throw new StatesError('States.DataLimitExceeded', `the output sent for ${stateName} is ${bytes} bytes`, {
        retryable: false,
        catchable: false,
      });
    }
    return output;
  };
}
