import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { ClassificationReport, ClassScores } from '../report/classification-report.ts';
import type { RunArtifacts } from '../report/run-comparison.ts';
import { classRows } from '../report/weaknesses.ts';
import { arrayOf, fieldPath, parseJsonWith } from '../validation.ts';
import { MODEL_FILES, REPORT_FILES } from './files.ts';
import { TestSetId } from './ids.ts';
import { modelPrefix, reportPrefix } from './layout.ts';
import { TrainingSummarySchema } from './training-summary.ts';

/**
 * The files of a finished run that `fmnist runs compare` reads (from the bucket, locally or on
 * AWS), each validated against its schema and against each other, so a damaged or mismatched file
 * is refused with a ConfigError naming the file and the field rather than compared.
 */

/** The raw text of each file; training.json and metrics.json may be missing (older runs). */
export interface RunArtifactTexts {
  classificationReport: string;
  confusionMatrix: string;
  training?: string;
  metrics?: string;
}

export type RunArtifactFile = keyof RunArtifactTexts;

/** The bucket key of each file of run `runId`. */
export function runArtifactKeys(runId: string): Record<RunArtifactFile, string> {
  return {
    classificationReport: reportPrefix(runId) + REPORT_FILES.classificationReportJson,
    confusionMatrix: reportPrefix(runId) + REPORT_FILES.confusionMatrixJson,
    training: modelPrefix(runId) + MODEL_FILES.training,
    metrics: reportPrefix(runId) + REPORT_FILES.metrics,
  };
}

const Score = z.number().min(0).max(1);
const ClassScoresSchema = z.object({
  precision: Score,
  recall: Score,
  'f1-score': Score,
  support: z.int().min(0),
}) satisfies z.ZodType<ClassScores, unknown>;

/** sklearn's output_dict shape: `accuracy` a number, every other key (classes, averages) a score entry. */
export const ClassificationReportFile = z.record(z.string(), z.unknown()).superRefine((report, ctx) => {
  for (const key of ['accuracy', 'macro avg', 'weighted avg']) {
    if (!Object.hasOwn(report, key)) ctx.addIssue({ code: 'custom', path: [key], message: 'missing' });
  }
  for (const [key, value] of Object.entries(report)) {
    const parsed = (key === 'accuracy' ? Score : ClassScoresSchema).safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] } as z.core.$ZodRawIssue);
  }
}) as unknown as z.ZodType<ClassificationReport>;

/** confusion_matrix.json as lib/report/write-report.ts writes it: n class names, an n×n matrix of counts. */
export const ConfusionMatrixFile = z
  .object({
    classNames: arrayOf(z.string().min(1)).min(1),
    matrix: arrayOf(arrayOf(z.int().min(0))),
  })
  .superRefine((file, ctx) => {
    const n = file.classNames.length;
    if (file.matrix.length !== n) ctx.addIssue({ code: 'custom', path: ['matrix'], message: `must have ${n} rows (one per class), got ${file.matrix.length}` });
    file.matrix.forEach((row, i) => {
      if (row.length !== n) ctx.addIssue({ code: 'custom', path: ['matrix', i], message: `must have ${n} columns (one per class), got ${row.length}` });
    });
  });

/** A number that JSON may hold as null (a diverged run's NaN loss). */
const NumberOrNull = z.union([z.number(), z.null().transform(() => Number.NaN)]);

/** The metrics.json fields a comparison uses; loose, since the evaluate step adds fields over time. */
export const MetricsFile = z.looseObject({
  datasetId: z.string().optional(),
  testSetId: TestSetId.optional(),
  accuracy: z.number().optional(),
  loss: NumberOrNull.optional(),
  macroF1: z.number().optional(),
  weightedF1: z.number().optional(),
});

/** training.json: the report page's fields, plus the cost estimate when the run was trained on AWS. */
export const TrainingFile = TrainingSummarySchema.extend({
  cost: z.looseObject({ usd: z.number().min(0) }).optional(),
});

