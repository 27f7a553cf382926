import { join } from 'node:path';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { downloadPrefix, uploadDirectory } from '../../lib/aws/s3.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { runEvaluateStep } from '../../lib/workflow/evaluate-step.ts';
import { EvaluateEvent, parseEvent, type EvaluateResult } from '../../lib/workflow/events.ts';
import { REPORT_FILES } from '../../lib/workflow/files.ts';
import { reportPrefix } from '../../lib/workflow/layout.ts';
import { withScratchDir } from '../../lib/workflow/scratch.ts';

/** Predicts the test split with the trained model and uploads the report, metrics.json last. */
export function createEvaluateHandler(deps: HandlerDeps = {}) {
  const resolve = handlerDeps(deps, 'fmnist-evaluate');
  return async (event: unknown): Promise<EvaluateResult> => {
    const { s3, bucket, logger } = resolve();
    const input = parseEvent(EvaluateEvent, event, 'evaluate');
    await initBackend();
    return withScratchDir('evaluate', async (scratch) => {
      const datasetDir = join(scratch, 'dataset');
      const modelDir = join(scratch, 'model');
      const reportDir = join(scratch, 'report');
      await downloadPrefix(s3, { bucket, key: input.datasetPrefix }, datasetDir);
      await downloadPrefix(s3, { bucket, key: input.modelPrefix }, modelDir);
      const metrics = await runEvaluateStep({ datasetDir, modelDir, reportDir });
      const prefix = reportPrefix(input.runId);
      await uploadDirectory(s3, reportDir, { bucket, key: prefix }, [REPORT_FILES.metrics]);
      logger.info('evaluation finished', { runId: input.runId, accuracy: metrics.accuracy, loss: metrics.loss });
      return {
        runId: input.runId,
        reportPrefix: prefix,
        accuracy: metrics.accuracy,
        loss: metrics.loss,
        macroF1: metrics.macroF1,
        weightedF1: metrics.weightedF1,
      };
    });
  };
}

export const handler = createEvaluateHandler();
