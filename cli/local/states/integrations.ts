import { randomUUID } from 'node:crypto';
import * as S3 from '@aws-sdk/client-s3';
import { ServiceError } from '../cloud/control-plane.ts';
import { AccessDeniedError, type Caller } from '../cloud/iam.ts';
import { errorDocument } from '../cloud/error-document.ts';
import { LambdaInvocationError } from '../cloud/lambda-service.ts';
import type { LocalCloud } from '../cloud/local-cloud.ts';
import type { AslDefinition, LambdaSpec } from '../cloud/model.ts';
import { statesOf } from './asl.ts';
import { dataLimitExceeded, StatesError } from './errors.ts';
import type { ExecutionHistory } from './history.ts';
import type { JsonValue, TaskTokens } from './task-tokens.ts';
import { currentThread } from './threads.ts';

/**
 * What Step Functions does around a Task state's resource, for the local cloud. aws-local-
 * stepfunctions hands a local handler the state's effective input (after InputPath and
 * Parameters) and takes its return value as the raw result; it does no service integration, no
 * timeout beyond a default and no heartbeat. These handlers add what the service does, chosen by
 * the state's Resource:
 *
 * - `arn:aws:lambda:…:function:F` (LambdaInvoke with payloadResponseOnly): the state machine's
 *   role must be allowed lambda:InvokeFunction on it; the function runs in the local Lambda
 *   service (limits, environment, role: ../cloud/lambda-service.ts); its result is the state's;
 *   its error becomes Error = errorType, Cause = the runtime's error document;
 * - `arn:aws:states:::lambda:invoke`: the same, with the result wrapped as { Payload, StatusCode, … };
 * - `arn:aws:states:::lambda:invoke.waitForTaskToken`: the function invoked as above (its
 *   result is dropped, as Step Functions drops it), then the state waits for SendTaskSuccess /
 *   SendTaskFailure with the token it passed, or its timeout or heartbeat;
 * - `arn:aws:states:::ecs:runTask.waitForTaskToken`: ecs:RunTask and iam:PassRole checked, the
 *   task started in the local ECS (../cloud/ecs-service.ts), RunTask placement failures reported
 *   as AmazonECS.Unknown, the state completed by the task's SendTaskSuccess/SendTaskFailure and
 *   failed by States.HeartbeatTimeout when heartbeats stop (./task-tokens.ts);
 * - `arn:aws:states:::aws-sdk:s3:<action>`: the S3 call made with the state machine role's
 *   credentials against the local S3, which checks IAM itself; errors as `S3.<Code>Exception`.
 *
 * Every Task state gets its TimeoutSeconds (States.Timeout) enforced here, and its input and
 * result checked against the 256 KiB payload limit (States.DataLimitExceeded). Task states inside
 * a Map's ItemProcessor or a Parallel's branches get the same handlers: the library looks them up
 * by state name in every iteration (names are unique across a definition: ./asl.ts). Concurrent
 * iterations of one state are separate invocations: a timeout closes only the task token its own
 * invocation took.
 */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** A synchronous Lambda invocation's response payload limit. */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;

/** In-process stand-in for a Lambda-backed state's code (tests): given the event and the real invocation. */
export type LambdaDouble = (event: JsonValue, invokeReal: (event: JsonValue) => Promise<JsonValue>) => Promise<unknown>;

export interface TaskContext {
  cloud: LocalCloud;
  tokens: TaskTokens;
  history: ExecutionHistory;
  stateMachine: Caller;
  doubles: Partial<Record<string, LambdaDouble>>;
  /** Work still running after its state gave up on it (a double past its timeout). */
  track: (work: Promise<unknown>) => void;
}

/** One run of a Task state: the task tokens it took (closed when it times out). */
interface Invocation {
  tokens: string[];
}
type Handler = (input: JsonValue, invocation: Invocation) => Promise<JsonValue>;
type Kind = 'lambda-function' | 'lambda-invoke' | 'lambda-invoke-wait-for-token' | 'ecs-run-task-wait-for-token' | 'aws-sdk';

export function integrationOf(resource: string): Kind {
  if (/^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+(:[^:]+)?$/.test(resource)) return 'lambda-function';
  if (/^arn:[^:]+:states:::lambda:invoke$/.test(resource)) return 'lambda-invoke';
  if (/^arn:[^:]+:states:::lambda:invoke\.waitForTaskToken$/.test(resource)) return 'lambda-invoke-wait-for-token';
  if (/^arn:[^:]+:states:::ecs:runTask\.waitForTaskToken$/.test(resource)) return 'ecs-run-task-wait-for-token';
  if (/^arn:[^:]+:states:::aws-sdk:s3:[a-zA-Z]+$/.test(resource)) return 'aws-sdk';
  throw new Error(`the local runtime has no emulation for Task resource ${resource}`);
}

