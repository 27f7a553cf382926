import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SOURCE_ENTRY_METADATA } from '../../../infra/paths.ts';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import type { Template } from '../../../cli/local/cloud/template.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';
import { startLocalS3 } from '../../../cli/local/local-s3.ts';
import { causeMessage } from '../../../cli/local/progress.ts';
import { type ExecutionEvent, type LocalRunOptions, type LocalRunResult, runWorkflowLocally } from '../../../cli/local/runner.ts';
import { StatesError } from '../../../cli/local/states/errors.ts';
import type { Manifest } from '../../../lib/data/manifest.ts';
import { testSetIdOf } from '../../../lib/data/test-set-id.ts';
import type { EvaluateResult } from '../../../lib/workflow/events.ts';
import { syntheticKaggleCsv, unbalancedKaggleCsv } from '../../support/kaggle-csv.ts';
import { TINY_MODEL } from '../../support/tiny-model.ts';
import { setReportedAccuracy } from '../../support/reported-accuracy.ts';

/**
 * The stack's own template deployed into the local cloud and its state machine run end to end,
 * each function in its own sandbox with its own role, on a tiny synthetic dataset (100 train
 * rows, 30 test rows of unequal class supports so that macro and weighted F1 differ, a 4-filter
 * CNN, 1 epoch).
 */
const TINY_CONFIG = {
  epochs: 1,
  batchSize: 16,
  model: TINY_MODEL,
};

let dir: string;
let trainCsv: string;
let testCsv: string;
let testLabels: number[];
let stack: Template;
/** Most runs share one cloud: its environments stay warm between runs, as Lambda's do. */
let shared: LocalCloud;
let runs = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-local-run-'));
  trainCsv = join(dir, 'fashion-mnist_train.csv');
  testCsv = join(dir, 'fashion-mnist_test.csv');
  const test = unbalancedKaggleCsv(50, 2);
  testLabels = test.labels;
  await writeFile(trainCsv, syntheticKaggleCsv(100, 1).text);
  await writeFile(testCsv, test.text);
  // A stack deployed with no promotion floor (-c promotionMinAccuracy=0): a model trained for
  // seconds on 100 synthetic images scores below the default floor of 0.5, and these tests follow
  // a promotion through. The floor itself: test/functions/promote-handler.test.ts.
  stack = (await loadStackTemplate({ context: { promotionMinAccuracy: 0 } })).template;
  shared = await LocalCloud.start({ template: stack });
});
after(async () => {
  await shared?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Run extends LocalRunResult {
  lines: string[];
}

async function run(options: Partial<LocalRunOptions> = {}): Promise<Run> {
  const lines: string[] = [];
  const result = await runWorkflowLocally({
    train: [trainCsv],
    test: [testCsv],
    outDir: join(dir, `out-${++runs}`),
    ...(options.template || options.stateDir || options.timeScale !== undefined ? {} : { cloud: shared }),
    retryIntervalMs: 0,
    progress: { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) },
    ...options,
    // The runs here train the same data with the same config, each to be watched training: no
    // step caching (test/cli/local/growing-data.test.ts covers it).
    input: { config: TINY_CONFIG, cache: false, ...options.input },
  });
  return { ...result, lines };
}

const entered = (events: ExecutionEvent[]) => events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
const ofType = (events: ExecutionEvent[], type: string, state?: string) =>
  events.filter((e) => e.type === type && (state === undefined || e.state?.name === state));
const readJson = async <T = unknown>(...path: string[]) => JSON.parse(await readFile(join(...path), 'utf8')) as T;

/** The stack with one statement's action removed from the role of the function that runs `module`. */
function withoutGrant(template: Template, module: string, action: string): Template {
  const copy = structuredClone(template);
  const resources = copy.Resources;
  const fnId = Object.keys(resources).find(
    (id) =>
      resources[id].Type === 'AWS::Lambda::Function' &&
      (resources[id].Metadata?.[SOURCE_ENTRY_METADATA] === module || (resources[id].Properties?.ImageConfig as { Command?: string[] })?.Command?.[0]?.startsWith(module.replace(/\.ts$/, '.'))),
  )!;
  const roleId = (resources[fnId].Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  let removed = 0;
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!(resource.Properties!.Roles as { Ref: string }[]).some((role) => role.Ref === roleId)) continue;
    const document = resource.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] };
    for (const statement of document.Statement) {
      const actions = [statement.Action].flat();
      if (actions.includes(action)) {
        statement.Action = actions.filter((candidate) => candidate !== action);
        removed++;
      }
    }
    document.Statement = document.Statement.filter((statement) => [statement.Action].flat().length > 0);
  }
  assert.ok(removed > 0, `the role of ${module} has ${action}`);
  return copy;
}

