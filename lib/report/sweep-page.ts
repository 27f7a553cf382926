import type { EpochLog } from '../model/history.ts';
import type { SweepRecord, SweepRound } from '../workflow/sweep/sweep-record.ts';
import { formatFixed } from './python-format.ts';
import { escapeHtml, reportDocument, score } from './report-page.ts';
import { configChart, learningCurvesChart, trialStyle, type CurveTrial, type TrialStyle } from './sweep-charts.ts';
import { formatFieldValue } from './sweep-fields.ts';
import { errorText, plural, sweepTable, trialCountsText, type SweepTable, type SweepTrialRow } from './sweep-trials.ts';

/**
 * A sweep's report page (sweeps/<sweepId>/index.html): what was tried, how each trial did, the
 * best one, config against validation accuracy and the learning curves, in the style of the
 * per-run page (report-page.ts): real tables with captions, charts as inline SVG with a title
 * and description, no script, no network request, no clock (the same record and histories
 * give the same bytes, so a retried write is the same object).
 */

export interface SweepPageOptions {
  /** The page title; default "Sweep <sweepId>". */
  title?: string;
  /**
   * A trial's report page as a link from this page. Default: relative within the bucket, from
   * sweeps/<sweepId>/index.html to the trial's runs/<runId>/report/index.html (so the page works
   * in a copy of the bucket as in the bucket).
   */
  reportHref?: (reportPrefix: string, runId: string) => string;
}

const defaultReportHref = (reportPrefix: string) => `../../${reportPrefix}index.html`;

/** `histories`: each trial's history.json by trial id (trials that completed); a stopped trial's round figures are drawn instead. */
export function renderSweepPage(record: SweepRecord, histories: Readonly<Record<string, readonly EpochLog[]>>, options: SweepPageOptions = {}): string {
  const e = escapeHtml;
  const title = options.title ?? `Sweep ${record.sweepId}`;
  const table = sweepTable(record);
  const styles = new Map(record.trials.map((trial, i) => [trial.trialId, trialStyle(i)]));
  const href = (row: SweepTrialRow) => (row.trial.evaluation ? (options.reportHref ?? defaultReportHref)(row.trial.evaluation.reportPrefix, row.trial.runId) : undefined);
  const sections = [
    summarySection(record, table, href),
    trialsSection(record, table, href),
    record.rounds.length > 1 ? roundsSection(record) : '',
    configChartSection(table, styles),
    curvesSection(record, table, histories, styles),
  ];
  return reportDocument({ title, style: SWEEP_STYLE, lede: e(lede(record)), body: sections.filter((s) => s !== '').join('\n') });
}

function lede(record: SweepRecord): string {
  return `Hyperparameter sweep, ${record.status}: ${plural(record.trials.length, 'trial')} (${trialCountsText(record)}) trained on one dataset, ranked on validation accuracy.`;
}

function summarySection(record: SweepRecord, table: SweepTable, href: (row: SweepTrialRow) => string | undefined): string {
  const e = escapeHtml;
  const bestRow = table.rows.find((row) => row.best);
  const bestText = bestRow
    ? `${trialLink(bestRow, href)} (run <code class="run-id">${e(bestRow.trial.runId)}</code>): validation accuracy ${figure(bestRow.trial.valAccuracy)}, test accuracy ${figure(bestRow.trial.evaluation?.accuracy)}`
    : e(record.status === 'running' ? 'not decided yet: the sweep is running' : 'none: no trial completed');
  const source = record.source.seed === undefined ? record.source.kind : `${record.source.kind} (seed ${record.source.seed})`;
  const halving = record.halving
    ? `keep the best 1/${record.halving.eta} after each round; epoch budgets ${record.halving.epochBudgets.join(', ')}`
    : 'none: one round, every trial trained to the end';
  const rows: [string, string][] = [
    ['Sweep', `<code class="run-id">${e(record.sweepId)}</code>`],
    ['Status', e(record.status)],
    ...(record.failure ? ([['Failure', e(record.failure)]] as [string, string][]) : []),
    ['Dataset', `<code>${e(record.datasetId)}</code>`],
    ['Test set', `<code>${e(record.testSetId)}</code>`],
    ['Trials made by', e(source)],
    ['Ranking', e(record.ranking)],
    ['Successive halving', e(halving)],
    ['Rounds', String(record.rounds.length)],
    ['Training time', `${e(formatFixed(record.trainingSeconds, 1))} s over every trial and round`],
    ['Best trial', bestText],
    ['Started', e(record.createdAt)],
    ['Updated', e(record.updatedAt)],
  ];
  return `<section aria-labelledby="summary">
<h2 id="summary">Summary</h2>
<dl class="facts">
${rows.map(([name, value]) => `<dt>${e(name)}</dt><dd>${value}</dd>`).join('\n')}
</dl>
</section>`;
}

