import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { downloadPrefix } from '../../lib/aws/s3.ts';
import { LocalCloud } from '../../cli/local/cloud/local-cloud.ts';
import type { Template } from '../../cli/local/cloud/template.ts';
import { loadStackTemplate } from '../../cli/local/definition.ts';
import { causeMessage } from '../../cli/local/progress.ts';
import { type ExecutionEvent, type LocalRunOptions, type LocalRunResult, runWorkflowLocally } from '../../cli/local/runner.ts';
import { StatesError } from '../../cli/local/states/errors.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { runEvaluateStep } from '../../lib/workflow/evaluate-step.ts';
import type { TrainContinuation, TrainResult } from '../../lib/workflow/events.ts';
import { runTrainStep } from '../../lib/workflow/train-step.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * The stack deployed locally with the train Lambda's timeout cut to TRAIN_TIMEOUT_SECONDS: training
 * that needs several of those finishes on Lambda over "continue" loops, or, when the Lambda times
 * out, on Fargate from the Lambda's last checkpoint; either way with the weights and test accuracy
 * of one uninterrupted run. Every invocation runs at least one slice after loading the backend,
 * the dataset and the checkpoint (the time budget's rule), and a checkpoint save waits for S3:
 * 4 s and 6 s (with a 5 % reserve) left too little of that while the rest of the suite loads the
 * machine (Sandbox.Timedout: load average 8 on 2 cores gives each process a fraction of a core).
 */
const TRAIN_TIMEOUT_SECONDS = 8;
const TRAIN_ROWS = 3000;
/**
 * Epochs are chosen (calibrate()) for about TRAINING_SECONDS of epoch work in the local train
 * Lambda: five timeouts' worth, which with each invocation's start-up, reserve and checkpoints
 * takes five or more invocations, at least 3 loops on any machine, well under the 20-loop cap.
 */
const TRAINING_SECONDS = 5 * TRAIN_TIMEOUT_SECONDS;
/** Above what any machine needs (0.25 s an epoch on CI's gives 160): only a guard against a broken calibration. */
const MAX_EPOCHS = 400;
const BASE_CONFIG = { batchSize: 32, model: TINY_MODEL };
let CONFIG: typeof BASE_CONFIG & { epochs: number };

let dir: string;
let trainCsv: string;
let testCsv: string;
let cloud: LocalCloud;
let reference: { weightsSha256: string; accuracy: number } | undefined;
let runs = 0;

/** The stack with the train function's Timeout set to `seconds` (CloudFormation: whole seconds). */
function withTrainTimeout(template: Template, seconds: number): Template {
  const copy = structuredClone(template);
  const trainFunctions = Object.values(copy.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties?.ImageConfig as { Command?: string[] } | undefined)?.Command?.[0]?.startsWith('functions/train/handler.'),
  );
  assert.equal(trainFunctions.length, 1);
  trainFunctions[0].Properties!.Timeout = seconds;
  return copy;
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const entered = (events: ExecutionEvent[]) => events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);

