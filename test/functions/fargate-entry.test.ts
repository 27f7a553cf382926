import { afterEach, after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { EXIT, runFargateTraining, type FargateEntryDeps } from '../../functions/train/fargate.ts';
import { createTrainHandler } from '../../functions/train/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import { TrainingAbortedError } from '../../lib/model/cooperative.ts';
import type { TrainBudgetReached, TrainContinuation, TrainResult } from '../../lib/workflow/events.ts';
import { FARGATE_ENV } from '../../lib/workflow/fargate-task.ts';
import { trainEventKey } from '../../lib/workflow/layout.ts';
import { nativeAddonLoads } from '../model/helpers.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { FakeAwsServer } from './fake-aws-server.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

const RUN_ID = 'run-1';
const EVENT_KEY = trainEventKey(RUN_ID);
const trainEvent = { datasetPrefix: 'datasets/abc/', runId: RUN_ID, config: { epochs: 2 } };
const result: TrainResult = {
  status: 'complete',
  runId: RUN_ID,
  datasetPrefix: 'datasets/abc/',
  modelPrefix: `runs/${RUN_ID}/model/`,
  backend: 'tensorflow',
  seconds: 12.5,
  imagesPerSecond: 1500,
  epochs: 2,
  valAccuracy: 0.8,
};
const quiet = () => {};
const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** Stands in for training: finishes after `ms`, or rejects as trainModel does once `signal` fires. */
function trainingFor(ms: number, seen: { signal?: AbortSignal } = {}): NonNullable<FargateEntryDeps['train']> {
  return (_event, signal) => {
    seen.signal = signal;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(result), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new TrainingAbortedError(signal.reason));
      });
    });
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Fargate training entry', () => {
  const sfn = new SFNClient({ region: 'us-east-1' });
  const sfnMock = mockClient(sfn);
  const s3 = new FakeS3();
  const env = (extra: Record<string, string> = {}) => ({
    [FARGATE_ENV.taskToken]: 'token-123',
    DATA_BUCKET: s3.bucket,
    [FARGATE_ENV.trainEventKey]: EVENT_KEY,
    ...extra,
  });
  const run = (deps: FargateEntryDeps) => runFargateTraining({ sfn, s3: s3.client, log: quiet, argv: ['node', 'fargate.mjs'], signals: new EventEmitter(), ...deps });
  const failures = () => sfnMock.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input);

  before(() => s3.put(EVENT_KEY, JSON.stringify(trainEvent)));
  afterEach(() => sfnMock.reset());
  after(() => {
    sfnMock.restore();
    s3.restore();
  });

  test('reads the TrainEvent from s3://$DATA_BUCKET/$FMNIST_TRAIN_EVENT_KEY, trains and sends the result', async () => {
    const seen: unknown[] = [];
    const code = await run({
      env: env(),
      train: async (event, signal) => {
        seen.push(event, signal.aborted);
        return result;
      },
    });
    assert.equal(code, EXIT.succeeded);
    assert.deepEqual(seen, [trainEvent, false]);
    const success = sfnMock.commandCalls(SendTaskSuccessCommand);
    assert.equal(success.length, 1);
    assert.equal(success[0].args[0].input.taskToken, 'token-123');
    assert.deepEqual(JSON.parse(success[0].args[0].input.output!), result);
    assert.deepEqual(failures(), []);
    assert.equal(sfnMock.commandCalls(SendTaskHeartbeatCommand).length, 1, 'a heartbeat at start');
  });

  test('no longer reads the TrainEvent from the environment', async () => {
    // FMNIST_TRAIN_EVENT carried the event inline before it moved to S3 (RunTask overrides are limited to 8,192 characters).
    const code = await run({ env: { [FARGATE_ENV.taskToken]: 'token-123', FMNIST_TRAIN_EVENT: JSON.stringify(trainEvent) }, train: async () => result });
    assert.equal(code, EXIT.failed);
    assert.equal(failures()[0].error, 'ConfigError');
    assert.match(failures()[0].cause!, new RegExp(`no training event: set ${FARGATE_ENV.trainEventKey}`));
  });

  test('rejects keys other than runs/<runId>/train-event.json before reading anything', async () => {
    for (const key of ['train-event.json', 'runs/run-1/other.json', 'runs/a/b/train-event.json', 'runs/.hidden/train-event.json', `runs/${'x'.repeat(81)}/train-event.json`]) {
      sfnMock.reset();
      s3.mock.resetHistory();
      let trained = false;
      const code = await run({ env: env({ [FARGATE_ENV.trainEventKey]: key }), train: async () => ((trained = true), result) });
      assert.equal(code, EXIT.failed, key);
      assert.equal(failures()[0].error, 'ConfigError', key);
      assert.match(failures()[0].cause!, new RegExp(`^${FARGATE_ENV.trainEventKey}: `), key);
      assert.equal(trained, false);
      assert.equal(s3.mock.calls().length, 0, `${key}: nothing read`);
    }
  });

  test('a missing event object fails naming the bucket and the key; bad JSON names the object', async () => {
    const missing = trainEventKey('run-2');
    let code = await run({ env: env({ [FARGATE_ENV.trainEventKey]: missing }), train: async () => result });
    assert.equal(code, EXIT.failed);
    assert.equal(failures()[0].error, 'ConfigError');
    assert.match(failures()[0].cause!, new RegExp(`s3://${s3.bucket}/${missing} does not exist`));

    sfnMock.reset();
    s3.put(trainEventKey('run-3'), '{"datasetPrefix": ');
    code = await run({ env: env({ [FARGATE_ENV.trainEventKey]: trainEventKey('run-3') }), train: async () => result });
    assert.equal(code, EXIT.failed);
    assert.equal(failures()[0].error, 'ConfigError');
    assert.match(failures()[0].cause!, new RegExp(`s3://${s3.bucket}/runs/run-3/train-event.json is not valid JSON`));
  });

  test('a bad environment fails the task as a ConfigError naming the variable', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ [FARGATE_ENV.timeScale]: '0' }, /FMNIST_TIME_SCALE: must be a positive number .*got "0"/],
      [{ [FARGATE_ENV.timeScale]: 'fast' }, /FMNIST_TIME_SCALE: .*got "fast"/],
      [{ [FARGATE_ENV.heartbeatSeconds]: '-60' }, /FMNIST_HEARTBEAT_SECONDS: .*got "-60"/],
      [{ [FARGATE_ENV.stateTimeoutSeconds]: '3600' }, /FMNIST_STATE_ENTERED_TIME and FMNIST_STATE_TIMEOUT_SECONDS must be set together/],
      [{ [FARGATE_ENV.stateEnteredTime]: 'now', [FARGATE_ENV.stateTimeoutSeconds]: '3600' }, /FMNIST_STATE_ENTERED_TIME: must be an ISO 8601 time/],
      [{ [FARGATE_ENV.stateEnteredTime]: new Date().toISOString(), [FARGATE_ENV.stateTimeoutSeconds]: '1.5' }, /FMNIST_STATE_TIMEOUT_SECONDS: must be a whole number/],
      [{ DATA_BUCKET: '' }, /DATA_BUCKET: must be an S3 bucket name/],
    ];
    for (const [extra, expected] of cases) {
      sfnMock.reset();
      const code = await run({ env: env(extra), train: async () => result });
      assert.equal(code, EXIT.failed);
      assert.equal(failures()[0].error, 'ConfigError', JSON.stringify(extra));
      assert.match(failures()[0].cause!, expected);
    }
  });

  test('a failing train step becomes SendTaskFailure with its name and message, cut to Step Functions’ limits', async () => {
    let code = await run({
      env: env(),
      train: async () => {
        throw new ConfigError('train event "config": epochs: must be an integer from 1 to 1000, got 0');
      },
    });
    assert.equal(code, EXIT.failed);
    assert.deepEqual(failures(), [
      { taskToken: 'token-123', error: 'ConfigError', cause: 'train event "config": epochs: must be an integer from 1 to 1000, got 0' },
    ]);

    sfnMock.reset();
    code = await run({
      env: env(),
      train: async () => {
        throw Object.assign(new Error('y'.repeat(40_000)), { name: 'X'.repeat(300) });
      },
    });
    assert.equal(code, EXIT.failed);
    assert.equal(failures()[0].error, 'X'.repeat(256));
    assert.equal(failures()[0].cause, 'y'.repeat(32_768));
  });

  test('by hand: the TrainEvent as first argument, the result printed, nothing sent without a token', async () => {
    const printed: string[] = [];
    const original = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      const code = await run({ env: {}, argv: ['node', 'fargate.mjs', JSON.stringify(trainEvent)], train: async (event) => ({ ...result, runId: (event as typeof trainEvent).runId }) });
      assert.equal(code, EXIT.succeeded);
    } finally {
      console.log = original;
    }
    assert.deepEqual(JSON.parse(printed[0]), result);
    assert.equal(sfnMock.calls().length, 0);
  });

  test('a "continue" from the train step is a failure: nothing on Fargate would continue it', async () => {
    const continuation: TrainContinuation = { status: 'continue', runId: RUN_ID, datasetPrefix: 'datasets/abc/', position: { epoch: 2, batch: 3, epochs: 2, batches: 10 }, seconds: 1 };
    const code = await run({ env: env(), train: async () => continuation });
    assert.equal(code, EXIT.failed);
    assert.equal(sfnMock.commandCalls(SendTaskSuccessCommand).length, 0);
    assert.match(failures()[0].cause!, /training answered status "continue" on Fargate, where nothing continues it/);
  });

  for (const DeadToken of [TaskTimedOut, TaskDoesNotExist, InvalidToken]) {
    test(`heartbeats every FMNIST_HEARTBEAT_SECONDS × FMNIST_TIME_SCALE; on ${DeadToken.name} it aborts training and exits 1 without reporting`, async () => {
      sfnMock
        .on(SendTaskHeartbeatCommand)
        .resolvesOnce({})
        .resolvesOnce({})
        .rejects(new DeadToken({ message: 'Task Timed Out', $metadata: {} }));
      const seen: { signal?: AbortSignal } = {};
      const started = performance.now();
      // 60 s scaled by 0.0005: a heartbeat every 30 ms.
      const code = await run({ env: env({ [FARGATE_ENV.heartbeatSeconds]: '60', [FARGATE_ENV.timeScale]: '0.0005' }), train: trainingFor(20_000, seen) });
      const elapsed = performance.now() - started;
      assert.equal(code, EXIT.failed);
      assert.equal(seen.signal?.aborted, true, 'training was aborted');
      assert.equal((seen.signal?.reason as Error).name, 'TaskAbandoned');
      assert.ok(elapsed < 5000, `stopped after ${elapsed.toFixed(0)} ms, long before the 20 s of training`);
      assert.deepEqual(failures(), [], 'the token is dead: nothing to report to');
      assert.equal(sfnMock.commandCalls(SendTaskSuccessCommand).length, 0);
      const beats = sfnMock.commandCalls(SendTaskHeartbeatCommand).length;
      assert.equal(beats, 3);
      await delay(150);
      assert.equal(sfnMock.commandCalls(SendTaskHeartbeatCommand).length, beats, 'no heartbeat after the end');
    });
  }

  test('other heartbeat failures (throttling, network) do not stop training', async () => {
    sfnMock.on(SendTaskHeartbeatCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const code = await run({ env: env({ [FARGATE_ENV.timeScale]: '0.0005' }), train: trainingFor(200) });
    assert.equal(code, EXIT.succeeded);
    assert.ok(sfnMock.commandCalls(SendTaskHeartbeatCommand).length >= 3);
    assert.equal(sfnMock.commandCalls(SendTaskSuccessCommand).length, 1);
  });

  test("stops before the state's timeout: TrainingDeadlineExceeded, exit 1", async () => {
    // TimeoutSeconds 300 at a time scale of 0.01 is 3 s; the state was entered 2.5 s ago, so it
    // times out 0.5 s from now. The margin is 30 s (a tenth of the timeout), 0.3 s scaled.
    const timesOutAt = Date.now() + 500;
    const seen: { signal?: AbortSignal } = {};
    const code = await run({
      env: env({
        [FARGATE_ENV.stateEnteredTime]: new Date(timesOutAt - 3000).toISOString(),
        [FARGATE_ENV.stateTimeoutSeconds]: '300',
        [FARGATE_ENV.timeScale]: '0.01',
      }),
      train: trainingFor(20_000, seen),
    });
    const sentAt = Date.now();
    assert.equal(code, EXIT.failed);
    assert.equal(seen.signal?.aborted, true, 'training was aborted');
    assert.equal(failures().length, 1);
    assert.equal(failures()[0].error, 'TrainingDeadlineExceeded');
    assert.match(failures()[0].cause!, /TimeoutSeconds 300, entered at .*training stopped 30 s before it/);
    assert.ok(sentAt >= timesOutAt - 300 - 20, `not early: ${timesOutAt - sentAt} ms before the timeout`);
    assert.ok(sentAt < timesOutAt, `before the state times out (${sentAt - timesOutAt} ms after)`);
  });

  test('a deadline already past fails at once, without training', async () => {
    let trained = false;
    const code = await run({
      env: env({ [FARGATE_ENV.stateEnteredTime]: new Date(Date.now() - 3_600_000).toISOString(), [FARGATE_ENV.stateTimeoutSeconds]: '3600' }),
      train: async () => ((trained = true), result),
    });
    assert.equal(code, EXIT.failed);
    assert.equal(trained, false);
    assert.equal(failures()[0].error, 'TrainingDeadlineExceeded');
  });

  test('SIGTERM aborts training, sends TaskStopped and exits 143, leaving no listener or timer behind', async () => {
    const signals = new EventEmitter();
    const seen: { signal?: AbortSignal } = {};
    sfnMock.on(SendTaskHeartbeatCommand).callsFake(() => {
      if (sfnMock.commandCalls(SendTaskHeartbeatCommand).length === 2) setImmediate(() => signals.emit('SIGTERM'));
      return {};
    });
    const code = await run({ env: env({ [FARGATE_ENV.timeScale]: '0.0005' }), signals, train: trainingFor(20_000, seen) });
    assert.equal(code, EXIT.sigterm);
    assert.equal((seen.signal?.reason as Error).name, 'TaskStopped');
    assert.equal(failures().length, 1);
    assert.equal(failures()[0].error, 'TaskStopped');
    assert.match(failures()[0].cause!, /received SIGTERM/);
    assert.equal(signals.listenerCount('SIGTERM'), 0);
    const beats = sfnMock.commandCalls(SendTaskHeartbeatCommand).length;
    await delay(150);
    assert.equal(sfnMock.commandCalls(SendTaskHeartbeatCommand).length, beats, 'heartbeats stopped');
  });

  test('after SIGTERM, training that cannot stop gets the grace period, then the failure goes anyway; one that finishes in it succeeds', async () => {
    // undefined: never finishes (stuck, say, in an upload that ignores the signal).
    for (const [finishesAfterMs, expected] of [[undefined, EXIT.sigterm], [5, EXIT.succeeded]] as const) {
      sfnMock.reset();
      const signals = new EventEmitter();
      const code = await run({
        // Grace: 10 s × 0.002 = 20 ms.
        env: env({ [FARGATE_ENV.timeScale]: '0.002' }),
        signals,
        train: () => {
          setImmediate(() => signals.emit('SIGTERM'));
          return finishesAfterMs === undefined ? new Promise<never>(() => {}) : delay(finishesAfterMs).then(() => result);
        },
      });
      assert.equal(code, expected);
      if (expected === EXIT.sigterm) assert.equal(failures()[0].error, 'TaskStopped');
      else assert.equal(sfnMock.commandCalls(SendTaskSuccessCommand).length, 1);
    }
  });
});

