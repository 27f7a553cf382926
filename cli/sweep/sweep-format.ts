import { formatFixed } from '../../lib/report/python-format.ts';
import { formatFieldValue } from '../../lib/report/sweep-fields.ts';
import { errorText, plural, sweepTable, trialCountsText, type SweepTrialRow } from '../../lib/report/sweep-trials.ts';
import { formatTable, type Column } from '../deployed/format.ts';
import type { SweepStatus } from './sweep-status.ts';

/**
 * `fmnist sweep status` as text: the sweep in a line, how its trials were made and ranked, one
 * line a trial (the config fields that vary, status, validation and test accuracy, seconds), the
 * errors of failed trials, the best trial and where the page is.
 */
export function formatSweepStatus(status: SweepStatus): string {
  const { record } = status;
  const table = sweepTable(record);
  const counts = trialCountsText(record);
  const source = record.source.seed === undefined ? record.source.kind : `${record.source.kind}, seed ${record.source.seed}`;
  const halving = record.halving ? `successive halving: keep the best 1/${record.halving.eta} after each round, epoch budgets ${record.halving.epochBudgets.join(', ')}` : 'one round';
  const lines = [
    `sweep ${record.sweepId}: ${record.status}, ${plural(record.trials.length, 'trial')} (${counts}) on dataset ${record.datasetId} (test set ${record.testSetId.slice(0, 12)})`,
    ...(record.failure ? [`failure: ${record.failure}`] : []),
    `trials made by ${source}; ${halving}; ${plural(record.rounds.length, 'round')} recorded`,
    `ranking: ${record.ranking}`,
    '',
    formatTable(table.rows, columns(table.fields)),
    ...table.rows.filter((row) => row.error).map((row) => `${row.trial.trialId} ${row.statusText}: ${errorText(row.error!, 160)}`),
    '',
    `best: ${bestText(status, table.rows)}`,
    `training: ${formatFixed(record.trainingSeconds, 1)} s over every trial and round`,
    status.page.written ? `page: ${pageText(status)}` : `page: not written yet (${pageText(status)})`,
  ];
  return lines.join('\n') + '\n';
}

const figure = (value: number | undefined) => (value === undefined ? '-' : formatFixed(value, 4));

function columns(fields: readonly string[]): Column<SweepTrialRow>[] {
  return [
    { header: 'TRIAL', value: (row) => (row.best ? `${row.trial.trialId} *` : row.trial.trialId) },
    ...fields.map((field, i): Column<SweepTrialRow> => ({ header: field, value: (row) => formatFieldValue(row.values[i]) })),
    { header: 'STATUS', value: (row) => row.statusText },
    { header: 'VAL ACC', value: (row) => figure(row.trial.valAccuracy), align: 'right' },
    { header: 'TEST ACC', value: (row) => figure(row.trial.evaluation?.accuracy), align: 'right' },
    { header: 'SECONDS', value: (row) => (row.trial.seconds === undefined ? '-' : formatFixed(row.trial.seconds, 1)), align: 'right' },
  ];
}

function bestText(status: SweepStatus, rows: readonly SweepTrialRow[]): string {
  const best = rows.find((row) => row.best);
  if (!best) return status.record.status === 'running' ? 'not decided yet (the sweep is running)' : 'none (no trial completed)';
  return `${best.trial.trialId} * (run ${best.trial.runId}): validation accuracy ${figure(best.trial.valAccuracy)}, test accuracy ${figure(best.trial.evaluation?.accuracy)}`;
}

/** The page's S3 URL; in the local bucket, which one that is. */
function pageText(status: SweepStatus): string {
  return status.where.startsWith('s3://') ? status.page.url : `${status.page.url} in ${status.where}`;
}