describe('runWorkflowLocally: the stack, deployed locally', () => {
  test('trainOn "lambda": SUCCEEDED through every state in order, each function in its sandbox, outputs copied out and consistent', async () => {
    // Pass-through doubles: the real functions run; the events the state machine sent them are kept.
    const sent: Record<string, unknown> = {};
    const recordEvent = (state: string) => async (event: unknown, invoke: (event: never) => Promise<unknown>) => {
      sent[state] = event;
      return invoke(event as never);
    };
    const result = await run({ input: { trainOn: 'lambda' }, doubles: { Evaluate: recordEvent('Evaluate'), Promote: recordEvent('Promote') } });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.deepEqual(entered(result.events), [
      'ValidateInput',
      'Ingest',
      'IsSweep',
      'CompletedRunFound',
      'PrepareTrainEvent',
      'StartTrainLoops',
      'ChooseTrainingRuntime',
      'TrainOnLambda',
      'TrainingStatus',
      'Evaluate',
      'ApprovalRequired',
      'ApprovalNotRequired',
      'Promote',
      'Done',
    ]);
    assert.deepEqual((result.output as { trainLoops: unknown }).trainLoops, { count: 0 });
    assert.equal(result.runId, result.executionName, 'the run id defaults to the execution name');

    // The report, copied out, agrees with the predictions and the test labels.
    const out = result.outDir;
    type Scores = { 'f1-score': number };
    const report = await readJson<{ accuracy: number; 'macro avg': Scores; 'weighted avg': Scores }>(out, 'report', 'classification_report.json');
    const predictions = (await readFile(join(out, 'report', 'predictions.txt'), 'utf8')).trim().split('\n').map(Number);
    assert.equal(predictions.length, testLabels.length);
    const correct = predictions.filter((label, i) => label === testLabels[i]).length;
    assert.equal(report.accuracy, correct / testLabels.length);

    const output = await readJson<{
      dataset: { datasetId: string; testSetId: string; trainExamples: number; testExamples: number };
      training: { runId: string; modelPrefix: string };
      evaluation: EvaluateResult;
      promotion: { promoted: boolean; reason: string };
    }>(out, 'execution-output.json');
    assert.deepEqual(output, result.output);
    // Each metric is the report's own, under its own name (the test set is unbalanced: macro and weighted F1 differ).
    assert.notEqual(report['macro avg']['f1-score'], report['weighted avg']['f1-score']);
    const metricsJson = await readJson<{ accuracy: number; macroF1: number; weightedF1: number }>(out, 'report', 'metrics.json');
    for (const [where, values] of [['execution output', output.evaluation], ['metrics.json', metricsJson]] as const) {
      assert.equal(values.accuracy, report.accuracy, `${where}: accuracy`);
      assert.equal(values.macroF1, report['macro avg']['f1-score'], `${where}: macroF1`);
      assert.equal(values.weightedF1, report['weighted avg']['f1-score'], `${where}: weightedF1`);
    }
    assert.deepEqual([output.dataset.trainExamples, output.dataset.testExamples], [100, testLabels.length]);
    assert.equal(output.training.modelPrefix, `runs/${result.runId}/model/`);
    assert.deepEqual(output.promotion, {
      promoted: true,
      reason: 'no champion yet',
      sawRunId: null,
      attempts: 1,
      registered: `models/registry/${output.dataset.testSetId}/${result.runId}.json`,
    });
    const manifest = await readJson<Manifest>(out, 'dataset', 'manifest.json');
    assert.equal(manifest.datasetId, output.dataset.datasetId);

    // What Evaluate and Promote were sent, by value: this run's keys, the manifest's dataset id.
    assert.deepEqual(sent.Evaluate, { runId: result.runId, datasetPrefix: `datasets/${manifest.datasetId}/`, modelPrefix: `runs/${result.runId}/model/` });
    const candidate = (sent.Promote as { candidate: Record<string, unknown> }).candidate;
    assert.equal(candidate.runId, result.runId);
    assert.equal(candidate.datasetId, manifest.datasetId);
    assert.equal(candidate.testSetId, testSetIdOf(manifest));
    assert.equal(candidate.accuracy, report.accuracy);
    assert.equal(candidate.macroF1, report['macro avg']['f1-score']);
    assert.equal(candidate.modelPrefix, `runs/${result.runId}/model/`);
    assert.equal(candidate.reportPrefix, `runs/${result.runId}/report/`);
    assert.deepEqual(candidate.modelSha256, output.evaluation.modelSha256);
    const { candidate: _candidate, ...rule } = sent.Promote as Record<string, unknown>;
    assert.deepEqual(rule, { mode: 'if-better', policy: { minAccuracy: 0 }, approval: { decision: 'not-required' }, executionName: result.executionName });
    assert.equal((await readJson<{ runId: string }>(out, 'champion.json')).runId, result.runId);
    // The promotion went out on the bus, from the Promote function's role (IAM-checked PutEvents).
    assert.deepEqual(
      result.published.map((event) => [event.source, event.detailType, event.detail.runId, event.detail.previous]),
      [['fmnist.registry', 'Champion Promoted', result.runId, null]],
    );
    assert.match(result.published[0].by, /Promote/);
    // The training record's cost: its own seconds at the train function's configured memory.
    const training = await readJson<{ seconds: number; cost: { lambdaGbSeconds: number; fargateVcpuSeconds?: number } }>(out, 'model', 'training.json');
    const trainMemoryMiB = Object.values(stack.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::Function' && (resource.Properties?.ImageConfig as { Command?: string[] })?.Command?.[0]?.startsWith('functions/train/handler.'),
    )!.Properties!.MemorySize as number;
    assert.ok(Math.abs(training.cost.lambdaGbSeconds - (trainMemoryMiB / 1024) * training.seconds) < 1e-9, JSON.stringify(training.cost));
    assert.equal(training.cost.fargateVcpuSeconds, undefined);
    for (const file of ['report/metrics.json', 'report/confusion_matrix.png', 'model/history.json', 'local-run.json']) {
      assert.ok(result.files.includes(file), `${file} in ${result.files.join(', ')}`);
    }

    // Each function ran once in its own environment, within its limits.
    const invoked = result.invocations.map((invocation) => invocation.outcome);
    assert.deepEqual(invoked, ['ok', 'ok', 'ok', 'ok', 'ok']);
    for (const invocation of result.invocations) assert.ok(invocation.maxMemoryUsedMiB > 0, JSON.stringify(invocation));
    const localRun = await readJson<{ invocations: unknown[]; orphanedTasks: unknown[] }>(out, 'local-run.json');
    assert.equal(localRun.invocations.length, 5);
    assert.deepEqual(result.orphanedTasks, []);

    const text = result.lines.join('\n');
    for (const state of ['ValidateInput', 'Ingest', 'TrainOnLambda', 'Evaluate', 'Promote']) assert.match(text, new RegExp(`${state}\\s+finished in \\d+\\.\\d\\d s`));
    assert.match(text, /TrainOnLambda\s+epoch 1\/1 - loss \d/);
    assert.match(text, /train split: 100 rows x 785 columns/);
  });

  test('trainOn "fargate": WriteTrainEvent puts the TrainEvent in S3, the entry runs as a container with the task role, reads it and calls back', async () => {
    const result = await run({ input: { trainOn: 'fargate' } });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${causeMessage(result.cause)}`);
    assert.deepEqual(entered(result.events).slice(6, 10), ['ChooseTrainingRuntime', 'WriteTrainEvent', 'TrainOnFargate', 'Evaluate']);
    const training = (result.output as { training: { runId: string; modelPrefix: string } }).training;
    assert.equal(training.modelPrefix, `runs/${result.runId}/model/`);
    const object = await shared.s3.client.send(new GetObjectCommand({ Bucket: shared.bucket, Key: `runs/${result.runId}/train-event.json` }));
    const event = JSON.parse(await object.Body!.transformToString()) as { runId: string; datasetPrefix: string; config: unknown };
    assert.equal(event.runId, result.runId);
    assert.match(event.datasetPrefix, /^datasets\/[0-9a-f]{16}\/$/);
    // The container knows its size from the task definition: the cost is in vCPU- and GB-seconds.
    const taskDefinition = Object.values(stack.Resources).find((resource) => resource.Type === 'AWS::ECS::TaskDefinition')!.Properties!;
    const record = await readJson<{ seconds: number; cost: { fargateVcpuSeconds: number; fargateGbSeconds: number; lambdaGbSeconds?: number } }>(result.outDir, 'model', 'training.json');
    assert.ok(Math.abs(record.cost.fargateVcpuSeconds - (Number(taskDefinition.Cpu) / 1024) * record.seconds) < 1e-9, JSON.stringify(record.cost));
    assert.ok(Math.abs(record.cost.fargateGbSeconds - (Number(taskDefinition.Memory) / 1024) * record.seconds) < 1e-9, JSON.stringify(record.cost));
    assert.equal(record.cost.lambdaGbSeconds, undefined);
    assert.deepEqual(event.config, TINY_CONFIG);
    assert.ok(result.heartbeats.some((beats) => beats.length >= 1), 'the entry heartbeats at start');
    assert.deepEqual(result.orphanedTasks, []);
    // The container's training progress comes through the same channel as the Lambda's (cloud/progress-relay.ts).
    assert.match(result.lines.join('\n'), /TrainOnFargate\s+epoch 1\/1 - loss \d/);
  });

  test('a stack variant without a needed grant fails locally with AccessDenied naming the action and the key', async () => {
    const result = await run({ template: withoutGrant(stack, 'functions/train/handler.ts', 's3:GetObject'), input: { trainOn: 'lambda' } });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'AccessDenied');
    assert.match(causeMessage(result.cause), /assumed-role\/.*\/TrainingTrainFunction\w+ is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::fmnist-local\/datasets\/[0-9a-f]{16}\//);
    assert.deepEqual(entered(result.events).slice(-2), ['TrainOnLambda', 'Failed']);
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
    assert.match(causeMessage(result.cause), /s3:\/\/fmnist-local\/raw\/test\/[0-9a-f]{16}\/bad_test\.csv, line 4/);
    assert.deepEqual(entered(result.events), ['ValidateInput', 'Ingest', 'Failed']);
    assert.equal(ofType(result.events, 'StateRetried').length, 0);
  });

  /** A test set of 20 training rows, in another order: other bytes than the train file, the same images. */
  async function leakedTestCsv(): Promise<string> {
    const path = join(dir, 'leaked_test.csv');
    const [header, ...rows] = (await readFile(trainCsv, 'utf8')).trim().split('\n');
    await writeFile(path, [header, ...rows.slice(40, 60).reverse()].join('\n') + '\n');
    return path;
  }

  test('dataChecks "fail": a test set made of training rows stops the run at Ingest, before training, naming the check, the figures and the threshold', async () => {
    const result = await run({ test: [await leakedTestCsv()], input: { dataChecks: 'fail' } });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'DataCheckError');
    assert.match(
      causeMessage(result.cause),
      /^data checks failed \(dataChecks: "fail"\): train-test-leak: 20 of 20 test examples are also in train \(20 distinct images\) \(100\.00 %\), more than maxLeakShare 0\.01 \(1\.00 %\)$/,
    );
    assert.deepEqual(entered(result.events), ['ValidateInput', 'Ingest', 'Failed']);
    assert.equal(ofType(result.events, 'StateRetried').length, 0);
  });

  test('dataChecks "fail": new training data without a class the champion\'s data had stops at Ingest (drift), naming the champion', async () => {
    const champion = await run({ input: { promote: 'always' } });
    assert.equal(champion.status, 'SUCCEEDED', `${champion.error}: ${champion.cause}`);
    const withoutDresses = join(dir, 'train_without_dresses.csv');
    const [header, ...rows] = (await readFile(trainCsv, 'utf8')).trim().split('\n');
    await writeFile(withoutDresses, [header, ...rows.filter((row) => !row.startsWith('3,'))].join('\n') + '\n');
    const drifted = await run({ train: [withoutDresses], input: { dataChecks: 'fail' } });
    assert.equal(drifted.status, 'FAILED');
    assert.equal(drifted.error, 'DataCheckError');
    const championDataset = (champion.output as { dataset: { datasetId: string } }).dataset.datasetId;
    assert.match(causeMessage(drifted.cause), new RegExp(`missing-classes: class 3 missing from train, present in champion ${champion.runId}'s dataset ${championDataset}`));
    assert.match(causeMessage(drifted.cause), /label-drift: label distribution 0\.1000 away/);
    assert.deepEqual(entered(drifted.events), ['ValidateInput', 'Ingest', 'Failed']);
  });

  test('dataChecks "warn" (the stack default): the leak is printed, the run trains, the warning is in the manifest and on the report page', async () => {
    const result = await run({ test: [await leakedTestCsv()] });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    const manifest = await readJson<Manifest>(result.outDir, 'dataset', 'manifest.json');
    assert.equal(manifest.checks!.policy, 'warn');
    assert.deepEqual(manifest.checks!.findings.map((f) => [f.check, f.value, f.threshold]), [['train-test-leak', 1, 0.01]]);
    assert.deepEqual(manifest.checks!.figures.duplicates.acrossSplits, { testExamples: 20, images: 20 });
    const page = await readFile(join(result.outDir, 'report', 'index.html'), 'utf8');
    assert.match(page, /<li><strong>Warning: train-test-leak<\/strong>: 20 of 20 test examples are also in train/);
    assert.match(page, /<dt>Test examples also in train<\/dt><dd>20 \(20 images\)<\/dd>/);
    const card = await readFile(join(result.outDir, 'report', 'model_card.md'), 'utf8');
    assert.match(card, /- Warning: train-test-leak: 20 of 20 test examples/);
    assert.match(result.lines.join('\n'), /WARNING train-test-leak: 20 of 20 test examples are also in train/);
  });

  test('Catch: Lambda out of time falls back to Fargate when trainOn is "auto", fails when it is "lambda"', async () => {
    const timedOut = async () => {
      throw new StatesError('Sandbox.Timedout', '{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 900.00 seconds"}');
    };
    const auto = await run({ doubles: { TrainOnLambda: timedOut } });
    assert.equal(auto.status, 'SUCCEEDED', `${auto.error}: ${auto.cause}`);
    assert.deepEqual(entered(auto.events).slice(7, 12), ['TrainOnLambda', 'FallBackToFargate', 'WriteTrainEvent', 'TrainOnFargate', 'Evaluate']);

    const pinned = await run({ input: { trainOn: 'lambda' }, doubles: { TrainOnLambda: timedOut } });
    assert.equal(pinned.status, 'FAILED');
    assert.equal(pinned.error, 'Sandbox.Timedout');
    assert.deepEqual(entered(pinned.events).slice(7), ['TrainOnLambda', 'FallBackToFargate', 'Failed']);
  });

  test('promotion across runs sharing a state directory (and a throttled Evaluate retried)', async (t) => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    // The same state directory, opened beside the runs (as a second `fmnist` process would).
    const bucket = await startLocalS3({ directory: stateDir });
    t.after(() => bucket.stop());
    let calls = 0;
    const withAccuracy = (accuracy: number): Partial<LocalRunOptions> => ({
      stateDir,
      doubles: {
        Evaluate: async (event, invoke) => {
          if (++calls === 1) throw new StatesError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
          const result = (await invoke(event)) as unknown as EvaluateResult;
          await setReportedAccuracy(bucket.client, bucket.bucket, result.reportPrefix, accuracy);
          return { ...result, accuracy };
        },
      },
    });
    const first = await run(withAccuracy(0.5));
    assert.equal(first.status, 'SUCCEEDED', `${first.error}: ${first.cause}`);
    assert.deepEqual(ofType(first.events, 'StateFailed', 'Evaluate').map((e) => e.Error), ['Lambda.TooManyRequestsException']);
    assert.equal(ofType(first.events, 'StateRetried', 'Evaluate').length, 1);
    assert.match(first.lines.join('\n'), /Evaluate\s+retry 1 of 3/);
    assert.deepEqual((first.output as { promotion: unknown }).promotion, {
      promoted: true,
      reason: 'no champion yet',
      sawRunId: null,
      attempts: 1,
      registered: `models/registry/${(first.output as { dataset: { testSetId: string } }).dataset.testSetId}/${first.runId}.json`,
    });

    const worse = await run(withAccuracy(0.4));
    const worseOutput = worse.output as { promotion: { promoted: boolean; reason: string; sawRunId: string }; dataset: { reused: boolean } };
    assert.equal(worseOutput.dataset.reused, true, 'the same data is not ingested twice');
    assert.equal(worseOutput.promotion.promoted, false);
    assert.equal(worseOutput.promotion.sawRunId, first.runId);
    assert.equal((await readJson<{ runId: string }>(worse.outDir, 'champion.json')).runId, first.runId);
    const better = await run(withAccuracy(0.6));
    assert.equal((better.output as { promotion: { promoted: boolean } }).promotion.promoted, true);
  });

  test('aborted while a Fargate task trains: the stop-training rule stops the task (SIGTERM), nothing is left running', async () => {
    const controller = new AbortController();
    const result = await run({
      input: { trainOn: 'fargate', config: { ...TINY_CONFIG, epochs: 200 } },
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'StateEntered' && event.state?.name === 'TrainOnFargate') setTimeout(() => controller.abort(), 3000);
      },
    });
    assert.equal(result.status, 'ABORTED');
    const delivery = result.deliveries.find((candidate) => /stop/i.test(candidate.target));
    assert.ok(delivery, `a delivery to the stop-training function: ${JSON.stringify(result.deliveries)}`);
    assert.equal(delivery.outcome, 'succeeded', delivery.error);
    assert.deepEqual(result.orphanedTasks, [], 'the task was stopped');
  });

  test('refuses missing input files before starting anything', async () => {
    await assert.rejects(run({ train: [join(dir, 'nope.csv')] }), /nope\.csv: no such file/);
  });
});
