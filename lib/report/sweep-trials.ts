import type { SweepRecord, SweepTrial } from '../workflow/sweep/sweep-record.ts';
import { fieldValue, varyingFields } from './sweep-fields.ts';

/**
 * A sweep record's trials as the page and `fmnist sweep status` show them: the config fields
 * that vary, each trial's values of them, how far it got in words, and the best one. Rounds are
 * numbered from 1 for people (the record's `index` is 0-based).
 */

export interface SweepTrialRow {
  trial: SweepTrial;
  /** The varying fields' values, in the order of SweepTable.fields (undefined: the default). */
  values: unknown[];
  best: boolean;
  /** "complete", "stopped after round 2 of 3", "failed in round 1", "pending". */
  statusText: string;
  /** A failed trial's error, from the round it failed in. */
  error?: { Error: string; Cause: string };
}

export interface SweepTable {
  fields: string[];
  rows: SweepTrialRow[];
}

export function sweepTable(record: SweepRecord): SweepTable {
  const fields = varyingFields(record.trials.map((trial) => trial.config));
  const rows = record.trials.map((trial): SweepTrialRow => {
    const failure = failedResult(record, trial.trialId);
    return {
      trial,
      values: fields.map((field) => fieldValue(trial.config, field)),
      best: record.best?.trialId === trial.trialId,
      statusText: statusText(record, trial, failure?.round),
      ...(failure?.error ? { error: failure.error } : {}),
    };
  });
  return { fields, rows };
}

/** The round a trial failed in and its error (the last failed result, should a retry have failed too). */
function failedResult(record: SweepRecord, trialId: string): { round: number; error?: { Error: string; Cause: string } } | undefined {
  for (const round of [...record.rounds].reverse()) {
    const result = round.results.find((r) => r.trialId === trialId && r.status === 'failed');
    if (result) return { round: round.index, ...(result.error ? { error: result.error } : {}) };
  }
  return undefined;
}

function statusText(record: SweepRecord, trial: SweepTrial, failedRound: number | undefined): string {
  const rounds = record.rounds.length;
  const ofRounds = (index: number) => (rounds > 1 ? `round ${index + 1} of ${rounds}` : `round ${index + 1}`);
  switch (trial.status) {
    case 'stopped':
      return trial.stoppedAfterRound === undefined ? 'stopped' : `stopped after ${ofRounds(trial.stoppedAfterRound)}`;
    case 'failed':
      return failedRound === undefined ? 'failed' : `failed in ${ofRounds(failedRound)}`;
    default:
      return trial.status;
  }
}

/** A failed trial's error as one line, its cause cut at `maxCause` characters. */
export function errorText(error: { Error: string; Cause: string }, maxCause = 240): string {
  const cause = error.Cause.length > maxCause ? `${error.Cause.slice(0, maxCause - 1)}…` : error.Cause;
  return cause ? `${error.Error}: ${cause}` : error.Error;
}

/** `1 trial`, `4 trials`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const TRIAL_STATUSES = ['complete', 'stopped', 'failed', 'pending'] as const;

/** How many trials stand at each status. */
export function trialCounts(record: SweepRecord): Record<SweepTrial['status'], number> {
  const counts = { complete: 0, stopped: 0, failed: 0, pending: 0 };
  for (const trial of record.trials) counts[trial.status]++;
  return counts;
}

/** The counts that are not zero, as the page and `fmnist sweep status` write them: `3 complete, 1 failed`. */
export function trialCountsText(record: SweepRecord): string {
  const counts = trialCounts(record);
  return TRIAL_STATUSES.filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`)
    .join(', ');
}
