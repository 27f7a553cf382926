import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';

/**
 * What Step Functions does around a Task state's resource, for in-process functions. The
 * aws-local-stepfunctions library hands a local override the state's effective input (after
 * InputPath and Parameters) and takes whatever it returns as the raw result (before
 * ResultSelector and ResultPath): it does no service integration of its own. These adapters add
 * what the real services do, chosen by the state's Resource ARN:
 *
 * - `arn:aws:lambda:…:function:F` (CDK LambdaInvoke with payloadResponseOnly, as every Lambda
 *   state of this workflow): the input is the payload, the result is the function's return value;
 * - `arn:aws:states:::lambda:invoke` (LambdaInvoke without payloadResponseOnly): the input is
 *   { FunctionName, Payload }, the result is wrapped as { Payload, StatusCode: 200, … };
 * - `arn:aws:states:::ecs:runTask.waitForTaskToken`: see ecsRunTaskWithToken().
 *
 * A Lambda function's thrown error becomes what Step Functions reports for it: Error = the
 * error's name (the Node.js runtime's errorType), Cause = the runtime's JSON error document
 * {"errorType","errorMessage","trace"}. Payloads travel as JSON (undefined keys vanish, as they do
 * in Lambda), and a result over Step Functions' 256 KiB limit fails with States.DataLimitExceeded,
 * which no Retry or Catch matches.
 */
export type TaskFunction = (event: unknown) => Promise<unknown>;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type IntegrationKind = 'lambda-function' | 'lambda-invoke' | 'ecs-run-task-wait-for-token';

export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export function integrationOf(resource: string): IntegrationKind {
  if (/^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+(:[^:]+)?$/.test(resource)) return 'lambda-function';
  if (/^arn:[^:]+:states:::lambda:invoke$/.test(resource)) return 'lambda-invoke';
  if (/^arn:[^:]+:states:::ecs:runTask\.waitForTaskToken$/.test(resource)) return 'ecs-run-task-wait-for-token';
  throw new Error(`the local runner has no emulation for Task resource ${resource}`);
}

/** An error as aws-local-stepfunctions matches it: by `name`; `message` becomes the Cause. */
export class StatesError extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;
  constructor(name: string, cause: string, options: { retryable?: boolean; catchable?: boolean } = {}) {
    super(cause);
    this.name = name;
    this.isRetryable = options.retryable ?? true;
    this.isCatchable = options.catchable ?? true;
  }
}

/** Lambda's JSON round trip of an event or a result. */
export function asJson(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function checkPayloadSize(stateName: string, value: JsonValue): JsonValue {
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `the result of ${stateName} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte limit of Step Functions`,
      { retryable: false, catchable: false },
    );
  }
  return value;
}

/** The Node.js Lambda runtime's error document, as Step Functions puts it in Cause. */
export function lambdaErrorCause(error: unknown): { errorType: string; cause: string } {
  const err = error instanceof Error ? error : undefined;
  const errorType = err?.name || (typeof error === 'string' ? 'string' : 'Error');
  const errorMessage = err ? err.message : String(error);
  const trace = err?.stack ? err.stack.split('\n') : [];
  return { errorType, cause: JSON.stringify({ errorType, errorMessage, trace }) };
}

/**
 * A handler behind a Lambda task. Errors the test or the emulation raise as StatesError pass
 * through unchanged (e.g. Lambda.ServiceException, which the Lambda service raises, not the code).
 */
export function lambdaTask(stateName: string, kind: 'lambda-function' | 'lambda-invoke', fn: TaskFunction) {
  return async (input: unknown): Promise<JsonValue> => {
    let event: unknown = input;
    if (kind === 'lambda-invoke') {
      const parameters = (input ?? {}) as { Payload?: unknown };
      event = parameters.Payload ?? {};
    }
    let result: JsonValue;
    try {
      result = asJson(await fn(asJson(event)));
    } catch (error) {
      if (error instanceof StatesError) throw error;
      const { errorType, cause } = lambdaErrorCause(error);
      throw new StatesError(errorType, cause);
    }
    if (kind === 'lambda-invoke') {
      result = {
        ExecutedVersion: '$LATEST',
        Payload: result,
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: randomUUID() },
        StatusCode: 200,
      };
    }
    return checkPayloadSize(stateName, result);
  };
}

