import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { GraphChains, TensorflowThreads } from '../training-summary.ts';
import { getJsonWith, s3Url } from '../../aws/s3.ts';
import { ConfigError } from '../../errors.ts';
import { TrainingCost } from '../cost.ts';
import { MODEL_FILES, REPORT_FILES } from '../files.ts';
import type { Candidate, PinnedFiles } from '../promotion.ts';
import { readRunRecord } from '../run-record.ts';
import type { Approval, ModelVersion } from './model-version.ts';

/**
 * A run's model version, built from what the run stored: its training record (training.json),
 * its classification report, its run record (execution and trigger) and its pinned model files.
 * The metrics come from classification_report.json, and the candidate's figures (what Evaluate
 * passed along the state machine) must equal them: a metric wired to the wrong source fails here
 * instead of being registered.
 */

/** The parts of training.json the registry keeps; loose, so a newer trainer's record still reads. */
const TrainingRecordFields = z.looseObject({
  config: z.record(z.string(), z.unknown()),
  backend: z.looseObject({
    name: z.string(),
    tfjsVersion: z.string().optional(),
    tensorflowVersion: z.string().optional(),
    tensorflowThreads: TensorflowThreads.optional(),
    graphChains: GraphChains.optional(),
    trainingStep: z.string().optional(),
  }),
  trainExamples: z.int().min(0),
  seconds: z.number().min(0),
  imagesPerSecond: z.number().min(0),
  cost: TrainingCost.optional(),
});

const Scores = z.looseObject({ 'f1-score': z.number() });
/** The summary rows of a classification report (lib/report/classification-report.ts). */
const ReportSummary = z.looseObject({ accuracy: z.number(), 'macro avg': Scores, 'weighted avg': Scores });

/** Figures equal to the report's as JSON carries them; 1e-12 absorbs nothing but a re-serialisation. */
const same = (a: number, b: number) => Math.abs(a - b) <= 1e-12;

async function readJson<S extends z.ZodType>(s3: S3Client, bucket: string, key: string, schema: S): Promise<z.output<S>> {
  const stored = await getJsonWith(s3, { bucket, key }, schema);
  if (stored === undefined) throw new ConfigError(`cannot register the model: ${s3Url({ bucket, key })} does not exist`);
  return stored;
}

export interface RegisterRunInput {
  candidate: Candidate;
  files: PinnedFiles;
  codeVersion: string;
  registeredAt: Date;
  approval?: Approval;
}

export async function modelVersionOfRun(s3: S3Client, bucket: string, input: RegisterRunInput): Promise<ModelVersion> {
  const { candidate } = input;
  const training = await readJson(s3, bucket, candidate.modelPrefix + MODEL_FILES.training, TrainingRecordFields);
  const reportKey = candidate.reportPrefix + REPORT_FILES.classificationReportJson;
  const report = await readJson(s3, bucket, reportKey, ReportSummary);
  const metrics = { accuracy: report.accuracy, macroF1: report['macro avg']['f1-score'], weightedF1: report['weighted avg']['f1-score'] };
  for (const name of ['accuracy', 'macroF1'] as const) {
    if (!same(candidate[name], metrics[name])) {
      throw new ConfigError(`cannot register run ${candidate.runId}: its ${name} ${candidate[name]} is not the ${s3Url({ bucket, key: reportKey })} figure ${metrics[name]}`);
    }
  }
  const record = await readRunRecord(s3, bucket, candidate.runId);
  const { config, backend, trainExamples, seconds, imagesPerSecond, cost } = training;
  return {
    runId: candidate.runId,
    testSetId: candidate.testSetId,
    datasetId: candidate.datasetId,
    registeredAt: input.registeredAt.toISOString(),
    ...(record?.executionName ? { executionName: record.executionName } : {}),
    trigger: record?.input.trigger ?? 'manual',
    model: { prefix: candidate.modelPrefix, files: input.files },
    reportPrefix: candidate.reportPrefix,
    metrics,
    training: {
      config,
      backend: {
        name: backend.name,
        tfjsVersion: backend.tfjsVersion,
        tensorflowVersion: backend.tensorflowVersion,
        ...(backend.tensorflowThreads ? { tensorflowThreads: backend.tensorflowThreads } : {}),
        ...(backend.graphChains ? { graphChains: backend.graphChains } : {}),
        trainingStep: backend.trainingStep,
      },
      trainExamples,
      seconds,
      imagesPerSecond,
      ...(cost ? { cost } : {}),
    },
    codeVersion: input.codeVersion,
    ...(input.approval ? { approval: input.approval } : {}),
    ...(record?.input.trialOf ? { sweep: record.input.trialOf } : {}),
  };
}
