import { z } from 'zod';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { ConfigError } from '../../lib/errors.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { SWEEP_FAILED_ERROR } from '../../lib/workflow/states.ts';
import {
  endRound,
  firstRound,
  IterationResult,
  PlannedSweepSchema,
  RoundPlan,
  startRecord,
  SweepDataset,
  sweepSummary,
} from '../../lib/workflow/sweep/sweep-rounds.ts';
import { claimSweepRecord, readSweepRecord, writeSweepRecord } from '../../lib/workflow/sweep/sweep-store.ts';
import { writeSweepPage, type SweepPageWriter } from '../../lib/workflow/sweep/sweep-page-writer.ts';
import { sweepRecordKey } from '../../lib/workflow/sweep/sweep-record.ts';

const common = { sweep: PlannedSweepSchema, dataset: SweepDataset, executionName: z.string().optional() };
export const SweepEvent = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('start'), ...common }),
  z.strictObject({ action: z.literal('end-round'), ...common, round: RoundPlan, results: z.array(IterationResult) }),
]);
export type SweepEvent = z.input<typeof SweepEvent>;

/** Every trial of a round failed: the sweep ends failed with each trial's error (not retried). */
export class SweepFailedError extends Error {
  override readonly name = SWEEP_FAILED_ERROR;
}

/**
 * StartSweep and EndSweepRound (infra/workflow-definition.ts sweepRounds): "start" claims
 * sweeps/<sweepId>/sweep.json and answers round 0; "end-round" records the round's results and
 * answers the next round's survivors ({ done: false, round }), or the best trial for approval
 * and Promote ({ done: true, best, summary }) after writing the sweep page, or fails the
 * execution with SweepFailed when no trial of the round trained.
 */
export function createSweepHandler(deps: HandlerDeps & { now?: () => Date; writePage?: SweepPageWriter } = {}) {
  const resolve = handlerDeps(deps, 'fmnist-sweep', process.env);
  const now = deps.now ?? (() => new Date());
  const writePage = deps.writePage ?? writeSweepPage;
  return async (event: unknown) => {
    const { s3, bucket, logger } = resolve();
    const parsed = parseEvent(SweepEvent, event, 'sweep');
    const { sweep, dataset, executionName } = parsed;
    if (parsed.action === 'start') {
      await claimSweepRecord(s3, bucket, startRecord(sweep, dataset, now(), executionName));
      const round = firstRound(sweep);
      logger.info('sweep started', { sweepId: sweep.sweepId, trials: sweep.trials.length, epochBudgets: sweep.epochBudgets });
      return round;
    }
    const record = await readSweepRecord(s3, bucket, sweep.sweepId);
    if (!record) throw new ConfigError(`sweep "${sweep.sweepId}" has no record (s3://${bucket}/${sweepRecordKey(sweep.sweepId)}): StartSweep writes it first`);
    const outcome = endRound(record, sweep, parsed.round, parsed.results, now());
    await writeSweepRecord(s3, bucket, outcome.record);
    if (outcome.done === 'failed') {
      await writePage(s3, bucket, outcome.record, (message) => logger.warn('sweep page', { message }));
      logger.error('sweep failed', { sweepId: sweep.sweepId, failure: outcome.failure });
      throw new SweepFailedError(`sweep ${sweep.sweepId}: ${outcome.failure}`);
    }
    if (!outcome.done) {
      logger.info('round ended', { sweepId: sweep.sweepId, round: parsed.round.index, next: outcome.round.trials.map((trial) => trial.trialId), epochBudget: outcome.round.epochBudget });
      return { done: false, round: outcome.round };
    }
    await writePage(s3, bucket, outcome.record, (message) => logger.warn('sweep page', { message }));
    logger.info('sweep complete', { sweepId: sweep.sweepId, best: outcome.record.best });
    return { done: true, best: outcome.best, summary: sweepSummary(outcome.record) };
  };
}

export const handler = createSweepHandler();