/**
 * Parses and cross-checks a run's files. `sourceOf` names a file in errors (default: its key,
 * runs/<runId>/...); pass one giving s3:// URLs or paths. Refused (ConfigError): bad JSON, a field
 * of the wrong shape, a training.json of another run, a report whose classes or supports differ
 * from the confusion matrix's, metrics.json figures that differ from the report's.
 */
export function parseRunArtifacts(runId: string, texts: RunArtifactTexts, sourceOf?: (file: RunArtifactFile) => string): RunArtifacts {
  const keys = runArtifactKeys(runId);
  const where = sourceOf ?? ((file: RunArtifactFile) => keys[file]);
  const report = parseJsonWith(ClassificationReportFile, texts.classificationReport, where('classificationReport'));
  const confusion = parseJsonWith(ConfusionMatrixFile, texts.confusionMatrix, where('confusionMatrix'));
  const training = texts.training === undefined ? undefined : parseJsonWith(TrainingFile, texts.training, where('training'));
  const metrics = texts.metrics === undefined ? undefined : parseJsonWith(MetricsFile, texts.metrics, where('metrics'));

  if (training && training.runId !== runId) throw new ConfigError(`${where('training')}: runId: is "${training.runId}", not the run "${runId}" it is stored under`);
  checkReportMatchesMatrix(report, confusion, where);
  if (metrics) checkMetricsMatchReport(metrics, report, where);

  const artifacts: RunArtifacts = { runId, classificationReport: report, confusionMatrix: confusion.matrix, classNames: confusion.classNames };
  if (training) artifacts.training = training;
  if (metrics) {
    artifacts.evaluation = {};
    if (metrics.loss !== undefined) artifacts.evaluation.loss = metrics.loss;
    if (metrics.datasetId !== undefined) artifacts.evaluation.datasetId = metrics.datasetId;
    if (metrics.testSetId !== undefined) artifacts.evaluation.testSetId = metrics.testSetId;
  }
  return artifacts;
}

function checkReportMatchesMatrix(report: ClassificationReport, confusion: z.output<typeof ConfusionMatrixFile>, where: (file: RunArtifactFile) => string): void {
  const rows = classRows(report);
  const names = rows.map((row) => row.name);
  if (names.length !== confusion.classNames.length || names.some((name, i) => name !== confusion.classNames[i])) {
    throw new ConfigError(
      `${where('classificationReport')} lists the classes ${names.join(', ')} but ${where('confusionMatrix')} lists ${confusion.classNames.join(', ')}: not the same evaluation`,
    );
  }
  rows.forEach((row, i) => {
    const size = confusion.matrix[i].reduce((a, b) => a + b, 0);
    if (row.support !== size) {
      throw new ConfigError(
        `${where('classificationReport')}: ${fieldPath([row.name, 'support'])}: is ${row.support} but row ${i} of ${where('confusionMatrix')} sums to ${size}: not the same evaluation`,
      );
    }
  });
}

/** metrics.json's figures are copied from the report by the evaluate step: a difference means a bug or a mixed-up file. */
function checkMetricsMatchReport(metrics: z.output<typeof MetricsFile>, report: ClassificationReport, where: (file: RunArtifactFile) => string): void {
  const fromReport = {
    accuracy: report['accuracy'] as number,
    macroF1: (report['macro avg'] as ClassScores)['f1-score'],
    weightedF1: (report['weighted avg'] as ClassScores)['f1-score'],
  };
  for (const key of ['accuracy', 'macroF1', 'weightedF1'] as const) {
    const stored = metrics[key];
    if (stored !== undefined && Math.abs(stored - fromReport[key]) > 1e-9) {
      throw new ConfigError(`${where('metrics')}: ${key}: is ${stored} but ${where('classificationReport')} gives ${fromReport[key]}`);
    }
  }
}
