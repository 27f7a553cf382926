import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { DataValidationError } from '../../lib/data/errors.ts';
import {
  containerEnvironment,
  integrationOf,
  lambdaTask,
  LocalTaskTokens,
  STATE_PAYLOAD_LIMIT_BYTES,
  StatesError,
} from '../../lib/local/integrations.ts';
import { installPromiseWithResolvers } from '../../lib/local/polyfills.ts';
import { LocalLogger, type LocalLogRecord } from '../../lib/local/logger.ts';
import { causeMessage } from '../../lib/local/progress.ts';

describe('integrationOf', () => {
  test('tells the Task resources apart', () => {
    assert.equal(integrationOf('arn:aws:lambda:us-east-1:123456789012:function:StepsIngestF553F13D'), 'lambda-function');
    assert.equal(integrationOf('arn:aws:lambda:us-east-1:123456789012:function:F:live'), 'lambda-function');
    assert.equal(integrationOf('arn:aws:states:::lambda:invoke'), 'lambda-invoke');
    assert.equal(integrationOf('arn:aws:states:::ecs:runTask.waitForTaskToken'), 'ecs-run-task-wait-for-token');
    assert.throws(() => integrationOf('arn:aws:states:::ecs:runTask.sync'), /no emulation/);
  });
});

describe('lambdaTask', () => {
  test('direct function ARN (payloadResponseOnly): the payload in, the return value out, as JSON', async () => {
    let received: unknown;
    const run = lambdaTask('S', 'lambda-function', async (event) => {
      received = event;
      return { ok: true, skipped: undefined, at: new Date(0) };
    });
    assert.deepEqual(await run({ a: 1 }), { ok: true, at: '1970-01-01T00:00:00.000Z' });
    assert.deepEqual(received, { a: 1 });
  });

  test('lambda:invoke: Payload in, the result wrapped like the optimized integration', async () => {
    const run = lambdaTask('S', 'lambda-invoke', async (event) => ({ echoed: event }));
    const result = (await run({ FunctionName: 'arn:aws:lambda:us-east-1:1:function:F', Payload: { x: 2 } })) as Record<string, unknown>;
    assert.deepEqual(result.Payload, { echoed: { x: 2 } });
    assert.equal(result.StatusCode, 200);
    assert.equal(result.ExecutedVersion, '$LATEST');
  });

  test("a thrown error: Error = its name, Cause = the Node.js runtime's JSON error document", async () => {
    const run = lambdaTask('Ingest', 'lambda-function', async () => {
      throw new DataValidationError('s3://b/raw/x.csv', 'pixel value 300 is out of range', 3, 'pixel7');
    });
    const error = (await run({}).catch((e: unknown) => e)) as StatesError;
    assert.ok(error instanceof StatesError);
    assert.equal(error.name, 'DataValidationError');
    const cause = JSON.parse(error.message) as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(cause.errorType, 'DataValidationError');
    assert.equal(cause.errorMessage, 's3://b/raw/x.csv, line 3, column pixel7: pixel value 300 is out of range');
    assert.ok(Array.isArray(cause.trace) && cause.trace.length > 0);
    assert.equal(causeMessage(error.message), cause.errorMessage);
    assert.equal(error.isRetryable, true);
  });

  test('a result over 256 KiB fails with States.DataLimitExceeded, which no Retry or Catch matches', async () => {
    const run = lambdaTask('S', 'lambda-function', async () => 'x'.repeat(STATE_PAYLOAD_LIMIT_BYTES));
    const error = (await run({}).catch((e: unknown) => e)) as StatesError;
    assert.equal(error.name, 'States.DataLimitExceeded');
    assert.equal(error.isCatchable, false);
    assert.equal(error.isRetryable, false);
  });
});

describe('LocalTaskTokens', () => {
  test('SendTaskSuccess completes the waiting token with the parsed output; the token is then spent', async () => {
    const tokens = new LocalTaskTokens('t');
    const task = tokens.contextTask();
    const token = task.Token;
    assert.equal(task.Token, token, 'stable until a task waits on it');
    const done = tokens.wait(token);
    assert.notEqual(task.Token, token, 'the next task attempt gets a new token');
    await tokens.client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    assert.equal(tokens.heartbeats(token), 1);
    await tokens.client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"runId":"r"}' }));
    assert.deepEqual(await done, { runId: 'r' });
    await assert.rejects(tokens.client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), { name: 'TaskTimedOut' });
    await assert.rejects(tokens.client.send(new SendTaskHeartbeatCommand({ taskToken: 'nope' })), { name: 'InvalidToken' });
  });

  test("SendTaskFailure fails the state with the sender's error and cause", async () => {
    const tokens = new LocalTaskTokens();
    const token = tokens.current;
    const done = tokens.wait(token);
    await tokens.client.send(new SendTaskFailureCommand({ taskToken: token, error: 'ConfigError', cause: 'bad epochs' }));
    await assert.rejects(done, (error: Error) => error.name === 'ConfigError' && error.message === 'bad epochs');
  });

  test('containerEnvironment reads the ContainerOverrides of ecs:runTask parameters', () => {
    const env = containerEnvironment({
      Overrides: {
        ContainerOverrides: [{ Name: 'train', Environment: [{ Name: 'A', Value: '1' }, { Name: 'SFN_TASK_TOKEN', Value: 'tok' }] }],
      },
    });
    assert.deepEqual(env, { A: '1', SFN_TASK_TOKEN: 'tok' });
    assert.deepEqual(containerEnvironment({}), {});
  });
});

test('Promise.withResolvers polyfill: only where missing, standard behaviour', async () => {
  assert.equal(installPromiseWithResolvers(), false, 'already present (native or installed by the runner)');
  class Bare extends Promise<unknown> {}
  Object.defineProperty(Bare, 'withResolvers', { value: undefined, configurable: true, writable: true });
  assert.equal(installPromiseWithResolvers(Bare as unknown as PromiseConstructor), true);
  const { promise, resolve } = (Bare as unknown as { withResolvers: () => PromiseWithResolversLike }).withResolvers();
  assert.ok(promise instanceof Bare);
  resolve(42);
  assert.equal(await promise, 42);
  const rejected = (Bare as unknown as { withResolvers: () => PromiseWithResolversLike }).withResolvers();
  rejected.reject(new Error('no'));
  await assert.rejects(rejected.promise, /no/);
});

interface PromiseWithResolversLike {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason?: unknown) => void;
}

test('LocalLogger: Powertools records go to the sink, never to stdout', () => {
  const records: LocalLogRecord[] = [];
  const logger = new LocalLogger({ serviceName: 'fmnist-x', sink: (record) => records.push(record) });
  const original = process.stdout.write;
  let stdout = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    logger.info('epoch finished', { runId: 'r', epoch: 1, loss: 0.5 });
    logger.warn('careful');
  } finally {
    process.stdout.write = original;
  }
  assert.equal(stdout, '');
  assert.deepEqual(records, [
    { level: 'INFO', message: 'epoch finished', service: 'fmnist-x', extra: { runId: 'r', epoch: 1, loss: 0.5 } },
    { level: 'WARN', message: 'careful', service: 'fmnist-x', extra: {} },
  ]);
});
