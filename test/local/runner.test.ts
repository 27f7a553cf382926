import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AslDefinition } from '../../lib/infra/synthesized-definition.ts';
import { loadWorkflowDefinition } from '../../lib/local/definition.ts';
import { StatesError } from '../../lib/local/integrations.ts';
import { causeMessage } from '../../lib/local/progress.ts';
import { type ExecutionEvent, type LocalRunOptions, type LocalRunResult, runWorkflowLocally } from '../../lib/local/runner.ts';
import type { EvaluateResult } from '../../lib/workflow/events.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';

/**
 * The synthesized state machine, run end to end on this machine with the real handlers on a tiny
 * synthetic dataset (100 train rows, 50 test rows, a 4-filter CNN, 1 epoch): about 1-2 s a run.
 */
const TINY_CONFIG = {
  epochs: 1,
  batchSize: 16,
  model: {
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  },
};

let dir: string;
let trainCsv: string;
let testCsv: string;
let testLabels: number[];
let definition: AslDefinition;
/** Synthesized with { lambdaTrainMaxImages: 50 }: "auto" sends 100 examples x 1 epoch to Fargate. */
let smallBudgetDefinition: AslDefinition;
let runs = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-local-run-'));
  trainCsv = join(dir, 'fashion-mnist_train.csv');
  testCsv = join(dir, 'fashion-mnist_test.csv');
  const test = syntheticKaggleCsv(50, 2);
  testLabels = test.labels;
  await writeFile(trainCsv, syntheticKaggleCsv(100, 1).text);
  await writeFile(testCsv, test.text);
  definition = (await loadWorkflowDefinition({ cacheDir: false })).definition;
  smallBudgetDefinition = (await loadWorkflowDefinition({ cacheDir: false, context: { lambdaTrainMaxImages: 50 } })).definition;
});
after(() => rm(dir, { recursive: true, force: true }));

interface Run extends LocalRunResult {
  lines: string[];
}

async function run(options: Partial<LocalRunOptions> = {}): Promise<Run> {
  const lines: string[] = [];
  const result = await runWorkflowLocally({
    train: [trainCsv],
    test: [testCsv],
    outDir: join(dir, `out-${++runs}`),
    definition,
    retryIntervalMs: 0,
    progress: { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) },
    ...options,
    input: { config: TINY_CONFIG, ...options.input },
  });
  return { ...result, lines };
}

const entered = (events: ExecutionEvent[]) => events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
const ofType = (events: ExecutionEvent[], type: string, state?: string) =>
  events.filter((e) => e.type === type && (state === undefined || e.state?.name === state));
const readJson = async <T = unknown>(...path: string[]) => JSON.parse(await readFile(join(...path), 'utf8')) as T;

