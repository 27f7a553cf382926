import { formatFixed } from '../../lib/report/python-format.ts';
import { formatPercent, formatTable, truncate } from '../deployed/format.ts';
import type { RunList, RunListEntry } from './runs.ts';

/** `fmnist runs list` as a terminal table: one run a line, newest first, then a count. */
export function formatRunList(list: RunList): string {
  if (list.runs.length === 0) return `no runs in ${list.where}${list.total === 0 ? ' (nothing under runs/ has a run.json)' : ''}\n`;
  const table = formatTable(list.runs, [
    { header: 'RUN', value: (run) => run.runId },
    { header: 'CREATED (UTC)', value: (run) => run.createdAt.slice(0, 19).replace('T', ' ') },
    { header: 'TRIGGER', value: (run) => run.trigger ?? '-' },
    { header: 'DATA', value: dataSummary },
    { header: 'CONFIG', value: (run) => configSummary(run.config) },
    { header: 'ACCURACY', value: (run) => formatPercent(run.accuracy), align: 'right' },
    { header: 'MACRO F1', value: (run) => (run.macroF1 === undefined ? '-' : formatFixed(run.macroF1, 4)), align: 'right' },
    { header: 'TRAINING', value: (run) => (run.trainingSeconds === undefined ? '-' : `${run.trainingSeconds.toFixed(1)} s`), align: 'right' },
    // An estimate (training seconds × configured size × list price: lib/workflow/cost.ts).
    { header: 'COST', value: (run) => (run.costUsd === undefined ? '-' : `~$${run.costUsd.toFixed(4)}`), align: 'right' },
    { header: 'STATE', value: stateText },
  ]);
  const shown = list.runs.length < list.total ? `newest ${list.runs.length} of ${list.total} runs (--limit)` : `${list.total} run${list.total === 1 ? '' : 's'}`;
  return `${table}\n${shown} in ${list.where}\n`;
}

/**
 * Each split's first input file by name (their raw/ keys are content-addressed) and how many more
 * (an IDX split is two files), then the limit, which is never cut: it changes what the run measured.
 */
export function dataSummary(run: Pick<RunListEntry, 'train' | 'test' | 'limit'>): string {
  const names = (keys: string[]) => {
    if (keys.length === 0) return '-';
    const first = truncate(keys[0].slice(keys[0].lastIndexOf('/') + 1), 32);
    return keys.length > 1 ? `${first} +${keys.length - 1}` : first;
  };
  return `${names(run.train)} / ${names(run.test)}` + (run.limit === undefined ? '' : ` (limit ${run.limit})`);
}

/** The config overrides as `key=value` pairs, nested values as JSON; "defaults" when none. */
export function configSummary(config: Record<string, unknown>): string {
  const pairs = Object.entries(config).map(([key, value]) => `${key}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
  return pairs.length === 0 ? 'defaults' : truncate(pairs.join(' '), 40);
}

function stateText(run: RunListEntry): string {
  const testSet = run.testSetId === undefined ? '' : ` (test set ${run.testSetId.slice(0, 12)})`;
  switch (run.state) {
    case 'champion':
      return `champion${testSet}`;
    case 'registered':
      return `registered${testSet}`;
    case 'evaluated':
      return 'evaluated, not registered';
    case 'started':
      return 'no report';
  }
}
