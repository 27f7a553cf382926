import { join } from 'node:path';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { MetricUnit, publishMetrics } from '../../lib/aws/metrics.ts';
import { runtimeResources } from '../../lib/aws/runtime-env.ts';
import { downloadPrefix, uploadDirectory } from '../../lib/aws/s3.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { parseEvent, TrainEvent, type TrainResult } from '../../lib/workflow/events.ts';
import { MODEL_FILES } from '../../lib/workflow/files.ts';
import { modelPrefix } from '../../lib/workflow/layout.ts';
import { newRunId } from '../../lib/workflow/run-id.ts';
import { withScratchDir } from '../../lib/workflow/scratch.ts';
import { runTrainStep } from '../../lib/workflow/train-step.ts';
import type { TrainHooks } from '../../lib/model/train.ts';

/**
 * Downloads the dataset's shards, trains, and uploads the model with its history and training
 * record; model.json goes last so a model prefix with model.json in it is always complete.
 */
export function createTrainHandler(deps: HandlerDeps & { hooks?: TrainHooks } = {}) {
  const resolve = handlerDeps(deps, 'fmnist-train');
  return async (event: unknown): Promise<TrainResult> => {
    const { s3, bucket, logger, metrics } = resolve();
    const input = parseEvent(TrainEvent, event, 'train');
    const config = parseTrainConfig(input.config ?? {}, 'train event "config"');
    const runId = input.runId ?? newRunId();
    const { memoryMiB } = runtimeResources();
    const backend = await initBackend(config.backend);
    logger.info('training started', { runId, datasetPrefix: input.datasetPrefix, backend, config });
    return withScratchDir('train', async (scratch) => {
      const datasetDir = join(scratch, 'dataset');
      const modelDir = join(scratch, 'model');
      await downloadPrefix(s3, { bucket, key: input.datasetPrefix }, datasetDir);
      const record = await runTrainStep({
        datasetDir,
        modelDir,
        config,
        runId,
        memoryMiB,
        hooks: {
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
      const prefix = modelPrefix(runId);
      await uploadDirectory(s3, modelDir, { bucket, key: prefix }, [MODEL_FILES.model]);
      logger.info('training finished', { runId, modelPrefix: prefix, seconds: record.seconds });
      publishMetrics(metrics, {
        TrainingSeconds: { unit: MetricUnit.Seconds, value: record.seconds },
        ImagesPerSecond: { unit: MetricUnit.CountPerSecond, value: record.imagesPerSecond },
      });
      return {
        runId,
        datasetPrefix: input.datasetPrefix,
        modelPrefix: prefix,
        backend: record.backend.name,
        seconds: record.seconds,
        imagesPerSecond: record.imagesPerSecond,
        epochs: config.epochs,
        valAccuracy: record.finalEpoch.val_accuracy,
      };
    });
  };
}

export const handler = createTrainHandler();