const figure = (value: number | undefined) => (value === undefined ? '–' : score(value));
const seconds = (value: number | undefined) => (value === undefined ? '–' : formatFixed(value, 1));

function trialLink(row: SweepTrialRow, href: (row: SweepTrialRow) => string | undefined): string {
  const link = href(row);
  const id = escapeHtml(row.trial.trialId);
  return link === undefined ? id : `<a href="${escapeHtml(link)}">${id}</a>`;
}

function trialsSection(record: SweepRecord, table: SweepTable, href: (row: SweepTrialRow) => string | undefined): string {
  const e = escapeHtml;
  const fieldHeads = table.fields.map((field) => `<th scope="col" class="field"><code>${e(field)}</code></th>`).join('');
  const rows = table.rows.map((row) => {
    const { trial } = row;
    const status = row.error ? `${e(row.statusText)}<br><span class="error">${e(errorText(row.error))}</span>` : e(row.statusText);
    const badge = row.best ? ' <strong class="badge">best</strong>' : '';
    return (
      `<tr data-trial="${e(trial.trialId)}" class="${e(trial.status)}${row.best ? ' best' : ''}"><th scope="row">${trialLink(row, href)}${badge}</th>` +
      row.values.map((value) => `<td class="field">${e(formatFieldValue(value))}</td>`).join('') +
      `<td class="status">${status}</td><td>${trial.epochs ?? '–'}</td><td>${figure(trial.valAccuracy)}</td><td>${figure(trial.valLoss)}</td>` +
      `<td>${figure(trial.evaluation?.accuracy)}</td><td>${figure(trial.evaluation?.macroF1)}</td><td>${seconds(trial.seconds)}</td></tr>`
    );
  });
  const varying = table.fields.length === 0 ? 'every trial has the same config' : `the config fields that differ between trials (${table.fields.length})`;
  return `<section aria-labelledby="trials">
<h2 id="trials">Trials</h2>
<div class="table-scroll"><table class="trials">
<caption>Every trial: ${e(varying)}, how far it got, its validation figures (last epoch trained) and, once complete, its test figures. Ranked by ${e(record.ranking)}.</caption>
<thead><tr><th scope="col">Trial</th>${fieldHeads}<th scope="col" class="status">Status</th><th scope="col">Epochs</th><th scope="col"><abbr title="Validation">Val.</abbr> accuracy</th><th scope="col"><abbr title="Validation">Val.</abbr> loss</th><th scope="col">Test accuracy</th><th scope="col">Macro F1</th><th scope="col">Seconds</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
</section>`;
}

function roundsSection(record: SweepRecord): string {
  const tables = record.rounds.map((round) => roundTable(record, round));
  return `<section aria-labelledby="rounds">
<h2 id="rounds">Rounds</h2>
${tables.join('\n')}
</section>`;
}

/** One round's results; a trial not carried into the next round is marked as dropped there. */
function roundTable(record: SweepRecord, round: SweepRound): string {
  const e = escapeHtml;
  const next = record.rounds.find((r) => r.index === round.index + 1);
  const outcome = (trialId: string, status: string) => {
    if (status === 'failed') return 'failed';
    if (round.final) return 'final';
    if (!next) return '–';
    return next.results.some((r) => r.trialId === trialId) ? 'kept' : 'dropped';
  };
  const rows = round.results.map(
    (r) =>
      `<tr data-trial="${e(r.trialId)}"><th scope="row">${e(r.trialId)}</th><td>${e(r.status)}</td><td>${r.epochs ?? '–'}</td><td>${figure(r.valAccuracy)}</td><td>${figure(r.valLoss)}</td><td>${seconds(r.seconds)}</td><td>${e(outcome(r.trialId, r.status))}</td></tr>`,
  );
  return `<div class="table-scroll"><table class="round" data-round="${round.index}">
<caption>Round ${round.index + 1} of ${record.rounds.length}: ${e(plural(round.results.length, 'trial'))} trained to ${e(plural(round.epochBudget, 'epoch'))}${round.final ? ', then evaluated on the test split' : ''}</caption>
<thead><tr><th scope="col">Trial</th><th scope="col">Result</th><th scope="col">Epochs</th><th scope="col">Validation accuracy</th><th scope="col">Validation loss</th><th scope="col">Seconds</th><th scope="col">Next</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`;
}