/**
 * Task tokens for `.waitForTaskToken` states, and an SFN client whose SendTaskSuccess,
 * SendTaskFailure and SendTaskHeartbeat are answered here instead of by AWS (a middleware that
 * short-circuits the request), so the unchanged Fargate entry completes the state the way it
 * does in AWS. Each read of `$$.Task.Token` after a task started gets a fresh token, so every
 * attempt (a Retry included) waits on its own token; a callback for a finished or unknown token
 * fails with TaskTimedOut or InvalidToken as in AWS.
 */
export class LocalTaskTokens {
  #current: string | undefined;
  readonly #waiting = new Map<
    string,
    { resolve: (output: JsonValue) => void; reject: (error: Error) => void; heartbeats: number }
  >();
  readonly #finished = new Set<string>();
  readonly client: SFNClient;

  constructor(readonly prefix = 'local') {
    this.client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    this.client.middlewareStack.add(
      () => async (args) => {
        const output = this.#handle(args.input as Record<string, unknown>);
        return { output: { $metadata: { httpStatusCode: 200 }, ...output }, response: {} };
      },
      { step: 'initialize', name: 'localTaskTokens', priority: 'high' },
    );
  }

  /** The token `$$.Task.Token` reads as: the open one, or a new one. */
  get current(): string {
    return (this.#current ??= `${this.prefix}-${randomUUID()}`);
  }

  /** A Context Object `Task` member whose Token is read at each evaluation. */
  contextTask(): { readonly Token: string } {
    const tokens = this;
    return {
      get Token() {
        return tokens.current;
      },
    };
  }

  /** Starts waiting on `token`; the next `$$.Task.Token` read gets a new token. */
  wait(token: string): Promise<JsonValue> {
    if (this.#waiting.has(token) || this.#finished.has(token)) {
      throw new StatesError('States.Runtime', `task token ${token} was already used`, { retryable: false, catchable: false });
    }
    if (token === this.#current) this.#current = undefined;
    return new Promise<JsonValue>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, heartbeats: 0 });
    });
  }

  isWaiting(token: string): boolean {
    return this.#waiting.has(token);
  }

  heartbeats(token: string): number | undefined {
    return this.#waiting.get(token)?.heartbeats;
  }

  /** Fails a waiting token from the emulation's side (e.g. the container exited without a callback). */
  fail(token: string, error: Error): void {
    const waiter = this.#waiting.get(token);
    if (!waiter) return;
    this.#settle(token);
    waiter.reject(error);
  }

  #settle(token: string): void {
    this.#waiting.delete(token);
    this.#finished.add(token);
  }

  /** SendTaskSuccess has `output`, SendTaskFailure `error`/`cause`, SendTaskHeartbeat only the token. */
  #handle(input: Record<string, unknown>): Record<string, unknown> {
    const token = String(input.taskToken ?? '');
    const waiter = this.#waiting.get(token);
    if (!waiter) {
      throw Object.assign(new Error(this.#finished.has(token) ? 'Task Timed Out' : 'Invalid Token'), {
        name: this.#finished.has(token) ? 'TaskTimedOut' : 'InvalidToken',
      });
    }
    if ('output' in input) {
      let output: JsonValue;
      try {
        output = JSON.parse(String(input.output)) as JsonValue;
      } catch {
        throw Object.assign(new Error('output is not valid JSON'), { name: 'InvalidOutput' });
      }
      this.#settle(token);
      waiter.resolve(output);
    } else if ('error' in input || 'cause' in input) {
      this.#settle(token);
      waiter.reject(new StatesError(String(input.error ?? ''), String(input.cause ?? '')));
    } else {
      waiter.heartbeats++;
    }
    return {};
  }
}

/** The environment of the container override in ecs:runTask Parameters, as ECS would set it. */
export function containerEnvironment(parameters: unknown): Record<string, string> {
  const overrides = (parameters as { Overrides?: { ContainerOverrides?: { Environment?: { Name: string; Value: string }[] }[] } })
    ?.Overrides?.ContainerOverrides;
  const env: Record<string, string> = {};
  for (const override of overrides ?? []) {
    for (const variable of override.Environment ?? []) env[variable.Name] = String(variable.Value);
  }
  return env;
}
