import { join } from 'node:path';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { MetricUnit, publishMetrics } from '../../lib/aws/metrics.ts';
import { downloadPrefix, getJson, objectExists, s3Url, uploadDirectory } from '../../lib/aws/s3.ts';
import { ENV, optionalEnv } from '../../lib/env.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { BACKEND_ENV_VAR, parseBackendChoice } from '../../lib/model/choices.ts';
import { useReportFontDir } from '../../lib/report/fonts.ts';
import { parseStoredMetrics, runEvaluateStep, type StoredMetrics } from '../../lib/workflow/evaluate-step.ts';
import { EvaluateEvent, parseEvent, type EvaluateResult } from '../../lib/workflow/events.ts';
import { REPORT_FILES } from '../../lib/workflow/files.ts';
import { reportPrefix } from '../../lib/workflow/layout.ts';
import { withScratchDir } from '../../lib/workflow/scratch.ts';
import { readChampion } from '../../lib/workflow/champion-store.ts';
import type { ChampionComparison } from '../../lib/report/report-page.ts';
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Predicts the test split with the trained model and uploads the report, metrics.json last,
 * every file write-once (If-None-Match: *): a run's report is never replaced. A report that is
 * already complete (its metrics.json exists: a resumed run entering Evaluate again) is returned
 * as stored, not recomputed.
 */
export function createEvaluateHandler(deps: HandlerDeps = {}) {
  const resolve = handlerDeps(deps, 'fmnist-evaluate', process.env);
  const fontDir = optionalEnv(process.env, ENV.fontDir); // the report-renderer layer's /opt/fonts
  const codeVersion = optionalEnv(process.env, ENV.codeVersion);
  return async (event: unknown): Promise<EvaluateResult> => {
    const { s3, bucket, logger, metrics } = resolve();
    const input = parseEvent(EvaluateEvent, event, 'evaluate');
    const prefix = reportPrefix(input.runId);
    const metricsLocation = { bucket, key: prefix + REPORT_FILES.metrics };
    if (await objectExists(s3, metricsLocation)) {
      const stored = parseStoredMetrics(await getJson(s3, metricsLocation), s3Url(metricsLocation));
      logger.info('report already complete: returning it', { runId: input.runId, accuracy: stored.accuracy });
      return resultOf(input.runId, prefix, stored, true);
    }
    await initBackend(parseBackendChoice(process.env[BACKEND_ENV_VAR], BACKEND_ENV_VAR), { warn: (message) => logger.warn(message) });
    return withScratchDir('evaluate', async (scratch) => {
      const datasetDir = join(scratch, 'dataset');
      const modelDir = join(scratch, 'model');
      const reportDir = join(scratch, 'report');
      await downloadPrefix(s3, { bucket, key: input.datasetPrefix }, datasetDir);
      await downloadPrefix(s3, { bucket, key: input.modelPrefix }, modelDir);
      useReportFontDir(fontDir);
      const evaluation = await runEvaluateStep({
        datasetDir,
        modelDir,
        reportDir,
        codeVersion,
        championOf: (testSetId) => championToCompare(s3, bucket, testSetId, input.runId),
      });
      await uploadDirectory(s3, reportDir, { bucket, key: prefix }, [REPORT_FILES.metrics], { writeOnce: true });
      logger.info('evaluation finished', { runId: input.runId, accuracy: evaluation.accuracy, loss: evaluation.loss });
      publishMetrics(metrics, {
        TestAccuracy: { unit: MetricUnit.NoUnit, value: evaluation.accuracy },
        TestLoss: { unit: MetricUnit.NoUnit, value: evaluation.loss },
        MacroF1: { unit: MetricUnit.NoUnit, value: evaluation.macroF1 },
      });
      return resultOf(input.runId, prefix, evaluation, false);
    });
  };
}

/**
 * The champion of the test split as Evaluate finds it, for the report page: none when there is
 * none, or when it is this run (Evaluate entered again after a promotion). Its weighted F1 is not
 * in the champion record and is left out.
 */
async function championToCompare(s3: S3Client, bucket: string, testSetId: string, runId: string): Promise<ChampionComparison | undefined> {
  const { champion } = await readChampion(s3, bucket, testSetId);
  if (!champion || champion.runId === runId) return undefined;
  return { runId: champion.runId, accuracy: champion.accuracy, macroF1: champion.macroF1, decision: 'decided after this report, by the Promote step' };
}

function resultOf(runId: string, prefix: string, evaluation: StoredMetrics, reused: boolean): EvaluateResult {
  return {
    runId,
    reportPrefix: prefix,
    accuracy: evaluation.accuracy,
    loss: evaluation.loss,
    macroF1: evaluation.macroF1,
    weightedF1: evaluation.weightedF1,
    modelSha256: evaluation.modelSha256,
    reused,
  };
}

export const handler = createEvaluateHandler();
