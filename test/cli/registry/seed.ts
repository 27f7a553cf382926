import { Command } from 'commander';
import type { S3Client } from '@aws-sdk/client-s3';
import { putObject, sha256Hex } from '../../../lib/aws/s3.ts';
import { pinModelFiles } from '../../../lib/workflow/champion-store.ts';
import { modelPrefix, reportPrefix } from '../../../lib/workflow/layout.ts';
import { championFrom, type Candidate } from '../../../lib/workflow/promotion.ts';
import { changeChampion } from '../../../lib/workflow/registry/champion-change.ts';
import { ModelVersion, type Approval } from '../../../lib/workflow/registry/model-version.ts';
import { registerModelVersion } from '../../../lib/workflow/registry/store.ts';
import { registerModelsCommands } from '../../../cli/registry/models-commands.ts';
import type { RegistryDeps } from '../../../cli/registry/target.ts';

/**
 * A registry seeded the way the workflow's Promote step fills it: real model files in the bucket,
 * pinned by pinModelFiles, registered with registerModelVersion, champions changed with
 * changeChampion (which files the history). Works on any S3 client: the local S3 or a FakeS3.
 */

export const TEST_SET_A = sha256Hex('test split A');
export const TEST_SET_B = sha256Hex('test split B');
export const DATASET_A1 = sha256Hex('dataset A1').slice(0, 16);
export const DATASET_A2 = sha256Hex('dataset A2').slice(0, 16);
export const DATASET_B = sha256Hex('dataset B').slice(0, 16);

export interface RunSpec {
  runId: string;
  testSetId: string;
  datasetId: string;
  accuracy: number;
  macroF1: number;
  registeredAt: string;
  trigger?: string;
  approval?: Approval;
}

export const modelJsonOf = (runId: string) => JSON.stringify({ format: 'layers-model', runId });
export const weightsOf = (runId: string) => Buffer.from(`weights of ${runId}`);

export async function seedVersion(s3: S3Client, bucket: string, spec: RunSpec): Promise<ModelVersion> {
  const prefix = modelPrefix(spec.runId);
  await putObject(s3, { bucket, key: `${prefix}model.json` }, modelJsonOf(spec.runId), 'application/json');
  await putObject(s3, { bucket, key: `${prefix}weights.bin` }, weightsOf(spec.runId));
  const files = await pinModelFiles(s3, bucket, prefix, { 'model.json': sha256Hex(modelJsonOf(spec.runId)), 'weights.bin': sha256Hex(weightsOf(spec.runId)) });
  const version = ModelVersion.parse({
    runId: spec.runId,
    testSetId: spec.testSetId,
    datasetId: spec.datasetId,
    registeredAt: spec.registeredAt,
    executionName: `exec-${spec.runId}`,
    trigger: spec.trigger ?? 'manual',
    model: { prefix, files },
    reportPrefix: reportPrefix(spec.runId),
    metrics: { accuracy: spec.accuracy, macroF1: spec.macroF1, weightedF1: spec.macroF1 },
    training: { config: { epochs: 2 }, backend: { name: 'wasm' }, trainExamples: 600, seconds: 12.5, imagesPerSecond: 96 },
    codeVersion: 'abc1234',
    ...(spec.approval ? { approval: spec.approval } : {}),
  });
  return registerModelVersion(s3, bucket, version);
}

/** Makes a registered version champion as the workflow does (championFrom, through changeChampion). */
export async function seedChampion(s3: S3Client, bucket: string, version: ModelVersion, at: string) {
  const candidate: Candidate = {
    runId: version.runId,
    datasetId: version.datasetId,
    testSetId: version.testSetId,
    accuracy: version.metrics.accuracy,
    macroF1: version.metrics.macroF1,
    modelPrefix: version.model.prefix,
    reportPrefix: version.reportPrefix,
    modelSha256: { 'model.json': version.model.files['model.json'].sha256, 'weights.bin': version.model.files['weights.bin'].sha256 },
  };
  return changeChampion(s3, bucket, version.testSetId, (current) => ({
    next: championFrom(candidate, version.model.files, current, current ? 'accuracy beats the champion' : 'no champion yet', new Date(at), `workflow (execution exec-${version.runId})`),
  }));
}

/**
 * Test set A: a1 (champion first), a2 (then champion), a3 (registered, champion last: A → B → C);
 * a4 registered on A's other dataset, never champion. Test set B: b1, champion.
 */
export async function seedRegistry(s3: S3Client, bucket: string) {
  const a1 = await seedVersion(s3, bucket, { runId: 'run-a1', testSetId: TEST_SET_A, datasetId: DATASET_A1, accuracy: 0.85, macroF1: 0.84, registeredAt: '2026-12-01T10:00:00.000Z' });
  await seedChampion(s3, bucket, a1, '2026-12-01T10:00:01.000Z');
  const a2 = await seedVersion(s3, bucket, { runId: 'run-a2', testSetId: TEST_SET_A, datasetId: DATASET_A1, accuracy: 0.88, macroF1: 0.87, registeredAt: '2026-12-01T11:00:00.000Z', trigger: 'upload' });
  await seedChampion(s3, bucket, a2, '2026-12-01T11:00:01.000Z');
  const a3 = await seedVersion(s3, bucket, {
    runId: 'run-a3',
    testSetId: TEST_SET_A,
    datasetId: DATASET_A2,
    accuracy: 0.9,
    macroF1: 0.89,
    registeredAt: '2026-12-01T12:00:00.000Z',
    trigger: 'schedule',
    approval: { decision: 'approved', by: 'alice', at: '2026-12-01T12:00:00.500Z', reason: 'looks good' },
  });
  await seedChampion(s3, bucket, a3, '2026-12-01T12:00:01.000Z');
  await seedVersion(s3, bucket, { runId: 'run-a4', testSetId: TEST_SET_A, datasetId: DATASET_A2, accuracy: 0.8, macroF1: 0.79, registeredAt: '2026-12-01T13:00:00.000Z' });
  const b1 = await seedVersion(s3, bucket, { runId: 'run-b1', testSetId: TEST_SET_B, datasetId: DATASET_B, accuracy: 0.7, macroF1: 0.69, registeredAt: '2026-11-30T09:00:00.000Z' });
  await seedChampion(s3, bucket, b1, '2026-11-30T09:00:01.000Z');
}

/** Runs `fmnist <args>` through commander with the models commands registered on `deps`. */
export async function runModels(deps: RegistryDeps, args: string[]): Promise<void> {
  const program = new Command('fmnist').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerModelsCommands(program, deps);
  await program.parseAsync(['models', ...args], { from: 'user' });
}

/** A clock that ticks one second per reading, from `start`. */
export function tickingClock(start: string): () => Date {
  let next = new Date(start).getTime();
  return () => new Date((next += 1000));
}
