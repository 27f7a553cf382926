import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { MetricUnit, publishMetrics } from '../../lib/aws/metrics.ts';
import { runtimeResources } from '../../lib/aws/runtime-env.ts';
import { computeSizeFrom, parseTrainingCost } from '../../lib/workflow/cost.ts';
import { s3CheckpointStore } from '../../lib/aws/s3-checkpoint-store.ts';
import { downloadPrefix, getJson, objectExists, uploadDirectory } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { trainingChoicesFrom } from '../../lib/model/choices.ts';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import { parseEvent, TrainEvent, type TrainBudgetReached, type TrainOutcome, type TrainResult } from '../../lib/workflow/events.ts';
import { MODEL_FILES } from '../../lib/workflow/files.ts';
import { datasetPrefix as datasetPrefixOf, modelPrefix } from '../../lib/workflow/layout.ts';
import { newRunId } from '../../lib/workflow/run-id.ts';
import { withScratchDir } from '../../lib/workflow/scratch.ts';
import { runResumableTrainStep, type TrainingRecord, type TrainStepOutcome } from '../../lib/workflow/train-step.ts';
import type { TrainHooks } from '../../lib/model/train.ts';
import { timeBudget } from './time-budget.ts';

/** Seconds between checkpoints inside an epoch (besides the one at every epoch end); default lib/model/checkpoint's. */
export const CHECKPOINT_EVERY_ENV = 'FMNIST_CHECKPOINT_EVERY_SECONDS';

/** The part of the Lambda context the handler uses; absent (Fargate, tests): never pauses. */
export interface TrainContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Downloads the dataset's shards and trains, resuming from the run's newest checkpoint
 * (runs/<runId>/checkpoint/) and checkpointing as it goes. With a Lambda context it watches the
 * remaining time (time-budget.ts): when the next slice may not fit, it checkpoints and returns
 * `{ status: "continue" }`, and the state machine invokes it again. With an `epochBudget` it stops
 * at the epoch end where the run has that many epochs done, checkpointed, and answers
 * `{ status: "budget" }` (at once when its checkpoint is already there). Finished, it uploads the model
 * with its history and training record, model.json last, so a model prefix with model.json in it
 * is always complete; a run whose model.json is already there is answered from its training.json
 * without training (a retried or resumed invocation).
 */
export function createTrainHandler(deps: HandlerDeps & { hooks?: TrainHooks; env?: NodeJS.ProcessEnv } = {}) {
  // The environment is read here, at the edge, once: every setting below comes from it.
  const env = deps.env ?? process.env;
  const resolve = handlerDeps(deps, 'fmnist-train', env);
  return async (event: unknown, context?: TrainContext): Promise<TrainOutcome> => {
    const budgetMs = context?.getRemainingTimeInMillis();
    const { s3, bucket, logger, metrics } = resolve();
    const input = parseEvent(TrainEvent, event, 'train');
    const config = parseTrainConfig(input.config ?? {}, 'train event "config"');
    const checkpointEveryMs = checkpointInterval(env);
    const choices = trainingChoicesFrom(env);
    const warn = (message: string) => logger.warn(message);
    const runId = input.runId ?? newRunId();
    const prefix = modelPrefix(runId);

    const stored = await storedResult(s3, bucket, runId, input.datasetPrefix, config);
    if (stored) {
      logger.info('model already trained: returning its record', { runId, modelPrefix: prefix });
      return stored;
    }

    const { memoryMiB } = runtimeResources(env);
    const backend = await initBackend(choices.backend ?? config.backend, { warn });
    logger.info('training started', { runId, datasetPrefix: input.datasetPrefix, backend, config, epochBudget: input.epochBudget });
    const time = context && budgetMs !== undefined ? timeBudget(() => context.getRemainingTimeInMillis(), budgetMs) : undefined;
    return withScratchDir('train', async (scratch): Promise<TrainOutcome> => {
      const datasetDir = join(scratch, 'dataset');
      const modelDir = join(scratch, 'model');
      await downloadPrefix(s3, { bucket, key: input.datasetPrefix }, datasetDir);
      const outcome = await runResumableTrainStep({
        datasetDir,
        modelDir,
        config,
        runId,
        memoryMiB,
        computeSize: computeSizeFrom(env),
        checkpoints: s3CheckpointStore(s3, bucket, runId),
        checkpointEveryMs,
        pauseWhen: time?.pauseWhen,
        epochBudget: input.epochBudget,
        warn: (message, details) => logger.warn(message, details),
        hooks: {
          ...choices,
          warn,
          ...deps.hooks,
          onEpochEnd: (log) => {
            logger.info('epoch finished', { runId, ...log });
            publishMetrics(metrics, {
              EpochSeconds: { unit: MetricUnit.Seconds, value: log.seconds },
              Loss: { unit: MetricUnit.NoUnit, value: log.loss },
              Accuracy: { unit: MetricUnit.NoUnit, value: log.accuracy },
              ValAccuracy: { unit: MetricUnit.NoUnit, value: log.val_accuracy ?? Number.NaN },
            });
            deps.hooks?.onEpochEnd?.(log);
          },
        },
      });
      const resumedFrom = outcome.resumedFrom && { ...outcome.resumedFrom };
      if (resumedFrom) logger.info('resumed from a checkpoint', { runId, position: resumedFrom });
      if (outcome.status === 'paused') {
        logger.info('training paused: continues in the next invocation', {
          runId,
          position: outcome.position,
          remainingMs: context?.getRemainingTimeInMillis(),
          reserveMs: time?.reserveMs,
        });
        return { status: 'continue', runId, datasetPrefix: input.datasetPrefix, position: { ...outcome.position }, resumedFrom, seconds: outcome.seconds };
      }
      if (outcome.status === 'budget') {
        logger.info('epoch budget reached: checkpointed for an invocation with a larger budget', { runId, epochs: outcome.epochs, epochBudget: input.epochBudget });
        return budgetReached(outcome, runId, input.datasetPrefix);
      }
      const { record } = outcome;
      // Write-once (If-None-Match: *): identical bytes already there count as written (a retry).
      await uploadDirectory(s3, modelDir, { bucket, key: prefix }, [MODEL_FILES.model], { writeOnce: true });
      logger.info('training finished', { runId, modelPrefix: prefix, seconds: record.seconds });
      publishMetrics(metrics, {
        TrainingSeconds: { unit: MetricUnit.Seconds, value: record.seconds },
        ImagesPerSecond: { unit: MetricUnit.CountPerSecond, value: record.imagesPerSecond },
      });
      return { ...resultOf(record, input.datasetPrefix), ...(resumedFrom ? { resumedFrom } : {}) };
    });
  };
}

