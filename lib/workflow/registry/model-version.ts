import { z } from 'zod';
import { GraphChains, TensorflowThreads } from '../training-summary.ts';
import { TrainingCost } from '../cost.ts';
import { S3Prefix, TestSetId } from '../ids.ts';
import { RunId } from '../run-id.ts';
import { PinnedFile } from '../promotion.ts';

/**
 * One evaluated model in the registry (models/registry/<testSetId>/<runId>.json): where its
 * files are (pinned by version id and sha256), what it was trained on and how, what it scored on
 * which test split, with which code, how long it took and what it cost. Written once, by the
 * Promote step, before any decision about it; what happens to it later (promotion, approval)
 * lives in the champion history and the approval record, never in this record.
 */
const metric = z.number().min(0).max(1);

export const Approval = z.strictObject({
  decision: z.enum(['approved', 'rejected', 'expired']),
  by: z.string().min(1),
  at: z.iso.datetime(),
  reason: z.string(),
});
export type Approval = z.infer<typeof Approval>;

export const ModelVersion = z.strictObject({
  runId: RunId,
  testSetId: TestSetId,
  datasetId: z.string().min(1),
  registeredAt: z.iso.datetime(),
  /** The execution that trained it and what started it (absent for records of older runs). */
  executionName: z.string().optional(),
  trigger: z.string().optional(),
  model: z.strictObject({
    prefix: S3Prefix,
    files: z.strictObject({ 'model.json': PinnedFile, 'weights.bin': PinnedFile }),
  }),
  reportPrefix: S3Prefix,
  /** From the run's classification_report.json (checked when registering: see registerModelVersion). */
  metrics: z.strictObject({ accuracy: metric, macroF1: metric, weightedF1: metric, loss: z.number().optional() }),
  training: z.strictObject({
    config: z.record(z.string(), z.unknown()),
    backend: z.strictObject({
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
  }),
  /** The deployed code's version (FMNIST_CODE_VERSION, set by the stack); "unknown" when not set. */
  codeVersion: z.string().min(1),
  /** A person's answer when the run waited for approval. */
  approval: Approval.optional(),
  /** A sweep trial's sweep (sweeps/<sweepId>/sweep.json), from its run record. */
  sweep: z.strictObject({ sweepId: RunId, trialId: z.string() }).optional(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;
