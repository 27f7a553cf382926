import { join } from 'node:path';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { MetricUnit, publishMetrics } from '../../lib/aws/metrics.ts';
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
    const { s3, bucket, logger, metrics } = resolve();
    const input = parseEvent(EvaluateEvent, event, 'evaluate');
    await initBackend();
    return withScratchDir('evaluate', async (scratch) => {
      const datasetDir = join(scratch, 'dataset');
      const modelDir = join(scratch, 'model');
      const reportDir = join(scratch, 'report');
      await downloadPrefix(s3, { bucket, key: input.datasetPrefix }, datasetDir);
      await downloadPrefix(s3, { bucket, key: input.modelPrefix }, modelDir);
      const evaluation = await runEvaluateStep({ datasetDir, modelDir, reportDir });
      const prefix = reportPrefix(input.runId);
      await uploadDirectory(s3, reportDir, { bucket, key: prefix }, [REPORT_FILES.metrics]);
      logger.info('evaluation finished', { runId: input.runId, accuracy: evaluation.accuracy, loss: evaluation.loss });
      publishMetrics(metrics, {
        TestAccuracy: { unit: MetricUnit.NoUnit, value: evaluation.accuracy },
        TestLoss: { unit: MetricUnit.NoUnit, value: evaluation.loss },
        MacroF1: { unit: MetricUnit.NoUnit, value: evaluation.macroF1 },
      });
      return {
        runId: input.runId,
        reportPrefix: prefix,
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
        macroF1: evaluation.macroF1,
        weightedF1: evaluation.weightedF1,
      };
    });
  };
}

export const handler = createEvaluateHandler();