export function taskHandlers(definition: AslDefinition, ctx: TaskContext): Record<string, (input: JsonValue) => Promise<JsonValue>> {
  const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  for (const { name, state } of statesOf(definition)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    const kind = integrationOf(resource);
    const run: Handler =
      kind === 'lambda-function'
        ? lambdaTask(name, resource, 'function', ctx)
        : kind === 'lambda-invoke'
          ? lambdaTask(name, resource, 'invoke', ctx)
          : kind === 'lambda-invoke-wait-for-token'
            ? lambdaInvokeWithToken(name, resource, state, ctx)
            : kind === 'ecs-run-task-wait-for-token'
              ? ecsRunTaskWithToken(name, state, ctx)
              : awsSdkS3(name, resource, ctx);
    const timeoutSeconds = state.TimeoutSeconds as number | undefined;
    handlers[name] = (input) => {
      const invocation: Invocation = { tokens: [] };
      return withinTimeout(name, timeoutSeconds, ctx, invocation, () => run(checkSize(name, 'input', input), invocation));
    };
  }
  const unknown = Object.keys(ctx.doubles).filter((name) => !handlers[name]);
  if (unknown.length > 0) throw new Error(`stand-ins given for state(s) the definition has no Task for: ${unknown.join(', ')}`);
  return handlers;
}

/** States.Timeout after TimeoutSeconds (scaled); without TimeoutSeconds AWS waits 99,999,999 s, which is forever here. */
async function withinTimeout(name: string, timeoutSeconds: number | undefined, ctx: TaskContext, invocation: Invocation, run: () => Promise<JsonValue>): Promise<JsonValue> {
  const work = run();
  if (timeoutSeconds === undefined) return work;
  const ms = timeoutSeconds * 1000 * ctx.cloud.timeScale;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StatesError('States.Timeout', `${name} did not finish within its TimeoutSeconds (${timeoutSeconds} s${ctx.cloud.timeScale === 1 ? '' : `, scaled to ${(ms / 1000).toFixed(3)} s`})`);
      for (const token of invocation.tokens) ctx.tokens.close(token, error);
      ctx.track(work.catch(() => undefined));
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function checkSize(name: string, what: 'input' | 'result', value: JsonValue): JsonValue {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
    throw dataLimitExceeded(`the ${what} of ${name} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte limit of Step Functions`);
  }
  return value;
}

const asJson = (value: unknown): JsonValue => {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
};

function lambdaTask(name: string, resource: string, form: 'function' | 'invoke', ctx: TaskContext): Handler {
  return async (input) => {
    let functionArn = resource;
    let event: JsonValue = input;
    if (form === 'invoke') {
      const parameters = (input ?? {}) as { FunctionName?: string; Payload?: JsonValue };
      functionArn = String(parameters.FunctionName ?? '');
      event = parameters.Payload ?? {};
    }
    const fn = findFunction(ctx.cloud, functionArn);
    await authorizeOrFail(ctx, { action: 'lambda:InvokeFunction', resource: functionArn }, 'Lambda.AWSLambdaException');
    const invokeReal = async (payload: JsonValue) => asJson(await invokeFunction(ctx, fn, payload));
    const double = ctx.doubles[name];
    let result: JsonValue;
    try {
      result = double ? asJson(await double(asJson(event), invokeReal)) : await invokeReal(event);
    } catch (error) {
      if (error instanceof StatesError) throw error;
      if (error instanceof LambdaInvocationError) throw new StatesError(error.name, error.message);
      // A stand-in's error, reported as the Lambda runtime would report it.
      const document = errorDocument(error);
      throw new StatesError(document.errorType, JSON.stringify(document));
    }
    const responseBytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
    if (responseBytes > LAMBDA_RESPONSE_LIMIT_BYTES) {
      throw new StatesError('Lambda.Unknown', `Function.ResponseSizeTooLarge: response payload size (${responseBytes} bytes) exceeded maximum allowed payload size (${LAMBDA_RESPONSE_LIMIT_BYTES} bytes)`);
    }
    if (form === 'invoke') {
      result = { ExecutedVersion: '$LATEST', Payload: result, SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: { RequestId: randomUUID() }, StatusCode: 200 };
    }
    return checkSize(name, 'result', result);
  };
}

async function invokeFunction(ctx: TaskContext, fn: LambdaSpec, event: JsonValue): Promise<unknown> {
  return ctx.cloud.lambda.invoke(fn, event);
}

function findFunction(cloud: LocalCloud, arn: string): LambdaSpec {
  const unqualified = arn.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):[^:]+$/, '$1');
  const fn = cloud.model.functions.find((candidate) => candidate.arn === unqualified || candidate.name === unqualified);
  if (!fn) throw new StatesError('Lambda.ResourceNotFoundException', `Function not found: ${arn}`);
  return fn;
}