function legend(rows: readonly SweepTrialRow[], styles: ReadonlyMap<string, TrialStyle>): string {
  const items = rows.map((row) => {
    const style = styles.get(row.trial.trialId)!;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    return `<li data-trial="${escapeHtml(row.trial.trialId)}"><svg width="24" height="10" aria-hidden="true"><line x1="0" y1="5" x2="24" y2="5" stroke="${style.color}" stroke-width="${row.best ? 4 : 2}"${dash}/></svg> ${escapeHtml(row.trial.trialId)}${row.best ? ' (best)' : ''}</li>`;
  });
  return `<ul class="legend" aria-label="Trial colours">\n${items.join('\n')}\n</ul>`;
}

function configChartSection(table: SweepTable, styles: ReadonlyMap<string, TrialStyle>): string {
  const shown = table.rows.filter((row) => row.trial.valAccuracy !== undefined);
  const svg = configChart(
    table.fields,
    shown.map((row) => ({ trialId: row.trial.trialId, style: styles.get(row.trial.trialId)!, best: row.best, values: row.values, valAccuracy: row.trial.valAccuracy! })),
  );
  const reason = table.fields.length === 0 ? 'no config field differs between the trials' : 'no trial has a validation accuracy yet';
  const stoppedNote = table.rows.some((row) => row.trial.status === 'stopped') ? ' Stopped trials show the accuracy of the round they stopped after.' : '';
  const note = shown.length < table.rows.length ? ` Trials without a validation accuracy (failed, or not trained yet) are left out: ${shown.length} of ${table.rows.length} shown.` : '';
  return `<section aria-labelledby="config-vs-accuracy">
<h2 id="config-vs-accuracy">Config against validation accuracy</h2>
${
  svg === undefined
    ? `<p>No chart: ${escapeHtml(reason)}.</p>`
    : `<figure>
${svg}
<figcaption>${escapeHtml(table.fields.length === 1 ? 'One point per trial.' : 'One line per trial, through its value on each varying field to its validation accuracy.')} A field whose values span two decades or more is on a log scale; text values are ordered categories.${stoppedNote}${escapeHtml(note)}</figcaption>
</figure>
${legend(shown, styles)}`
}
</section>`;
}

function curvesSection(record: SweepRecord, table: SweepTable, histories: Readonly<Record<string, readonly EpochLog[]>>, styles: ReadonlyMap<string, TrialStyle>): string {
  const curves: (CurveTrial & { row: SweepTrialRow })[] = table.rows.map((row) => {
    const history = histories[row.trial.trialId];
    const base = { row, trialId: row.trial.trialId, style: styles.get(row.trial.trialId)!, best: row.best };
    const curve = (history ?? []).filter((log) => log.val_accuracy !== undefined && Number.isFinite(log.val_accuracy)).map((log) => [log.epoch, log.val_accuracy!] as const);
    if (curve.length > 0) return { ...base, curve };
    // No history (a stopped trial, or one still training): what its rounds recorded.
    const roundPoints = record.rounds.flatMap((round) =>
      round.results.filter((r) => r.trialId === row.trial.trialId && r.epochs !== undefined && r.epochs > 0 && r.valAccuracy !== undefined).map((r) => [r.epochs!, r.valAccuracy!] as const),
    );
    return { ...base, roundPoints };
  });
  const drawn = curves.filter((c) => (c.curve?.length ?? 0) > 0 || (c.roundPoints?.length ?? 0) > 0);
  const svg = learningCurvesChart(drawn);
  return `<section aria-labelledby="curves">
<h2 id="curves">Learning curves</h2>
${
  svg === undefined
    ? '<p>No chart: no trial has a validation accuracy yet.</p>'
    : `<figure>
${svg}
<figcaption>Validation accuracy after each epoch: a line per trial from its training history, points for a trial without one (stopped by successive halving, or its history not found: the figures of each round it trained in). The best trial is the thick line.</figcaption>
</figure>
${legend(
  drawn.map((c) => c.row),
  styles,
)}`
}
</section>`;
}

// Wider than the run page: the trials table has a column per varying field.
const SWEEP_STYLE = `
main{max-width:72rem}
svg.chart{max-width:100%;height:auto;display:block}svg.chart text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;fill:#57606a}svg.chart text.axis-title{fill:#1b1f24;font-weight:600}svg.chart g.axis text{paint-order:stroke;stroke:#fff;stroke-width:3px}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:0 0 1rem}ul.legend svg{vertical-align:middle}
table.trials th,table.trials td{padding:.25rem .5rem}table.trials tr.best{background:#dafbe1}table.trials tr.best th{font-weight:700}.badge{font-size:.75rem;border:1px solid #1a7f37;color:#1a7f37;border-radius:4px;padding:0 .3rem;margin-left:.25rem}
table.trials .status{text-align:left;min-width:10rem}table.trials td.field,table.trials th.field{text-align:left;white-space:nowrap}table.trials th.field code{overflow-wrap:normal}.error{color:#cf222e;font-size:.85rem;overflow-wrap:anywhere}
`.trim();