/** Heartbeats the entry sends while the real train handler trains (native TensorFlow, graph step). */
describe('Fargate entry with the real training', { skip: nativeAddonLoads() ? false : 'tfjs-node is not installed' }, () => {
  const sfn = new SFNClient({ region: 'us-east-1' });
  const sfnMock = mockClient(sfn);
  const s3 = new FakeS3();
  // Long enough (a few seconds) that a run without yields leaves a gap far over HeartbeatSeconds.
  const config = { epochs: 25, batchSize: 32, model: TINY_MODEL, backend: 'tensorflow' };
  const HEARTBEAT_SECONDS_SCALED = 600 * 0.001;
  let datasetPrefix: string;

  before(async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(1000, 1).text);
    s3.put('raw/test.csv', syntheticKaggleCsv(20, 2).text);
    ({ datasetPrefix } = await createIngestHandler({ s3: s3.client, bucket: s3.bucket, logger: silent })({ train: ['raw/train.csv'], test: ['raw/test.csv'] }));
    // TensorFlow's first steps and predictions in a process block inside single native calls for
    // up to a second (kernels being created), which no yield can split: pay that first.
    await createTrainHandler({ s3: s3.client, bucket: s3.bucket, logger: silent, metrics: undefined })({ datasetPrefix, runId: 'warm-up', config: { ...config, epochs: 1 } });
  });
  afterEach(() => sfnMock.reset());
  after(() => {
    sfnMock.restore();
    s3.restore();
  });

  let runs = 0;
  /**
   * Runs the entry with the train handler, as a run of its own (a run id already trained would be
   * answered from its stored model, one with checkpoints resumed); returns the heartbeat times (s)
   * and the training's span.
   */
  async function heartbeatsWhileTraining(extraHooks: { yieldEveryMs?: number }, entryEnv: Record<string, string>) {
    const runId = `real-run-${++runs}`;
    const beats: number[] = [];
    sfnMock.reset();
    sfnMock.on(SendTaskHeartbeatCommand).callsFake(() => (beats.push(performance.now() / 1000), {}));
    const span = { from: 0, to: 0 };
    let trainingError: Error | undefined;
    s3.put(trainEventKey(runId), JSON.stringify({ datasetPrefix, runId, config }));
    const code = await runFargateTraining({
      env: { [FARGATE_ENV.taskToken]: 'token-real', DATA_BUCKET: s3.bucket, [FARGATE_ENV.trainEventKey]: trainEventKey(runId), ...entryEnv },
      sfn,
      s3: s3.client,
      log: quiet,
      signals: new EventEmitter(),
      train: (event, signal) =>
        createTrainHandler({
          s3: s3.client,
          bucket: s3.bucket,
          logger: silent,
          metrics: undefined,
          hooks: {
            signal,
            ...extraHooks,
            onEpochBegin: (epoch) => epoch === 1 && (span.from = performance.now() / 1000),
            onEpochEnd: () => (span.to = performance.now() / 1000),
          },
        })(event).catch((error: Error) => {
          trainingError = error;
          throw error;
        }),
    });
    const during = [span.from, ...beats.filter((t) => t > span.from && t < span.to), span.to];
    const longestGap = Math.max(...during.slice(1).map((t, i) => t - during[i]));
    return { code, longestGap, beats: during.length - 2, seconds: span.to - span.from, trainingError: () => trainingError };
  }

  test('heartbeats keep flowing while trainModel trains, and would not without its yields', async (t) => {
    const heartbeatEnv = { [FARGATE_ENV.heartbeatSeconds]: '60', [FARGATE_ENV.timeScale]: '0.001' };
    const yielding = await heartbeatsWhileTraining({}, heartbeatEnv);
    const never = await heartbeatsWhileTraining({ yieldEveryMs: Infinity }, heartbeatEnv);
    t.diagnostic(
      `longest gap between heartbeats while training: ${yielding.longestGap.toFixed(3)} s (${yielding.beats} beats in ${yielding.seconds.toFixed(1)} s); ` +
        `without yields ${never.longestGap.toFixed(3)} s (${never.beats} beats in ${never.seconds.toFixed(1)} s)`,
    );
    assert.equal(yielding.code, EXIT.succeeded);
    assert.equal(never.code, EXIT.succeeded);
    // What this test detects: without yields no heartbeat goes out for longer than HeartbeatSeconds.
    assert.ok(never.longestGap > HEARTBEAT_SECONDS_SCALED, `without yields the longest gap was only ${never.longestGap.toFixed(3)} s: train longer`);
    assert.ok(
      yielding.longestGap < 0.75 * HEARTBEAT_SECONDS_SCALED,
      `longest gap between heartbeats ${yielding.longestGap.toFixed(3)} s, HeartbeatSeconds ${HEARTBEAT_SECONDS_SCALED} s`,
    );
  });

  test('the deadline stops real training', async () => {
    // TimeoutSeconds 300 at a time scale of 0.01 is 3 s; the state was entered 2 s ago, so it
    // times out 1 s from now; the margin is 30 s, 0.3 s scaled. Training takes longer than that.
    const timesOutAt = Date.now() + 1000;
    const run = await heartbeatsWhileTraining(
      {},
      {
        [FARGATE_ENV.stateEnteredTime]: new Date(timesOutAt - 3000).toISOString(),
        [FARGATE_ENV.stateTimeoutSeconds]: '300',
        [FARGATE_ENV.timeScale]: '0.01',
      },
    );
    const sentAt = Date.now();
    assert.equal(run.code, EXIT.failed);
    const failure = sfnMock.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input);
    assert.equal(failure[0]?.error, 'TrainingDeadlineExceeded');
    assert.ok(sentAt < timesOutAt, `failure sent ${sentAt - timesOutAt} ms after the state timed out`);
    await delay(50);
    assert.equal(run.trainingError()?.name, 'TrainingAborted', 'trainModel itself stopped');
  });
});