async function run(options: Partial<LocalRunOptions>): Promise<LocalRunResult> {
  return runWorkflowLocally({
    train: [trainCsv],
    test: [testCsv],
    outDir: join(dir, `out-${++runs}`),
    cloud,
    retryIntervalMs: 0,
    progress: false,
    ...options,
    // Every run here trains the same data and config on one bucket: without cache: false the later ones would reuse the first (step caching).
    input: { config: CONFIG, cache: false, ...options.input },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-continuation-'));
  trainCsv = join(dir, 'fashion-mnist_train.csv');
  testCsv = join(dir, 'fashion-mnist_test.csv');
  await writeFile(trainCsv, syntheticKaggleCsv(TRAIN_ROWS, 11).text);
  await writeFile(testCsv, syntheticKaggleCsv(100, 12).text);
  const stack = (await loadStackTemplate()).template;
  cloud = await LocalCloud.start({ template: withTrainTimeout(stack, TRAIN_TIMEOUT_SECONDS) });
  CONFIG = { ...BASE_CONFIG, epochs: await calibrate() };
});
after(async () => {
  await cloud?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Epochs for about TRAINING_SECONDS of epoch work in the local train Lambda, from the difference
 * between two short runs there (2 and 12 epochs), so start-up cancels out and the per-epoch cost
 * includes what this process does not pay: the sandbox, its checkpoint to S3 at every epoch end,
 * its logs and metrics. An in-process measure was a third of that cost here and gave 294 epochs,
 * 13 loops; capped at 60 it gave a faster machine only 2 loops.
 */
async function calibrate(): Promise<number> {
  const trainingMs = async (epochs: number) => {
    const result = await run({ input: { trainOn: 'lambda', config: { ...BASE_CONFIG, epochs } } });
    assert.equal(result.status, 'SUCCEEDED', `calibration: ${result.error}: ${causeMessage(result.cause)}`);
    return result.invocations.filter((invocation) => /Train/.test(invocation.function)).reduce((sum, invocation) => sum + invocation.durationMs, 0);
  };
  const epochSeconds = Math.max(0.001, ((await trainingMs(12)) - (await trainingMs(2))) / 10 / 1000);
  return Math.min(MAX_EPOCHS, Math.max(3, Math.ceil(TRAINING_SECONDS / epochSeconds)));
}

/** One uninterrupted run on the dataset the workflow ingested, in this process: no checkpoints, no pauses. */
async function referenceRun(datasetId: string): Promise<{ weightsSha256: string; accuracy: number }> {
  if (reference) return reference;
  const datasetDir = join(dir, 'reference', 'dataset');
  const modelDir = join(dir, 'reference', 'model');
  await downloadPrefix(cloud.s3.client, { bucket: cloud.bucket, key: `datasets/${datasetId}/` }, datasetDir);
  await runTrainStep({ datasetDir, modelDir, config: parseTrainConfig(CONFIG), runId: 'reference' });
  const metrics = await runEvaluateStep({ datasetDir, modelDir, reportDir: join(dir, 'reference', 'report') });
  reference = { weightsSha256: await sha256(join(modelDir, 'weights.bin')), accuracy: metrics.accuracy };
  return reference;
}

describe(`long training (about ${TRAINING_SECONDS} s) on a Lambda with a ${TRAIN_TIMEOUT_SECONDS}-second timeout`, () => {
  test('finishes on Lambda over at least 3 "continue" loops, counted in the output, with the weights and accuracy of one uninterrupted run', async (t) => {
    const result = await run({ input: { trainOn: 'lambda' } });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${causeMessage(result.cause)}`);
    const states = entered(result.events);
    const invocations = states.filter((name) => name === 'TrainOnLambda').length;
    const loops = states.filter((name) => name === 'ContinueTraining').length;
    const trainings = result.invocations.filter((invocation) => /Train/.test(invocation.function));
    t.diagnostic(`${CONFIG.epochs} epochs, ${loops} loops; train invocations (s): ${trainings.map((invocation) => (invocation.durationMs / 1000).toFixed(2)).join(', ')}`);
    assert.ok(loops >= 3, `${loops} continuation loops: ${states.join(' ')}`);
    assert.equal(invocations, loops + 1);
    assert.ok(!states.includes('TrainOnFargate') && !states.includes('FallBackToFargate'), 'no timeout on the way');
    const trainEnd = states.lastIndexOf('TrainOnLambda');
    assert.deepEqual(states.slice(trainEnd, trainEnd + 3), ['TrainOnLambda', 'TrainingStatus', 'Evaluate']);

    const output = result.output as { trainLoops: { count: number }; training: TrainResult; evaluation: { accuracy: number } };
    assert.deepEqual(output.trainLoops, { count: loops });
    assert.equal(output.training.status, 'complete');
    assert.ok(output.training.resumedFrom, 'the last invocation resumed from a checkpoint');
    const events = JSON.parse(await readFile(join(result.outDir, 'execution-events.json'), 'utf8')) as ExecutionEvent[];
    assert.equal(entered(events).filter((name) => name === 'ContinueTraining').length, loops, 'the event log written out shows the loops');

    const expected = await referenceRun(result.datasetId!);
    assert.equal(await sha256(join(result.outDir, 'model', 'weights.bin')), expected.weightsSha256);
    assert.equal(output.evaluation.accuracy, expected.accuracy);
  });

  test('a TrainOnLambda that times out after checkpointing falls back to Fargate, which resumes from that checkpoint', async () => {
    let paused: TrainContinuation | undefined;
    const result = await run({
      doubles: {
        // The real function trains until it checkpoints and would continue; then the Lambda is
        // taken to have run out of time, as one whose estimate was wrong would.
        TrainOnLambda: async (event, invoke) => {
          paused = (await invoke(event)) as unknown as TrainContinuation;
          assert.equal(paused.status, 'continue');
          throw new StatesError('Sandbox.Timedout', `{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after ${TRAIN_TIMEOUT_SECONDS}.00 seconds"}`);
        },
      },
    });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${causeMessage(result.cause)}`);
    const states = entered(result.events);
    assert.deepEqual(states.slice(states.indexOf('TrainOnLambda'), states.indexOf('Evaluate') + 1), [
      'TrainOnLambda',
      'FallBackToFargate',
      'WriteTrainEvent',
      'TrainOnFargate',
      'Evaluate',
    ]);
    const output = result.output as { trainLoops: { count: number }; training: TrainResult; evaluation: { accuracy: number } };
    assert.deepEqual(output.trainLoops, { count: 0 });
    assert.ok(paused && paused.position.epoch + paused.position.batch > 1, `the Lambda got somewhere: ${JSON.stringify(paused?.position)}`);
    assert.deepEqual(output.training.resumedFrom, paused.position, 'Fargate started at the Lambda’s checkpoint');

    const expected = await referenceRun(result.datasetId!);
    assert.equal(await sha256(join(result.outDir, 'model', 'weights.bin')), expected.weightsSha256);
    assert.equal(output.evaluation.accuracy, expected.accuracy);
  });
});