async function authorizeOrFail(ctx: TaskContext, request: { action: string; resource: string; context?: Record<string, string> }, errorName: string): Promise<void> {
  try {
    await ctx.cloud.authorizer.authorize(ctx.stateMachine, request);
  } catch (error) {
    if (error instanceof AccessDeniedError) throw new StatesError(errorName, `${error.message} (Status Code: 403; Error Code: AccessDeniedException)`);
    throw error;
  }
}

/**
 * The token this state read from `$$.Task.Token`, which must appear in what it sends. Taken
 * synchronously after the library evaluated the state's Parameters (nothing else runs in between,
 * so concurrent iterations cannot take each other's).
 */
function takeToken(name: string, parameters: JsonValue, ctx: TaskContext, invocation: Invocation): string {
  const token = ctx.tokens.take();
  invocation.tokens.push(token);
  currentThread()?.tokens.add(token);
  if (!JSON.stringify(parameters).includes(token)) {
    throw new StatesError('States.Runtime', `${name}: a .waitForTaskToken state must pass $$.Task.Token in its Parameters`, { retryable: false, catchable: false });
  }
  return token;
}

/** Waits for the token's answer (or heartbeat timeout); the token is closed whatever ends the wait. */
async function waitForToken(name: string, token: string, heartbeatSeconds: number | undefined, ctx: TaskContext): Promise<JsonValue> {
  const heartbeatMs = heartbeatSeconds === undefined ? undefined : heartbeatSeconds * 1000 * ctx.cloud.timeScale;
  const waiting = ctx.tokens.wait(token, name, heartbeatMs);
  waiting.catch(() => undefined);
  try {
    return await waiting;
  } finally {
    ctx.tokens.close(token);
  }
}

function lambdaInvokeWithToken(name: string, resource: string, state: Record<string, unknown>, ctx: TaskContext): Handler {
  const invoke = lambdaTask(name, resource, 'invoke', ctx);
  return async (input, invocation) => {
    const token = takeToken(name, input, ctx, invocation);
    await invoke(input, invocation);
    return waitForToken(name, token, state.HeartbeatSeconds as number | undefined, ctx);
  };
}

function ecsRunTaskWithToken(name: string, state: Record<string, unknown>, ctx: TaskContext): Handler {
  const heartbeatSeconds = state.HeartbeatSeconds as number | undefined;
  return async (input, invocation) => {
    const parameters = input as Record<string, unknown>;
    const token = takeToken(name, parameters as JsonValue, ctx, invocation);
    const cloud = ctx.cloud;
    // A family (CDK renders one) or an ARN without revision means the latest revision: ECS authorises RunTask on that revision's ARN.
    const definition = cloud.ecs.taskDefinition(parameters.TaskDefinition);
    const cluster = cloud.ecs.cluster(parameters.Cluster);
    await authorizeOrFail(
      ctx,
      { action: 'ecs:RunTask', resource: definition?.arn ?? String(parameters.TaskDefinition), context: cluster ? { 'ecs:cluster': cluster.arn } : {} },
      'ECS.AccessDeniedException',
    );
    for (const role of [definition?.taskRole, definition?.executionRole]) {
      if (!role) continue;
      await authorizeOrFail(
        ctx,
        { action: 'iam:PassRole', resource: cloud.model.roles.get(role)!.arn, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        'ECS.AccessDeniedException',
      );
    }
    let response;
    try {
      response = await cloud.ecs.runTask(parameters);
    } catch (error) {
      if (error instanceof ServiceError) throw new StatesError(`ECS.${error.name}`, error.message);
      throw error;
    }
    if (response.Failures.length > 0) {
      throw new StatesError('AmazonECS.Unknown', `RunTask placed no task: ${JSON.stringify(response.Failures)}`);
    }
    ctx.history.taskSubmitted('ecs', 'runTask.waitForTaskToken', response, currentThread());
    return waitForToken(name, token, heartbeatSeconds, ctx);
  };
}

function awsSdkS3(name: string, resource: string, ctx: TaskContext): Handler {
  const action = resource.slice(resource.lastIndexOf(':') + 1);
  const commandName = `${action[0].toUpperCase()}${action.slice(1)}Command`;
  const Command = (S3 as unknown as Record<string, new (input: unknown) => S3.PutObjectCommand>)[commandName];
  if (!Command) throw new Error(`${name}: @aws-sdk/client-s3 has no ${commandName}`);
  return async (input) => {
    const client = ctx.cloud.s3ClientFor(ctx.stateMachine);
    try {
      const { $metadata: _metadata, ...output } = (await client.send(new Command(input))) as unknown as Record<string, unknown>;
      return checkSize(name, 'result', asJson(output));
    } catch (error) {
      // Step Functions names SDK integration errors <Service>.<Code>Exception (S3.NoSuchKeyException).
      const code = (error as Error & { Code?: string }).Code ?? (error as Error).name;
      const err = error as Error;
      throw new StatesError(`S3.${code.endsWith('Exception') ? code : `${code}Exception`}`, `${err.message} (Service: S3, Status Code: ${(error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? '?'})`);
    }
  };
}
