import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { getJsonWith, putObject } from '../../aws/s3.ts';
import { renderSweepPage } from '../../report/sweep-page.ts';
import type { EpochLog } from '../../model/history.ts';
import { MODEL_FILES } from '../files.ts';
import { modelPrefix } from '../layout.ts';
import { sweepPageKey, type SweepRecord } from './sweep-record.ts';

export type SweepPageWriter = (s3: S3Client, bucket: string, record: SweepRecord) => Promise<void>;

/** history.json as the train step writes it: one object of figures per epoch. */
const History = z.array(
  z.looseObject({ epoch: z.int(), loss: z.number(), accuracy: z.number(), val_loss: z.number().optional(), val_accuracy: z.number().optional(), seconds: z.number() }),
);

/**
 * sweeps/<sweepId>/index.html: the sweep's page (lib/report/sweep-page.ts), with the learning
 * curves of every trial that trained to the end (their runs/<runId>/model/history.json).
 */
export const writeSweepPage: SweepPageWriter = async (s3, bucket, record) => {
  const histories: Record<string, EpochLog[]> = {};
  for (const trial of record.trials) {
    if (trial.status !== 'complete') continue;
    const history = await getJsonWith(s3, { bucket, key: modelPrefix(trial.runId) + MODEL_FILES.history }, History);
    if (history) histories[trial.trialId] = history as EpochLog[];
  }
  await putObject(s3, { bucket, key: sweepPageKey(record.sweepId) }, renderSweepPage(record, histories), 'text/html; charset=utf-8');
};