/** An event with an epochBudget (a sweep's successive halving) trained on Fargate: the task answers the budget outcome. */
describe('Fargate entry with an epoch budget', () => {
  const sfn = new SFNClient({ region: 'us-east-1' });
  const sfnMock = mockClient(sfn);
  const s3 = new FakeS3();
  const runId = 'budgeted';
  const config = { epochs: 4, batchSize: 16, model: TINY_MODEL };
  let datasetPrefix: string;

  before(async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(200, 1).text);
    s3.put('raw/test.csv', syntheticKaggleCsv(20, 2).text);
    ({ datasetPrefix } = await createIngestHandler({ s3: s3.client, bucket: s3.bucket, logger: silent })({ train: ['raw/train.csv'], test: ['raw/test.csv'] }));
  });
  afterEach(() => sfnMock.reset());
  after(() => {
    sfnMock.restore();
    s3.restore();
  });

  /** Runs the entry on `event` (written where the state machine writes it) with the train handler; returns the exit code and what SendTaskSuccess carried. */
  async function runTask(event: Record<string, unknown>): Promise<{ code: number; output: unknown }> {
    s3.put(trainEventKey(runId), JSON.stringify(event));
    const code = await runFargateTraining({
      env: { [FARGATE_ENV.taskToken]: 'token-budget', DATA_BUCKET: s3.bucket, [FARGATE_ENV.trainEventKey]: trainEventKey(runId) },
      sfn,
      s3: s3.client,
      log: quiet,
      argv: ['node', 'fargate.mjs'],
      signals: new EventEmitter(),
      train: (trainEvent, signal) => createTrainHandler({ s3: s3.client, bucket: s3.bucket, logger: silent, metrics: undefined, hooks: { signal } })(trainEvent),
    });
    const success = sfnMock.commandCalls(SendTaskSuccessCommand);
    assert.deepEqual(sfnMock.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input), []);
    assert.equal(success.length, 1);
    assert.equal(success[0].args[0].input.taskToken, 'token-budget');
    return { code, output: JSON.parse(success[0].args[0].input.output!) };
  }

  test('answers SendTaskSuccess with the budget outcome, and a later task continues from its checkpoint', async () => {
    const budgeted = await runTask({ datasetPrefix, runId, config, epochBudget: 2 });
    assert.equal(budgeted.code, EXIT.succeeded);
    const answer = budgeted.output as TrainBudgetReached;
    assert.equal(answer.status, 'budget');
    assert.equal(answer.runId, runId);
    assert.equal(answer.epochs, 2);
    assert.equal(answer.resumedFrom, undefined);
    assert.ok(answer.valAccuracy! >= 0 && answer.valAccuracy! <= 1, `valAccuracy ${answer.valAccuracy}`);
    assert.equal(s3.objects.has(`runs/${runId}/model/model.json`), false, 'no model yet');

    sfnMock.reset();
    const rest = await runTask({ datasetPrefix, runId, config });
    assert.equal(rest.code, EXIT.succeeded);
    const result = rest.output as TrainResult;
    assert.equal(result.status, 'complete');
    assert.equal(result.epochs, 4);
    assert.deepEqual(result.resumedFrom, { epoch: 3, batch: 0, epochs: 4, batches: 10 });
    const history = JSON.parse(s3.objects.get(`runs/${runId}/model/history.json`)!.toString());
    assert.equal(history[1].val_accuracy, answer.valAccuracy, "the budget answer's figures are epoch 2's");
    assert.equal(history[1].val_loss, answer.valLoss);
  });
});