function resultOf(record: TrainingRecord, datasetPrefix: string): TrainResult {
  return {
    status: 'complete',
    runId: record.runId,
    datasetPrefix,
    modelPrefix: modelPrefix(record.runId),
    backend: record.backend.name,
    seconds: record.seconds,
    imagesPerSecond: record.imagesPerSecond,
    epochs: record.finalEpoch.epoch,
    valAccuracy: record.finalEpoch.val_accuracy,
    valLoss: record.finalEpoch.val_loss,
  };
}

function budgetReached(outcome: Extract<TrainStepOutcome, { status: 'budget' }>, runId: string, datasetPrefix: string): TrainBudgetReached {
  const { val_accuracy: valAccuracy, val_loss: valLoss } = outcome.lastEpoch;
  return {
    status: 'budget',
    runId,
    datasetPrefix,
    epochs: outcome.epochs,
    ...(valAccuracy !== undefined ? { valAccuracy } : {}),
    ...(valLoss !== undefined ? { valLoss } : {}),
    seconds: outcome.seconds,
    ...(outcome.resumedFrom ? { resumedFrom: { ...outcome.resumedFrom } } : {}),
  };
}

/**
 * The result of a run whose model is complete (model.json is written last), from its
 * training.json; refused when that model was trained on other data or with another config
 * than this event asks for: the run id is taken.
 */
async function storedResult(s3: S3Client, bucket: string, runId: string, datasetPrefix: string, config: TrainConfig): Promise<TrainResult | undefined> {
  const prefix = modelPrefix(runId);
  if (!(await objectExists(s3, { bucket, key: prefix + MODEL_FILES.model }))) return undefined;
  const record = (await getJson(s3, { bucket, key: prefix + MODEL_FILES.training })) as TrainingRecord;
  if (record.cost !== undefined) parseTrainingCost(record.cost, `s3://${bucket}/${prefix}${MODEL_FILES.training}`);
  if (datasetPrefixOf(record.datasetId) !== datasetPrefix) {
    throw new ConfigError(`run "${runId}" already has a model, trained on ${datasetPrefixOf(record.datasetId)}, not ${datasetPrefix}: choose another run id`);
  }
  if (JSON.stringify(record.config) !== JSON.stringify(config)) {
    throw new ConfigError(`run "${runId}" already has a model, trained with another config (${prefix}${MODEL_FILES.training}): choose another run id`);
  }
  return { ...resultOf(record, datasetPrefix), reused: true };
}

function checkpointInterval(env: NodeJS.ProcessEnv): number | undefined {
  const value = env[CHECKPOINT_EVERY_ENV];
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`${CHECKPOINT_EVERY_ENV}: must be a positive number of seconds, got "${value}"`);
  return seconds * 1000;
}

export const handler = createTrainHandler();