describe('runWorkflowLocally', () => {
  test('trainOn "lambda": SUCCEEDED through every state in order, outputs copied out and consistent', async () => {
    const result = await run({ input: { trainOn: 'lambda' } });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.deepEqual(entered(result.events), [
      'ValidateInput',
      'Ingest',
      'PrepareTrainEvent',
      'ChooseTrainingRuntime',
      'TrainOnLambda',
      'Evaluate',
      'Promote',
      'Done',
    ]);
    assert.equal(result.events[0].type, 'ExecutionStarted');
    assert.equal(result.events.at(-1)!.type, 'ExecutionSucceeded');
    assert.equal(result.runId, result.executionName, 'the run id defaults to the execution name');

    // The report, copied out, agrees with the predictions and the test labels.
    const out = result.outDir;
    const report = await readJson<{ accuracy: number }>(out, 'report', 'classification_report.json');
    const predictions = (await readFile(join(out, 'report', 'predictions.txt'), 'utf8')).trim().split('\n').map(Number);
    assert.equal(predictions.length, testLabels.length);
    const correct = predictions.filter((label, i) => label === testLabels[i]).length;
    assert.equal(report.accuracy, correct / testLabels.length);
    assert.ok(report.accuracy > 0.1, `better than chance: ${report.accuracy}`);

    const output = await readJson<{
      dataset: { datasetId: string; trainExamples: number; testExamples: number; reused: boolean };
      training: { runId: string; modelPrefix: string; epochs: number };
      evaluation: EvaluateResult;
      promotion: { promoted: boolean; reason: string };
    }>(out, 'execution-output.json');
    assert.deepEqual(output, result.output);
    assert.equal(output.evaluation.accuracy, report.accuracy);
    assert.equal(output.dataset.trainExamples, 100);
    assert.equal(output.dataset.testExamples, 50);
    assert.equal(output.training.modelPrefix, `runs/${result.runId}/model/`);
    assert.deepEqual(output.promotion, { promoted: true, reason: 'no champion yet' });

    const manifest = await readJson<{ datasetId: string }>(out, 'dataset', 'manifest.json');
    assert.equal(manifest.datasetId, output.dataset.datasetId);
    const model = await readJson<{ weightsManifest: unknown[] }>(out, 'model', 'model.json');
    assert.ok(Array.isArray(model.weightsManifest));
    const champion = await readJson<{ runId: string; accuracy: number }>(out, 'champion.json');
    assert.equal(champion.runId, result.runId);
    assert.equal(champion.accuracy, report.accuracy);
    assert.deepEqual(await readJson(out, 'execution-events.json'), JSON.parse(JSON.stringify(result.events)));
    assert.deepEqual(await readJson(out, 'state-machine.json'), definition);
    for (const file of ['report/metrics.json', 'report/confusion_matrix.png', 'model/history.json', 'local-run.json']) {
      assert.ok(result.files.includes(file), `${file} in ${result.files.join(', ')}`);
    }
    assert.deepEqual(result.missing, []);
    assert.deepEqual(
      result.uploads.map((u) => u.key),
      ['raw/train/fashion-mnist_train.csv', 'raw/test/fashion-mnist_test.csv'],
    );

    // Progress: each Task state started and finished with a duration, the epoch, the end.
    const text = result.lines.join('\n');
    for (const state of ['ValidateInput', 'Ingest', 'TrainOnLambda', 'Evaluate', 'Promote']) {
      assert.match(text, new RegExp(`\\+\\s+\\d+\\.\\d s  ${state}\\s+started`));
      assert.match(text, new RegExp(`${state}\\s+finished in \\d+\\.\\d\\d s`));
    }
    assert.match(text, /TrainOnLambda\s+epoch 1\/1 - loss \d/);
    assert.match(text, /execution SUCCEEDED in \d+\.\d s/);
  });

  test('trainOn "fargate": the Fargate entry runs in-process and completes the state with its task token', async () => {
    let attempts = 0;
    const result = await run({
      input: { trainOn: 'fargate' },
      handlers: (defaults) => ({
        // The container reports a transient ECS failure once (SendTaskFailure): Retry, new token.
        TrainOnFargate: async (event) => {
          if (++attempts === 1) throw Object.assign(new Error('capacity unavailable'), { name: 'ECS.AmazonECSException' });
          return defaults.TrainOnFargate(event);
        },
      }),
    });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.equal(attempts, 2);
    const failed = ofType(result.events, 'StateFailed', 'TrainOnFargate');
    assert.deepEqual([failed[0].Error, failed[0].Cause], ['ECS.AmazonECSException', 'capacity unavailable']);
    assert.equal(ofType(result.events, 'StateRetried', 'TrainOnFargate').length, 1);
    assert.deepEqual(entered(result.events).slice(3, 6), ['ChooseTrainingRuntime', 'TrainOnFargate', 'Evaluate']);
    const training = (result.output as { training: { runId: string; modelPrefix: string; backend: string } }).training;
    assert.equal(training.runId, result.runId);
    assert.equal(training.modelPrefix, `runs/${result.runId}/model/`);
    assert.ok(result.files.includes('model/model.json'));
  });

  test('trainOn "auto" goes to Fargate when epochs x train examples exceeds the Lambda budget', async () => {
    const result = await run({ definition: smallBudgetDefinition });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    const plan = ofType(result.events, 'StateExited', 'ValidateInput')[0].state!.output as { plan: { lambdaMaxTrainExamples: number } };
    assert.equal(plan.plan.lambdaMaxTrainExamples, 50);
    assert.ok(entered(result.events).includes('TrainOnFargate'));
    assert.ok(!entered(result.events).includes('TrainOnLambda'));
  });

  test('Retry: a transient Lambda service error is retried, then the state succeeds', async () => {
    let calls = 0;
    const result = await run({
      handlers: (defaults) => ({
        Evaluate: async (event) => {
          if (++calls === 1) throw new StatesError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
          return defaults.Evaluate(event);
        },
      }),
    });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.equal(calls, 2);
    assert.ok(entered(result.events).includes('TrainOnLambda'), 'auto with the default budget trains on Lambda');
    const failed = ofType(result.events, 'StateFailed', 'Evaluate');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].Error, 'Lambda.TooManyRequestsException');
    const retried = ofType(result.events, 'StateRetried', 'Evaluate');
    assert.equal(retried.length, 1);
    assert.equal(retried[0].retry!.attempt, 1);
    assert.ok(retried[0].retry!.retrier.ErrorEquals.includes('Lambda.TooManyRequestsException'));
    assert.equal(ofType(result.events, 'StateExited', 'Evaluate').length, 1);
    assert.match(result.lines.join('\n'), /Evaluate\s+retry 1 of 3/);
  });

  test('Catch: a bad CSV fails the execution with the DataValidationError naming the file and line, without retries', async () => {
    const bad = join(dir, 'bad_test.csv');
    const lines = syntheticKaggleCsv(5, 3).text.trim().split('\n');
    const cells = lines[3].split(',');
    cells[8] = '300';
    lines[3] = cells.join(',');
    await writeFile(bad, lines.join('\n') + '\n');
    const result = await run({ test: [bad] });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'DataValidationError');
    const message = causeMessage(result.cause);
    assert.match(message, /s3:\/\/fmnist-local\/raw\/test\/bad_test\.csv/);
    assert.match(message, /line 4/);
    assert.deepEqual(entered(result.events), ['ValidateInput', 'Ingest', 'Failed']);
    assert.equal(ofType(result.events, 'StateRetried').length, 0);
    const caught = ofType(result.events, 'StateCaught', 'Ingest');
    assert.deepEqual(caught[0].catch!.catcher.ErrorEquals, ['States.ALL']);
    assert.equal(result.events.at(-1)!.type, 'ExecutionFailed');
    assert.deepEqual(await readJson(result.outDir, 'execution-output.json'), { error: result.error, cause: result.cause });
    assert.match(result.lines.join('\n'), /execution FAILED in .*DataValidationError: s3:\/\/fmnist-local\/raw\/test\/bad_test\.csv, line 4/);
  });

  test('Catch: Lambda out of time falls back to Fargate when trainOn is "auto", fails when it is "lambda"', async () => {
    const timedOut = async () => {
      throw new StatesError('Sandbox.Timedout', '{"errorMessage":"Task timed out after 900.00 seconds"}');
    };
    const auto = await run({ handlers: { TrainOnLambda: timedOut } });
    assert.equal(auto.status, 'SUCCEEDED', `${auto.error}: ${auto.cause}`);
    assert.deepEqual(entered(auto.events).slice(4, 8), ['TrainOnLambda', 'FallBackToFargate', 'TrainOnFargate', 'Evaluate']);

    const pinned = await run({ input: { trainOn: 'lambda' }, handlers: { TrainOnLambda: timedOut } });
    assert.equal(pinned.status, 'FAILED');
    assert.equal(pinned.error, 'Sandbox.Timedout');
    assert.deepEqual(entered(pinned.events).slice(4), ['TrainOnLambda', 'FallBackToFargate', 'Failed']);
  });

  test('promotion across runs sharing a state directory: a worse model keeps the champion, a better one replaces it', async () => {
    const stateDir = join(dir, 'state');
    const withAccuracy = (accuracy: number) => ({
      stateDir,
      handlers: (defaults: { Evaluate: (event: unknown) => Promise<unknown> }) => ({
        Evaluate: async (event: unknown) => ({ ...(await defaults.Evaluate(event) as EvaluateResult), accuracy }),
      }),
    });
    const first = await run(withAccuracy(0.5));
    assert.equal(first.status, 'SUCCEEDED', `${first.error}: ${first.cause}`);
    assert.deepEqual((first.output as { promotion: unknown }).promotion, { promoted: true, reason: 'no champion yet' });

    const worse = await run(withAccuracy(0.4));
    assert.equal(worse.status, 'SUCCEEDED', `${worse.error}: ${worse.cause}`);
    const worseOutput = worse.output as { promotion: { promoted: boolean; reason: string }; dataset: { reused: boolean } };
    assert.equal(worseOutput.dataset.reused, true, 'the same data is not ingested twice');
    assert.equal(worseOutput.promotion.promoted, false);
    assert.match(worseOutput.promotion.reason, /40\.00% does not beat the champion's 50\.00%/);
    assert.equal((await readJson<{ runId: string }>(worse.outDir, 'champion.json')).runId, first.runId);

    const better = await run(withAccuracy(0.6));
    assert.equal((better.output as { promotion: { promoted: boolean } }).promotion.promoted, true);
    const champion = await readJson<{ runId: string; accuracy: number }>(better.outDir, 'champion.json');
    assert.deepEqual([champion.runId, champion.accuracy], [better.runId, 0.6]);
  });

  test('a result over the 256 KiB state limit fails the execution; Catch does not apply', async () => {
    const result = await run({ handlers: { ValidateInput: async () => ({ plan: 'x'.repeat(300_000) }) } });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'States.DataLimitExceeded');
    assert.equal(ofType(result.events, 'StateCaught').length, 0);
  });

  test('an abort signal stops the execution (ABORTED) and the server still shuts down', async () => {
    const controller = new AbortController();
    const result = await run({
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'StateEntered' && event.state?.name === 'Ingest') controller.abort();
      },
    });
    assert.equal(result.status, 'ABORTED');
    assert.ok(!entered(result.events).includes('PrepareTrainEvent'));
  });

  test('refuses missing input files before starting anything', async () => {
    await assert.rejects(run({ train: [join(dir, 'nope.csv')] }), /nope\.csv: no such file/);
  });
});

