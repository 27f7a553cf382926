import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { reusedRunLine, reusedRunOf } from '../../../cli/run-summary.ts';
import { ServiceError } from '../../../cli/local/cloud/control-plane.ts';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import type { Template } from '../../../cli/local/cloud/template.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';
import { runWorkflowLocally, type LocalRunResult } from '../../../cli/local/runner.ts';
import { lineageNote } from '../../../cli/local/progress.ts';
import { listObjects } from '../../../lib/aws/s3-list.ts';
import { getJsonWith } from '../../../lib/aws/s3.ts';
import { parseManifest } from '../../../lib/data/manifest.ts';
import { ENV } from '../../../lib/env.ts';
import { Champion } from '../../../lib/workflow/promotion.ts';
import { championKey, datasetPrefix, modelPrefix, PREFIXES } from '../../../lib/workflow/layout.ts';
import { syntheticKaggleCsv } from '../../support/kaggle-csv.ts';

/**
 * Retraining on data that grows, end to end on the local runtime: files land under
 * raw/datasets/fmnist/ of the local bucket, their "Object Created" events go through the stack's
 * own EventBridge rule to the trigger function (its own role, listing raw/), whose StartExecution
 * runs the deployed state machine in the same local cloud. Upload a training file and the test
 * file: the first model. Append a second training file: a retrain starts by itself, on both
 * training files and the same test file; Ingest parses only the new file and records the parent
 * dataset; the new model is compared with the champion of the same test set (and replaces it only
 * if better). The same data and config again (a scheduled retrain with nothing new): the run is
 * reused and nothing is trained; "cache": false trains again.
 *
 * The stack is deployed with a fixed code version: a checkout with uncommitted changes has a
 * ".dirty" one, which step caching never trusts (lib/workflow/step-cache.ts).
 */
const CODE_VERSION = '0.0.0+e2e0growing';
const TINY = { epochs: 2, batchSize: 16 };
/** What the trigger starts the retrain on: every train file in key order, the test file. */
const GROWN_KEYS = {
  train: ['raw/datasets/fmnist/train/2026-12-01.csv', 'raw/datasets/fmnist/train/2026-12-03.csv'],
  test: ['raw/datasets/fmnist/test/yardstick.csv'],
};

let dir: string;
let cloud: LocalCloud;
const started = new Map<string, Promise<LocalRunResult>>();
const names: string[] = [];

function withCodeVersion(template: Template): Template {
  const copy = structuredClone(template);
  for (const resource of Object.values(copy.Resources)) {
    const variables = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    if (resource.Type === 'AWS::Lambda::Function' && variables?.[ENV.codeVersion] !== undefined) variables[ENV.codeVersion] = CODE_VERSION;
  }
  return copy;
}

/** StartExecution as Step Functions answers it: one execution per name, run in this cloud. */
function startExecutions(): void {
  cloud.operations['AWSStepFunctions.StartExecution'] = async (caller, input) => {
    await cloud.authorizer.authorize(caller, { action: 'states:StartExecution', resource: String(input.stateMachineArn) });
    const name = String(input.name);
    if (started.has(name)) throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${name}'`);
    const { train, test, ...rest } = JSON.parse(String(input.input)) as { train: string[]; test: string[] } & Record<string, unknown>;
    names.push(name);
    started.set(
      name,
      runWorkflowLocally({
        cloud,
        train: [],
        test: [],
        storedInputs: { train, test },
        // What the trigger sent, with a smaller training config (the trigger sends none: the stack's defaults).
        input: { ...rest, config: TINY },
        executionName: name,
        outDir: join(dir, 'out', name),
        retryIntervalMs: 0,
        progress: false,
      }),
    );
    return { executionArn: `${String(input.stateMachineArn).replace(':stateMachine:', ':execution:')}:${name}`, startDate: Date.now() / 1000 };
  };
}

async function upload(key: string, text: string): Promise<void> {
  await cloud.s3.client.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: text }));
  cloud.events.put({
    source: 'aws.s3',
    'detail-type': 'Object Created',
    resources: [`arn:aws:s3:::${cloud.bucket}`],
    detail: { bucket: { name: cloud.bucket }, object: { key, size: text.length } },
  });
  await cloud.events.drain();
}

/** The execution the last upload started, run to its end. */
async function lastExecution(count: number): Promise<LocalRunResult> {
  assert.equal(names.length, count, `${count} execution(s) started so far`);
  const result = await started.get(names[count - 1])!;
  assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
  return result;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listObjects(cloud.s3.client, cloud.bucket, prefix)) keys.push(object.key);
  return keys;
}

async function manifestOf(datasetId: string) {
  const key = datasetPrefix(datasetId) + 'manifest.json';
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const response = await cloud.s3.client.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: key }));
  return parseManifest(JSON.parse(await response.Body!.transformToString()), key);
}

