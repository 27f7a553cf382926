import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSplit, readManifest } from '../data/dataset.ts';
import { loadModel, MODEL_JSON, WEIGHTS_BIN } from '../model/io.ts';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../validation.ts';
import { evaluateLossAccuracy } from '../model/predict.ts';
import { predictModel } from '../model/graph/graph-predictor.ts';
import { classificationReport } from '../report/classification-report.ts';
import { EpochLogsFile, type EpochLog } from '../model/history.ts';
import { writeReport } from '../report/write-report.ts';
import { MODEL_FILES, REPORT_FILES } from './files.ts';
import { ModelSha256 } from './promotion.ts';
import { readJsonFileIfExists, writeJson } from '../json-file.ts';
import { readTrainingSummary } from './training-summary.ts';
import { testSetIdOf } from '../data/test-set-id.ts';
import type { ChampionComparison } from '../report/report-page.ts';

export interface EvaluateStepInput {
  datasetDir: string;
  modelDir: string;
  reportDir: string;
  /** The code's version, shown in the report page's lineage (e.g. package.json's); optional. */
  codeVersion?: string;
  /**
   * The champion of the test split at evaluation time, for the report page's comparison; given
   * the test split's id (the dataset's manifest is read here). Promote decides afterwards.
   */
  championOf?: (testSetId: string) => Promise<ChampionComparison | undefined>;
}

/** The small JSON a workflow passes on and a promotion step compares. */
export interface EvaluationMetrics {
  datasetId: string;
  examples: number;
  accuracy: number;
  loss: number;
  macroF1: number;
  weightedF1: number;
  /** sha256 of the model files that were evaluated. */
  modelSha256: { 'model.json': string; 'weights.bin': string };
  files: string[];
}

/**
 * What a stored metrics.json must hold for its report to be returned as complete (Evaluate
 * entered again by a resumed run); an older report without modelSha256 is not complete.
 */
export const StoredMetrics = z.object({
  accuracy: z.number(),
  loss: z.number(),
  macroF1: z.number(),
  weightedF1: z.number(),
  modelSha256: ModelSha256,
});
export type StoredMetrics = z.infer<typeof StoredMetrics>;

export function parseStoredMetrics(json: unknown, where: string): StoredMetrics {
  const parsed = StoredMetrics.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${where} exists but is not a complete report's metrics (${formatIssues(parsed.error.issues).join('; ')})`);
}

export async function runEvaluateStep(input: EvaluateStepInput): Promise<EvaluationMetrics> {
  const manifest = await readManifest(input.datasetDir);
  const test = await loadSplit(input.datasetDir, 'test', manifest);
  const modelSha256 = {
    'model.json': await fileSha256(join(input.modelDir, MODEL_JSON)),
    'weights.bin': await fileSha256(join(input.modelDir, WEIGHTS_BIN)),
  };
  const { model, metadata } = await loadModel(input.modelDir);
  let prediction;
  try {
    // Through the model's inference graph on native TensorFlow, else tfjs op by op (graph-predictor.ts).
    prediction = (await predictModel(model, metadata, test)).prediction;
  } finally {
    model.dispose();
  }
  const { loss, accuracy } = evaluateLossAccuracy(prediction.probabilities, test.labels);
  const history = await readHistory(input.modelDir);
  const champion = await input.championOf?.(testSetIdOf(manifest));

  await mkdir(input.reportDir, { recursive: true });
  const files = await writeReport(input.reportDir, {
    yTrue: test.labels,
    yPred: prediction.predicted,
    history,
    images: test,
    loss,
    training: await readTrainingSummary(input.modelDir),
    lineage: {
      datasetId: manifest.datasetId,
      datasetCreatedAt: manifest.createdAt,
      sources: (['train', 'test'] as const).flatMap((split) => manifest.splits[split].sources.map((source) => ({ split, ...source }))),
      modelSha256,
      codeVersion: input.codeVersion,
    },
    champion,
    dataChecks: manifest.checks,
  });
  await writeFile(join(input.reportDir, REPORT_FILES.predictions), Array.from(prediction.predicted).join('\n') + '\n');
  const report = classificationReport(test.labels, prediction.predicted);
  const metrics: EvaluationMetrics = {
    datasetId: manifest.datasetId,
    examples: test.count,
    accuracy,
    loss,
    macroF1: averageF1(report, 'macro avg'),
    weightedF1: averageF1(report, 'weighted avg'),
    modelSha256,
    files: [...files, REPORT_FILES.predictions, REPORT_FILES.metrics],
  };
  await writeJson(join(input.reportDir, REPORT_FILES.metrics), metrics);
  return metrics;
}

function averageF1(report: ReturnType<typeof classificationReport>, key: 'macro avg' | 'weighted avg'): number {
  const entry = report[key];
  if (typeof entry !== 'object') throw new Error(`classification report has no "${key}" entry`);
  return entry['f1-score'];
}

/** The model's training history, or undefined when it has none; a malformed one names its field. */
export function readHistory(modelDir: string): Promise<EpochLog[] | undefined> {
  return readJsonFileIfExists(EpochLogsFile, join(modelDir, MODEL_FILES.history));
}

async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}