test("taskTimeouts 'definition': a Task past its TimeoutSeconds fails with States.Timeout; the runner waits for the abandoned code", async () => {
  const quick = structuredClone(definition);
  quick.States.TrainOnLambda.TimeoutSeconds = 1;
  let executionEnded!: () => void;
  const ended = new Promise<void>((resolve) => (executionEnded = resolve));
  let abandonedFinished = false;
  const result = await run({
    definition: quick,
    taskTimeouts: 'definition',
    onEvent: (event) => {
      if (event.type === 'ExecutionSucceeded') executionEnded();
    },
    handlers: {
      // Outlives its 1-second timeout and the whole execution (the fallback trains on "Fargate").
      TrainOnLambda: async () => {
        await ended;
        await new Promise((resolve) => setTimeout(resolve, 200));
        abandonedFinished = true;
        return {};
      },
    },
  });
  assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
  assert.equal(ofType(result.events, 'StateFailed', 'TrainOnLambda')[0].Error, 'States.Timeout');
  assert.deepEqual(entered(result.events).slice(4, 7), ['TrainOnLambda', 'FallBackToFargate', 'TrainOnFargate']);
  assert.equal(abandonedFinished, true, 'the runner waited for the abandoned task before stopping the server');
  assert.match(result.lines.join('\n'), /waiting for 1 abandoned task/);
});