type Output = {
  plan?: { runId: string };
  dataset: { datasetId: string; testSetId: string; parent: string | null; sourcesFromCache: number; reusedRun: string | null };
  training?: { runId: string };
  evaluation?: { accuracy: number };
  promotion?: { promoted: boolean; sawRunId: string | null };
  reusedRun?: string;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-growing-'));
  cloud = await LocalCloud.start({ template: withCodeVersion((await loadStackTemplate()).template) });
  startExecutions();
});
after(async () => {
  await Promise.allSettled(started.values());
  await cloud?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('upload, train; a training file landing alone retrains on the same test set; the same data again reuses the run', async () => {
  // 1. The first training file, then the yardstick: the first model.
  await upload('raw/datasets/fmnist/train/2026-12-01.csv', syntheticKaggleCsv(150, 1).text);
  assert.equal(names.length, 0, 'no test file yet: nothing starts');
  await upload('raw/datasets/fmnist/test/yardstick.csv', syntheticKaggleCsv(60, 9).text);
  const first = (await lastExecution(1)).output as Output;
  assert.equal(first.dataset.parent, null);
  assert.equal(first.dataset.reusedRun, null);
  assert.equal(first.promotion?.sawRunId, null, 'the first model of its test set');

  // 2. A second training file lands alone: a retrain on both, with the same test file.
  await upload('raw/datasets/fmnist/train/2026-12-03.csv', syntheticKaggleCsv(150, 2).text);
  const second = await lastExecution(2);
  const grown = second.output as Output;
  assert.equal(grown.dataset.testSetId, first.dataset.testSetId, 'the yardstick stayed');
  assert.notEqual(grown.dataset.datasetId, first.dataset.datasetId, 'one more file, a new dataset');
  assert.equal(grown.dataset.parent, first.dataset.datasetId, 'it grew from the first');
  assert.equal(grown.dataset.sourcesFromCache, 2, 'the first training file and the test file are not parsed again');
  const manifest = await manifestOf(grown.dataset.datasetId);
  assert.deepEqual(
    manifest.lineage?.uploads.map((upload) => [upload.split, upload.name.replace(`s3://${cloud.bucket}/`, '')]),
    [
      ['train', 'raw/datasets/fmnist/train/2026-12-01.csv'],
      ['train', 'raw/datasets/fmnist/train/2026-12-03.csv'],
      ['test', 'raw/datasets/fmnist/test/yardstick.csv'],
    ],
  );
  assert.equal(manifest.lineage?.fromParent, 1);
  assert.equal(manifest.splits.train.examples, 300);
  assert.equal(lineageNote({ dataset: grown.dataset }), `dataset ${grown.dataset.datasetId} grew from ${first.dataset.datasetId}; 2 source file(s) read from the ingest's cache, not parsed again`);

  // Compared with the champion of the same test set, and champion only if better.
  assert.equal(grown.promotion?.sawRunId, first.training?.runId);
  const champion = await getJsonWith(cloud.s3.client, { bucket: cloud.bucket, key: championKey(grown.dataset.testSetId) }, Champion);
  const better = grown.evaluation!.accuracy > first.evaluation!.accuracy && grown.evaluation!.accuracy >= 0.5;
  assert.equal(grown.promotion?.promoted, better);
  assert.equal(champion?.runId, better ? grown.training?.runId : first.promotion?.promoted ? first.training?.runId : undefined);

  // 3. The same event again: the same execution name, nothing new starts.
  await upload('raw/datasets/fmnist/train/2026-12-03.csv', syntheticKaggleCsv(150, 2).text);
  assert.equal(names.length, 2, 'same files, same execution');

  // 4. A scheduled retrain with no new data and the same config: the run is reused, nothing trains.
  const reusedName = 'schedule-same-data';
  const models = await keysUnder(`${PREFIXES.runs}`);
  const reused = await runWorkflowLocally({
    cloud,
    train: [],
    test: [],
    storedInputs: GROWN_KEYS,
    input: { config: TINY, trigger: 'schedule' },
    executionName: reusedName,
    outDir: join(dir, 'out', reusedName),
    retryIntervalMs: 0,
    progress: false,
  });
  assert.equal(reused.status, 'SUCCEEDED', `${reused.error}: ${reused.cause}`);
  const reusedOutput = reused.output as Output;
  assert.equal(reusedOutput.reusedRun, grown.training?.runId, 'the execution names the run it reused');
  assert.equal(reusedOutput.training, undefined, 'not trained');
  assert.equal(reusedOutput.evaluation, undefined, 'not evaluated');
  assert.ok(reused.runId);
  assert.deepEqual(await keysUnder(modelPrefix(reusedOutput.plan!.runId)), [], 'no model files of its own');
  const written = (await keysUnder(`${PREFIXES.runs}`)).filter((key) => !models.includes(key));
  assert.deepEqual(written, [`${PREFIXES.runs}${reusedOutput.plan!.runId}/run.json`], 'only its claim was written');
  assert.equal(reusedRunOf(reused.output), grown.training?.runId);
  assert.match(reusedRunLine(reusedRunOf(reused.output)!), new RegExp(`^reused run ${grown.training?.runId}: `));
  assert.ok(reused.files.includes('model/weights.bin'), "the reused run's model is copied to the output directory");

  // 5. "cache": false trains again.
  const forced = await runWorkflowLocally({
    cloud,
    train: [],
    test: [],
    storedInputs: GROWN_KEYS,
    input: { config: TINY, cache: false },
    executionName: 'forced-retrain',
    outDir: join(dir, 'out', 'forced-retrain'),
    retryIntervalMs: 0,
    progress: false,
  });
  assert.equal(forced.status, 'SUCCEEDED', `${forced.error}: ${forced.cause}`);
  assert.equal((forced.output as Output).reusedRun, undefined);
  const forcedRun = (forced.output as Output).training?.runId;
  assert.ok(forcedRun);
  assert.ok((await keysUnder(modelPrefix(forcedRun))).length > 0, 'trained: model files written');
});
