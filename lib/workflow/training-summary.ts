import { join } from 'node:path';
import { z } from 'zod';
import type { TrainingSummary } from '../report/report-page.ts';
import { readJsonFileIfExists } from '../json-file.ts';
import { MODEL_FILES } from './files.ts';

/**
 * The fields of training.json (train-step.ts' TrainingRecord) the report page and model card
 * show. Loose on purpose: a record with more fields (a newer trainer) still reads; one missing a
 * shown field is refused, naming it.
 */
/** Native TensorFlow's thread pools as training.json records them (lib/model/backend.ts). */
export const TensorflowThreads = z.strictObject({ intraOp: z.int().min(1), interOp: z.int().min(1) });
/** The graph step's pieces a batch (lib/model/graph/chains.ts), as training.json records them. */
export const GraphChains = z.int().min(1);

export const TrainingSummarySchema = z.looseObject({
  runId: z.string(),
  datasetId: z.string(),
  createdAt: z.string(),
  backend: z.looseObject({
    name: z.string(),
    tfjsVersion: z.string(),
    tensorflowVersion: z.string().optional(),
    threads: z.number().optional(),
    tensorflowThreads: TensorflowThreads.optional(),
    graphChains: GraphChains.optional(),
    trainingStep: z.string().optional(),
  }),
  config: z.looseObject({
    epochs: z.number(),
    batchSize: z.number(),
    validationSplit: z.number(),
    learningRate: z.number(),
    seed: z.number(),
    model: z.looseObject({ layers: z.array(z.record(z.string(), z.unknown())) }),
  }),
  trainExamples: z.number(),
  validationExamples: z.number(),
  seconds: z.number(),
  imagesPerSecond: z.number(),
}) satisfies z.ZodType<TrainingSummary, unknown>;

/** The model's training record, or undefined when it has none (a model trained before records existed). */
export function readTrainingSummary(modelDir: string): Promise<TrainingSummary | undefined> {
  return readJsonFileIfExists(TrainingSummarySchema, join(modelDir, MODEL_FILES.training));
}
