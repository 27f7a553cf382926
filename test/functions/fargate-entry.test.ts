import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runFargateTraining, TASK_TOKEN_ENV, TRAIN_EVENT_ENV } from '../../functions/train/fargate.ts';
import { ConfigError } from '../../lib/data/errors.ts';
import type { TrainResult } from '../../lib/workflow/events.ts';

const trainEvent = { datasetPrefix: 'datasets/abc/', runId: 'run-1', config: { epochs: 2 } };
const result: TrainResult = {
  runId: 'run-1',
  datasetPrefix: 'datasets/abc/',
  modelPrefix: 'runs/run-1/model/',
  backend: 'tensorflow',
  seconds: 12.5,
  imagesPerSecond: 1500,
  epochs: 2,
  valAccuracy: 0.8,
};

describe('Fargate training entry', () => {
  const sfnMock = mockClient(SFNClient);
  const sfn = new SFNClient({ region: 'us-east-1' });
  const env = { [TASK_TOKEN_ENV]: 'token-123', [TRAIN_EVENT_ENV]: JSON.stringify(trainEvent) };
  const quiet = () => {};
  afterEach(() => sfnMock.reset());

  test('runs the train step on the event and sends its result with the task token', async () => {
    const seen: unknown[] = [];
    const code = await runFargateTraining({
      env,
      sfn,
      log: quiet,
      train: async (event) => {
        seen.push(event);
        return result;
      },
    });
    assert.equal(code, 0);
    assert.deepEqual(seen, [trainEvent]);
    const success = sfnMock.commandCalls(SendTaskSuccessCommand);
    assert.equal(success.length, 1);
    assert.equal(success[0].args[0].input.taskToken, 'token-123');
    assert.deepEqual(JSON.parse(success[0].args[0].input.output!), result);
    assert.equal(sfnMock.commandCalls(SendTaskFailureCommand).length, 0);
    assert.ok(sfnMock.commandCalls(SendTaskHeartbeatCommand).length >= 1, 'a heartbeat at start');
  });

  test('a failing train step becomes SendTaskFailure with the error name and message', async () => {
    const code = await runFargateTraining({
      env,
      sfn,
      log: quiet,
      train: async () => {
        throw new ConfigError('train event "config": epochs: must be an integer from 1 to 1000, got 0');
      },
    });
    assert.equal(code, 1);
    const failure = sfnMock.commandCalls(SendTaskFailureCommand);
    assert.equal(failure.length, 1);
    assert.deepEqual(failure[0].args[0].input, {
      taskToken: 'token-123',
      error: 'ConfigError',
      cause: 'train event "config": epochs: must be an integer from 1 to 1000, got 0',
    });
  });

  test('missing or malformed input fails the task as a ConfigError', async () => {
    for (const raw of [undefined, '{not json']) {
      sfnMock.reset();
      const code = await runFargateTraining({
        env: { [TASK_TOKEN_ENV]: 'token-123', ...(raw ? { [TRAIN_EVENT_ENV]: raw } : {}) },
        argv: ['node', 'fargate.mjs'],
        sfn,
        log: quiet,
        train: async () => result,
      });
      assert.equal(code, 1);
      const failure = sfnMock.commandCalls(SendTaskFailureCommand);
      assert.equal(failure[0].args[0].input.error, 'ConfigError');
    }
  });

  test('heartbeats while training and stops when the execution is gone', async () => {
    let abandoned = 0;
    sfnMock.on(SendTaskHeartbeatCommand).resolvesOnce({}).resolvesOnce({}).rejects(new TaskTimedOut({ message: 'gone', $metadata: {} }));
    const code = await runFargateTraining({
      env,
      sfn,
      log: quiet,
      heartbeatMs: 5,
      onAbandoned: () => abandoned++,
      train: () => new Promise((resolve) => setTimeout(() => resolve(result), 60)),
    });
    assert.equal(code, 0);
    assert.ok(sfnMock.commandCalls(SendTaskHeartbeatCommand).length >= 3);
    assert.equal(abandoned, 1, 'stops once, then no more heartbeats');
  });

  test('without a task token it prints the result and sends nothing', async () => {
    const printed: string[] = [];
    const original = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      const code = await runFargateTraining({
        env: {},
        argv: ['node', 'fargate.mjs', JSON.stringify(trainEvent)],
        sfn,
        log: quiet,
        train: async () => result,
      });
      assert.equal(code, 0);
    } finally {
      console.log = original;
    }
    assert.deepEqual(JSON.parse(printed[0]), result);
    assert.equal(sfnMock.calls().length, 0);
  });
});
