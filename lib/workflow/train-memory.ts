import { ConfigError } from '../errors.ts';
import type { TrainConfig } from '../model/config.ts';
import { estimateTrainingMemory, formatBytes, type TrainingMemoryEstimate } from '../model/memory.ts';

/**
 * Whether a training config fits the machines it may run on (lib/model/memory.ts estimates),
 * decided twice: at ValidateInput, before any work, for the model and the batch (the data set's
 * size is not known yet; `limit` bounds it when given), and in the train step, with the data
 * set's real size, against the memory of the function it runs in.
 */
export interface TrainMemoryMiB {
  /** The train Lambda function's memory. */
  lambda: number;
  /** The Fargate training task's memory. */
  fargate: number;
}

export interface TrainingMemoryPlan {
  /** Estimated peak of training without the data set, MiB. */
  modelMiB: number;
  /** Added per train example loaded. */
  bytesPerTrainExample: number;
  /** The largest train split whose training still fits the Lambda's memory (0: none does). */
  lambdaMaxTrainExamples: number;
  /** Why training cannot run on the Lambda, when it cannot. */
  reason?: string;
}

const MiB = 2 ** 20;

/**
 * Refuses (ConfigError) a config that fits neither runtime it may use, and says how many train
 * examples still fit the Lambda; with trainOn "auto" a config that fits only Fargate gets 0,
 * which the state machine's Choice reads as "Fargate".
 * @param source where the config came from, for messages (`execution input "config"`)
 */
export function planTrainingMemory(
  config: TrainConfig,
  trainOn: 'lambda' | 'fargate' | 'auto',
  memory: TrainMemoryMiB,
  limit: number | undefined,
  source: string,
): TrainingMemoryPlan {
  const estimate = estimateTrainingMemory(config);
  const known = limit ?? 0;
  const lambdaBytes = memory.lambda * MiB;
  const fitsLambda = estimate.bytesFor(known) <= lambdaBytes;
  const fitsFargate = estimate.bytesFor(known) <= memory.fargate * MiB;
  if (trainOn === 'lambda' && !fitsLambda) {
    const elsewhere = fitsFargate ? ', or use trainOn "auto" or "fargate"' : '';
    throw new ConfigError(
      `${source}: ${tooBig(estimate, known, 'the train Lambda', memory.lambda)}; lower batchSize or shrink ${estimate.largest.path}${elsewhere}`,
    );
  }
  if (trainOn !== 'lambda' && !fitsFargate) {
    throw new ConfigError(`${source}: ${tooBig(estimate, known, 'the training task', memory.fargate)}; lower batchSize or shrink ${estimate.largest.path}`);
  }
  return {
    modelMiB: Math.ceil(estimate.fixedBytes / MiB),
    bytesPerTrainExample: estimate.bytesPerExample,
    lambdaMaxTrainExamples: fitsLambda ? estimate.examplesThatFit(lambdaBytes) : 0,
    ...(fitsLambda ? {} : { reason: `${tooBig(estimate, known, 'the train Lambda', memory.lambda)}: training on Fargate` }),
  };
}

/**
 * The train step's check, once the data set's size is known: fails before loading it when the
 * function (`memoryMiB`, from its environment) cannot hold the training run.
 */
export function checkTrainingMemory(config: TrainConfig, trainExamples: number, memoryMiB: number | undefined, source: string): void {
  if (memoryMiB === undefined) return;
  const estimate = estimateTrainingMemory(config);
  if (estimate.bytesFor(trainExamples) > memoryMiB * MiB) {
    throw new ConfigError(`${source}: ${tooBig(estimate, trainExamples, 'this function', memoryMiB)}`);
  }
}

/** `model.layers[0] (conv2d, 1024 filters, 3x3, same): activations at batch 8192 need ~73.6 GiB; ...`. */
function tooBig(estimate: TrainingMemoryEstimate, examples: number, where: string, memoryMiB: number): string {
  const { largest, batchSize } = estimate;
  const data = examples > 0 ? ` with ${examples} train examples` : '';
  return (
    `${largest.path} (${largest.description}): activations at batch ${batchSize} need ~${formatBytes(largest.bytes)}; ` +
    `training needs ~${formatBytes(estimate.bytesFor(examples))} in all${data}, and ${where} has ${formatBytes(memoryMiB * MiB)}`
  );
}
