import type { Champion } from '../../lib/workflow/promotion.ts';
import { formatPercent, formatTable } from '../deployed/format.ts';
import type { ChampionChangeResult } from './models-change.ts';
import type { ChampionSummary, ModelDetails, ModelsListing, TestSetListing, VersionRow } from './models.ts';

/** The human text of `fmnist models list`, `show`, `promote` and `rollback` (--json prints the results as they are). */

const f1 = (value: number) => value.toFixed(4);
/** 2026-12-02T21:45:12.345Z -> 2026-12-02 21:45:12 (UTC). */
const time = (iso: string) => iso.slice(0, 19).replace('T', ' ');
const short = (id: string) => id.slice(0, 12);

function championLines(champion: ChampionSummary | null): string[] {
  if (!champion) return ['  champion: none'];
  const how = champion.change === 'rollback' ? ' (by a rollback)' : '';
  return [
    `  champion: ${champion.runId}${how}  accuracy ${formatPercent(champion.accuracy)}  macro F1 ${f1(champion.macroF1)}  since ${time(champion.since)} UTC  by ${champion.by ?? 'unknown'}`,
    `    reason: ${champion.reason}`,
  ];
}

function versionTable(rows: VersionRow[]): string {
  if (rows.length === 0) return '  no registered versions (the champion predates the registry)';
  const table = formatTable(rows, [
    { header: ' ', value: (row) => (row.champion ? '*' : '') },
    { header: 'RUN', value: (row) => row.runId },
    { header: 'REGISTERED (UTC)', value: (row) => time(row.registeredAt) },
    { header: 'DATASET', value: (row) => short(row.datasetId) },
    { header: 'ACCURACY', value: (row) => formatPercent(row.accuracy), align: 'right' },
    { header: 'MACRO F1', value: (row) => f1(row.macroF1), align: 'right' },
    { header: 'TRIGGER', value: (row) => row.trigger ?? '-' },
    { header: 'APPROVAL', value: (row) => row.approval ?? '-' },
    { header: 'CODE', value: (row) => row.codeVersion },
  ]);
  return table.split('\n').map((line) => `  ${line}`).join('\n');
}

function testSetBlock(listing: TestSetListing): string {
  const datasets = listing.datasetIds.length === 0 ? '' : ` (dataset ${listing.datasetIds.join(', ')})`;
  return [`Test set ${listing.testSetId}${datasets}`, ...championLines(listing.champion), versionTable(listing.versions)].join('\n');
}

export function formatListing(listing: ModelsListing): string {
  if (listing.testSets.length === 0) {
    return `No models registered in ${listing.where} yet: a run is registered when its Promote step runs (\`fmnist run\`, or \`fmnist start\` on the deployed stack).\n`;
  }
  const blocks = listing.testSets.map(testSetBlock);
  return `Model registry: ${listing.where}  (* = champion)\n\n${blocks.join('\n\n')}\n`;
}

function historyLine(record: Champion, runId: string): string {
  const when = `${time(record.promotedAt)} UTC`;
  const by = record.by ? ` by ${record.by}` : '';
  if (record.runId !== runId) {
    const what = record.change === 'rollback' ? `rolled back from it to ${record.runId}` : `replaced by ${record.runId}`;
    return `  ${when}  ${what}${by}: ${record.reason}`;
  }
  const what = record.change === 'rollback' ? 'rolled back to' : 'promoted';
  return `  ${when}  ${what}${record.previous ? ` (replacing ${record.previous})` : ''}${by}: ${record.reason}`;
}

function championStatus(details: ModelDetails): string {
  if (details.isChampion) return `the champion of its test set (since ${time(details.champion!.since)} UTC)`;
  const now = details.champion ? `the champion is ${details.champion.runId}` : 'its test set has no champion';
  return `${details.wasChampion ? 'was champion before' : 'never champion'}; ${now}`;
}

export function formatDetails(details: ModelDetails): string {
  const v = details.version;
  const { training } = v;
  const lines = [
    `Run ${v.runId}  (${details.where})`,
    `  test set     ${v.testSetId}`,
    `  dataset      ${v.datasetId}`,
    `  registered   ${time(v.registeredAt)} UTC${v.executionName ? ` (execution ${v.executionName})` : ''}, trigger ${v.trigger ?? '-'}, code ${v.codeVersion}`,
    `  metrics      accuracy ${formatPercent(v.metrics.accuracy)}  macro F1 ${f1(v.metrics.macroF1)}  weighted F1 ${f1(v.metrics.weightedF1)}`,
    `  training     ${training.trainExamples} examples, ${training.seconds.toFixed(1)} s, backend ${training.backend.name}${training.cost ? `, cost about $${training.cost.usd.toFixed(4)} (estimate)` : ''}`,
    `  model        ${v.model.prefix}  ${Object.entries(v.model.files).map(([name, file]) => `${name} sha256 ${short(file.sha256)}${file.versionId ? ` version ${file.versionId}` : ''}`).join(', ')}`,
    `  report       ${v.reportPrefix}`,
    ...(v.approval ? [`  approval     ${v.approval.decision} by ${v.approval.by} at ${time(v.approval.at)} UTC${v.approval.reason ? `: ${v.approval.reason}` : ''}`] : []),
    `  champion     ${championStatus(details)}`,
  ];
  const history = details.history.length === 0 ? ['  (no champion history names this run)'] : details.history.map((record) => historyLine(record, v.runId));
  return `${lines.join('\n')}\n\nChampion history naming ${v.runId}:\n${history.join('\n')}\n`;
}

export function formatChange(result: ChampionChangeResult): string {
  const { champion, event } = result;
  const verb = result.action === 'promote' ? 'is now the champion' : 'is the champion again';
  const replacing = result.previous ? (result.action === 'promote' ? `, replacing ${result.previous}` : `, rolled back from ${result.previous}`) : '';
  const eventLine = event.published ? `${event.detailType} event published on EventBridge` : `no ${event.detailType} event: ${event.reason}`;
  return [
    `Run ${champion.runId} ${verb} of test set ${result.testSetId}${replacing}.`,
    `  accuracy ${formatPercent(champion.accuracy)}  macro F1 ${f1(champion.macroF1)}`,
    `  reason: ${champion.reason}`,
    `  by: ${champion.by}`,
    `  ${eventLine}`,
    '',
  ].join('\n');
}
