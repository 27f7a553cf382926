import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSplit, readManifest } from '../data/dataset.ts';
import type { TrainConfig } from '../model/config.ts';
import { saveModel } from '../model/io.ts';
import { trainModel, type TrainHooks } from '../model/train.ts';
import type { BackendInfo } from '../model/backend.ts';
import type { EpochLog } from '../report/history.ts';
import { MODEL_FILES } from './files.ts';
import { checkTrainingMemory } from './train-memory.ts';

export interface TrainStepInput {
  datasetDir: string;
  modelDir: string;
  config: TrainConfig;
  runId: string;
  hooks?: TrainHooks;
  /** The memory training may use, MiB (a Lambda function's); checked before the data is loaded. */
  memoryMiB?: number;
}

/** What a training run records next to its model, so every model says how it was made. */
export interface TrainingRecord {
  runId: string;
  datasetId: string;
  createdAt: string;
  backend: BackendInfo;
  config: TrainConfig;
  trainExamples: number;
  validationExamples: number;
  seconds: number;
  imagesPerSecond: number;
  finalEpoch: EpochLog;
}

export async function runTrainStep(input: TrainStepInput): Promise<TrainingRecord> {
  const manifest = await readManifest(input.datasetDir);
  checkTrainingMemory(input.config, manifest.splits.train.examples, input.memoryMiB, `training ${manifest.datasetId}`);
  const train = await loadSplit(input.datasetDir, 'train', manifest);
  const result = await trainModel(train, input.config, input.hooks);
  try {
    const record: TrainingRecord = {
      runId: input.runId,
      datasetId: manifest.datasetId,
      createdAt: new Date().toISOString(),
      backend: result.backend,
      config: input.config,
      trainExamples: result.trainExamples,
      validationExamples: result.validationExamples,
      seconds: result.seconds,
      imagesPerSecond: result.imagesPerSecond,
      finalEpoch: result.history[result.history.length - 1],
    };
    await mkdir(input.modelDir, { recursive: true });
    await writeJson(join(input.modelDir, MODEL_FILES.history), result.history);
    await writeJson(join(input.modelDir, MODEL_FILES.training), record);
    // model.json last: its presence means the directory is complete.
    await saveModel(result.model, input.modelDir, { training: record });
    return record;
  } finally {
    result.model.dispose();
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}