/** The entry as ECS runs it: a child process, the AWS SDK talking HTTP, a real SIGTERM. */
describe('Fargate entry as a process', () => {
  const s3 = new FakeS3();
  let server: FakeAwsServer;
  let endpoint: string;

  before(async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(300, 1).text);
    s3.put('raw/test.csv', syntheticKaggleCsv(20, 2).text);
    const { datasetPrefix } = await createIngestHandler({ s3: s3.client, bucket: s3.bucket, logger: silent })({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
    const model = { layers: [{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] };
    // Trains for far longer than the test waits: only SIGTERM ends it.
    s3.put(EVENT_KEY, JSON.stringify({ datasetPrefix, runId: RUN_ID, config: { epochs: 1000, batchSize: 16, model } }));
    server = new FakeAwsServer(s3.bucket, s3.objects);
    endpoint = await server.start();
  });
  after(async () => {
    await server.stop();
    s3.restore();
  });

  test('a real SIGTERM while training: SendTaskFailure TaskStopped over HTTP, exit 143, well within ECS’s 30 s', async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'functions/train/fargate.ts'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TF_CPP_MIN_LOG_LEVEL: '2',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_ENDPOINT_URL_SFN: endpoint,
        DATA_BUCKET: s3.bucket,
        [FARGATE_ENV.trainEventKey]: EVENT_KEY,
        [FARGATE_ENV.taskToken]: 'token-child',
        [FARGATE_ENV.heartbeatSeconds]: '60',
        [FARGATE_ENV.timeScale]: '0.001',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const training = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('"epoch finished"')) resolve();
      });
      child.stderr.on('data', (chunk) => (output += chunk));
      void exited.then((code) => reject(new Error(`the entry exited (${code}) before training:\n${output.slice(-3000)}`)));
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    try {
      await training;
      const heartbeatsBefore = server.calls('SendTaskHeartbeat').length;
      const sentAt = performance.now();
      child.kill('SIGTERM');
      const code = await exited;
      const seconds = (performance.now() - sentAt) / 1000;
      t.diagnostic(`exit ${code} ${seconds.toFixed(2)} s after SIGTERM; ${heartbeatsBefore} heartbeats before it`);
      assert.equal(code, EXIT.sigterm, output.slice(-3000));
      assert.ok(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM`);
      assert.ok(heartbeatsBefore >= 2, 'heartbeats went out while it trained');
      const failures = server.calls('SendTaskFailure');
      assert.equal(failures.length, 1, JSON.stringify(server.sfnCalls.map((c) => c.action)));
      assert.equal(failures[0].input.taskToken, 'token-child');
      assert.equal(failures[0].input.error, 'TaskStopped');
      assert.match(String(failures[0].input.cause), /received SIGTERM/);
      assert.equal(server.calls('SendTaskSuccess').length, 0);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
