import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../lib/aws/clients.ts';
import { checkExecution, type ExecutionPlan } from '../../lib/workflow/execution-input.ts';
import { checkResume, claimRun } from '../../lib/workflow/run-record.ts';

/**
 * First state of the workflow: checks the execution input (ConfigError naming the field on any
 * problem, so the execution fails before any work), then claims the run id by writing
 * runs/<runId>/run.json with If-None-Match: * (lib/workflow/run-record.ts): a run id that is
 * taken fails here, and nothing under that run is changed. With `resume: true` the run must
 * exist and the input must repeat its data and config; nothing is written. A sweep claims its
 * own run id and each trial's (`<runId>-t01`, ...). Outputs the plan the
 * other states read. Its only S3 access is the run records of its own bucket (event.dataBucket).
 */
export function createValidateHandler(deps: { logger?: Logger; s3?: S3Client; now?: () => Date } = {}) {
  const logger = deps.logger ?? new Logger({ serviceName: 'fmnist-validate' });
  const now = deps.now ?? (() => new Date());
  return async (event: unknown): Promise<ExecutionPlan> => {
    const at = now();
    const { plan, input, executionName, dataBucket } = checkExecution(event, at);
    const s3 = deps.s3 ?? s3Client();
    if (plan.resume) {
      const record = await checkResume(s3, dataBucket, plan.runId, input);
      logger.info('resuming run', { runId: plan.runId, createdAt: record.createdAt, claimedBy: record.executionName, plan });
    } else {
      const claim = { ...(executionName !== undefined ? { executionName } : {}), createdAt: at.toISOString() };
      await claimRun(s3, dataBucket, { runId: plan.runId, ...claim, input });
      // A sweep's trials are runs of their own: claimed here too, before any work, each with its
      // own config and a link to the sweep (the registry reads it).
      for (const trial of plan.sweep?.trials ?? []) {
        const { sweep: _spec, ...common } = input;
        await claimRun(s3, dataBucket, { runId: trial.runId, ...claim, input: { ...common, config: trial.config, trialOf: { sweepId: plan.runId, trialId: trial.trialId } } });
      }
      logger.info('execution input accepted, run claimed', { plan });
    }
    return plan;
  };
}

export const handler = createValidateHandler();
