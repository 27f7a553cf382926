import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putObject } from '../../../lib/aws/s3.ts';
import { classificationReport } from '../../../lib/report/classification-report.ts';
import type { RunTraining } from '../../../lib/report/run-comparison.ts';
import { buildReportFiles } from '../../../lib/report/write-report.ts';
import { championKey, modelVersionKey, runRecordKey } from '../../../lib/workflow/layout.ts';
import { Champion } from '../../../lib/workflow/promotion.ts';
import { ModelVersion } from '../../../lib/workflow/registry/model-version.ts';
import { runArtifactKeys } from '../../../lib/workflow/run-artifacts.ts';
import { RunRecord } from '../../../lib/workflow/run-record.ts';
import { startLocalS3 } from '../../../cli/local/local-s3.ts';

/**
 * A bucket's worth of runs for the `fmnist runs` tests, written as the workflow writes them: the
 * report files by lib/report/write-report.ts from label pairs, records checked against their
 * schemas before they are stored (a fixture that drifts from the schema fails here, not silently).
 */

export const CLASSES = ['cat', 'dog', 'fox'];
export const TEST_SET = 'c'.repeat(64);
export const OTHER_TEST_SET = 'd'.repeat(64);

/** Rows are the true class, columns the predicted class: A gets 23 of 30 right, B 25 of 30. */
export const MATRIX_A = [
  [8, 2, 0],
  [1, 6, 3],
  [0, 1, 9],
];
export const MATRIX_B = [
  [9, 0, 1],
  [1, 8, 1],
  [2, 0, 8],
];

export type Objects = Map<string, string>;

function labelsOf(matrix: number[][]): { yTrue: number[]; yPred: number[] } {
  const yTrue: number[] = [];
  const yPred: number[] = [];
  matrix.forEach((row, t) => row.forEach((count, p) => {
    for (let i = 0; i < count; i++) {
      yTrue.push(t);
      yPred.push(p);
    }
  }));
  return { yTrue, yPred };
}

export function runRecord(runId: string, createdAt: string, extra: { trigger?: 'manual' | 'new-data' | 'schedule'; config?: Record<string, unknown>; limit?: number } = {}): string {
  const record = RunRecord.parse({
    runId,
    executionName: `exec-${runId}`,
    createdAt,
    input: {
      train: ['raw/train/0123456789abcdef/fashion-mnist_train.csv.gz'],
      test: ['raw/test/fedcba9876543210/fashion-mnist_test.csv.gz'],
      ...(extra.limit === undefined ? {} : { limit: extra.limit }),
      ...(extra.config === undefined ? {} : { config: extra.config }),
      trainOn: 'lambda',
      promote: 'if-better',
      ...(extra.trigger === undefined ? {} : { trigger: extra.trigger }),
    },
  });
  return JSON.stringify(record, null, 2) + '\n';
}

export function training(runId: string, epochs: number, seconds: number): RunTraining {
  return {
    runId,
    datasetId: 'd1',
    createdAt: '2026-12-02T18:00:00.000Z',
    backend: { name: 'tensorflow', tfjsVersion: '4.22.0', threads: 2 },
    config: { epochs, batchSize: 64, validationSplit: 0.2, learningRate: 0.001, seed: 42, model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }] } },
    trainExamples: 48,
    validationExamples: 12,
    seconds,
    imagesPerSecond: 480,
  };
}

/** A finished run's files: run.json, report (classification report, confusion matrix, metrics.json) and training.json. */
export function evaluatedRun(
  runId: string,
  createdAt: string,
  matrix: number[][],
  extra: Parameters<typeof runRecord>[2] & { epochs?: number; seconds?: number; costUsd?: number } = {},
): Objects {
  const keys = runArtifactKeys(runId);
  const { yTrue, yPred } = labelsOf(matrix);
  const files = buildReportFiles({ yTrue, yPred, classNames: CLASSES });
  const report = classificationReport(yTrue, yPred, CLASSES);
  const f1 = (key: string) => (report[key] as { 'f1-score': number })['f1-score'];
  const metrics = { datasetId: 'd1', examples: yTrue.length, accuracy: report['accuracy'], loss: 0.3, macroF1: f1('macro avg'), weightedF1: f1('weighted avg') };
  return new Map([
    [runRecordKey(runId), runRecord(runId, createdAt, extra)],
    [keys.classificationReport, files['classification_report.json'] as string],
    [keys.confusionMatrix, files['confusion_matrix.json'] as string],
    [keys.metrics, JSON.stringify(metrics)],
    [
      keys.training,
      JSON.stringify({
        ...training(runId, extra.epochs ?? 3, extra.seconds ?? 100),
        ...(extra.costUsd === undefined ? {} : { cost: { basis: 'estimate', lambdaGbSeconds: 1000, usd: extra.costUsd } }),
      }),
    ],
  ]);
}

/** The registry record the Promote step writes for an evaluated run. */
export function registryRecord(runId: string, testSetId: string, matrix: number[][]): Objects {
  const { yTrue, yPred } = labelsOf(matrix);
  const report = classificationReport(yTrue, yPred, CLASSES);
  const f1 = (key: string) => (report[key] as { 'f1-score': number })['f1-score'];
  const version = ModelVersion.parse({
    runId,
    testSetId,
    datasetId: 'd1',
    registeredAt: '2026-12-02T19:00:00.000Z',
    trigger: 'manual',
    model: { prefix: `runs/${runId}/model/`, files: { 'model.json': { versionId: null, sha256: '1'.repeat(64) }, 'weights.bin': { versionId: null, sha256: '2'.repeat(64) } } },
    reportPrefix: `runs/${runId}/report/`,
    metrics: { accuracy: report['accuracy'], macroF1: f1('macro avg'), weightedF1: f1('weighted avg'), loss: 0.3 },
    training: { config: { epochs: 3 }, backend: { name: 'tensorflow' }, trainExamples: 48, seconds: 100, imagesPerSecond: 480 },
    codeVersion: 'test',
  });
  return new Map([[modelVersionKey(testSetId, runId), JSON.stringify(version, null, 2)]]);
}

export function championRecord(runId: string, testSetId: string, accuracy: number, macroF1: number): Objects {
  const champion = Champion.parse({
    runId,
    datasetId: 'd1',
    testSetId,
    accuracy,
    macroF1,
    modelPrefix: `runs/${runId}/model/`,
    reportPrefix: `runs/${runId}/report/`,
    promotedAt: '2026-12-02T19:00:01.000Z',
    files: { 'model.json': { versionId: null, sha256: '1'.repeat(64) }, 'weights.bin': { versionId: null, sha256: '2'.repeat(64) } },
    previous: null,
    reason: 'no champion yet',
  });
  return new Map([[championKey(testSetId), JSON.stringify(champion, null, 2)]]);
}

export const merge = (...parts: Objects[]): Objects => new Map(parts.flatMap((part) => [...part]));

/** A state directory whose local bucket holds `objects`, written through the local S3 server (then stopped). */
export async function localStateDir(objects: Objects): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'fmnist-runs-test-'));
  const local = await startLocalS3({ directory });
  try {
    for (const [key, body] of objects) await putObject(local.client, { bucket: local.bucket, key }, body, 'application/json');
  } finally {
    await local.stop();
  }
  return directory;
}
