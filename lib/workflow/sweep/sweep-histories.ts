import type { S3Client } from '@aws-sdk/client-s3';
import { getJsonWith } from '../../aws/s3.ts';
import { mapLimit } from '../../concurrency.ts';
import { UserError } from '../../errors.ts';
import { EpochLogsFile, type EpochLog } from '../../model/history.ts';
import { MODEL_FILES } from '../files.ts';
import { modelPrefix } from '../layout.ts';
import type { SweepRecord } from './sweep-record.ts';

/** GETs in flight at once (a sweep has tens of trials). */
const READ_CONCURRENCY = 8;

export interface SweepHistories {
  /** history.json of each trial that has one, by trial id. */
  histories: Record<string, EpochLog[]>;
  /** A history that could not be read (malformed), each naming the object; that trial is drawn from its rounds' figures instead. */
  warnings: string[];
}

/**
 * The training histories the sweep page draws: runs/<trial runId>/model/history.json of every
 * trial that completed (a trial stopped by successive halving has none; the page draws its
 * rounds' figures). The sweep function (its page) and `fmnist sweep status --html` share it.
 */
export async function readSweepHistories(s3: S3Client, bucket: string, record: SweepRecord): Promise<SweepHistories> {
  const warnings: string[] = [];
  const complete = record.trials.filter((trial) => trial.status === 'complete');
  const read = await mapLimit(complete, READ_CONCURRENCY, async (trial) => {
    const key = `${trial.evaluation?.modelPrefix ?? modelPrefix(trial.runId)}${MODEL_FILES.history}`;
    try {
      return [trial.trialId, await getJsonWith(s3, { bucket, key }, EpochLogsFile)] as const;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      warnings.push(`${error.message}; trial ${trial.trialId} is drawn from its rounds' figures`);
      return [trial.trialId, undefined] as const;
    }
  });
  const histories: Record<string, EpochLog[]> = {};
  for (const [trialId, history] of read) if (history !== undefined) histories[trialId] = history;
  return { histories, warnings };
}
