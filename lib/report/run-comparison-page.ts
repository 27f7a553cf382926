import { formatFixed } from './python-format.ts';
import { escapeHtml, reportDocument, score } from './report-page.ts';
import {
  confusionsHeading,
  describeTestSet,
  formatConfigValue,
  formatMetricDelta,
  formatMetricValue,
  signed,
  type ConfigDifference,
  type MetricComparison,
  type RunComparison,
} from './run-comparison.ts';

/**
 * The two-run comparison as one self-contained HTML page, in the style of the per-run report
 * page (report-page.ts): real tables with captions and scoped headers, no script, no network
 * request, no clock (the same comparison gives the same bytes). Deltas are b − a; a change is
 * marked better or worse by a word-free class for colour, and always by its sign.
 */

export interface ComparisonPageOptions {
  /** The page title; default "Run <a> vs run <b>". */
  title?: string;
}

const MINUS = '−';

export function renderComparisonPage(c: RunComparison, options: ComparisonPageOptions = {}): string {
  const e = escapeHtml;
  const title = options.title ?? `Run ${c.a.runId} vs run ${c.b.runId}`;
  const sections = [runsSection(c), metricsSection(c.metrics), configSection(c), classSection(c), confusionSection(c)];
  return reportDocument({
    title,
    style: COMPARISON_STYLE,
    lede: `Run A is <code>${e(c.a.runId)}</code>, run B is <code>${e(c.b.runId)}</code>; every difference is B ${MINUS} A. Test set: ${e(describeTestSet(c))}.`,
    body: `${c.notes.length > 0 ? `<ul class="notes">\n${c.notes.map((note) => `<li>${e(note)}</li>`).join('\n')}\n</ul>` : ''}\n${sections.join('\n')}`,
  });
}

/** "better" or "worse" for a change in a direction, "" for none. */
function direction(delta: number | undefined, better: 'higher' | 'lower', digits: number): string {
  if (delta === undefined || Number(formatFixed(Math.abs(delta), digits)) === 0) return '';
  return (delta > 0) === (better === 'higher') ? 'better' : 'worse';
}

const cellClass = (cls: string) => (cls ? ` class="${cls}"` : '');

function runsSection(c: RunComparison): string {
  // An id is set in monospace; `true` marks one.
  const rows: [string, string | undefined, string | undefined, boolean?][] = [
    ['Run', c.a.runId, c.b.runId, true],
    ['Dataset id', c.a.datasetId, c.b.datasetId, true],
    ['Test set id', c.a.testSetId, c.b.testSetId, true],
    ['Test images', String(c.testSet.examples.a), String(c.testSet.examples.b)],
    ['Trained at', c.a.createdAt, c.b.createdAt],
    ['Backend', c.a.backend, c.b.backend],
    ['Training examples', c.a.trainExamples?.toString(), c.b.trainExamples?.toString()],
  ];
  const cell = (value: string | undefined, code?: boolean) =>
    value === undefined ? '<td>not recorded</td>' : code ? `<td><code>${escapeHtml(value)}</code></td>` : `<td>${escapeHtml(value)}</td>`;
  return `<section aria-labelledby="runs">
<h2 id="runs">The two runs</h2>
<div class="table-scroll"><table class="runs">
<caption>What each run was trained and evaluated on</caption>
<thead><tr><th scope="col">Field</th><th scope="col">Run A</th><th scope="col">Run B</th></tr></thead>
<tbody>
${rows.map(([name, a, b, code]) => `<tr><th scope="row">${escapeHtml(name)}</th>${cell(a, code)}${cell(b, code)}</tr>`).join('\n')}
</tbody>
</table></div>
</section>`;
}

function metricsSection(metrics: readonly MetricComparison[]): string {
  const digits = { score: 4, loss: 4, seconds: 1, rate: 0, usd: 4 };
  const value = (m: MetricComparison, v: number | undefined) => (v === undefined ? 'not recorded' : formatMetricValue(m.kind, v));
  const rows = metrics.map(
    (m) =>
      `<tr><th scope="row">${escapeHtml(m.name)}</th><td>${escapeHtml(value(m, m.a))}</td><td>${escapeHtml(value(m, m.b))}</td><td${cellClass(direction(m.delta, m.better, digits[m.kind]))}>${escapeHtml(formatMetricDelta(m, MINUS))}</td></tr>`,
  );
  return `<section aria-labelledby="metrics">
<h2 id="metrics">Metrics</h2>
<table>
<caption>Test metrics, training time and cost of each run</caption>
<thead><tr><th scope="col">Metric</th><th scope="col">Run A</th><th scope="col">Run B</th><th scope="col">B ${MINUS} A</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</section>`;
}

function differencesTable(differences: ConfigDifference[] | undefined, caption: string, what: string): string {
  if (differences === undefined) return `<p>${escapeHtml(caption)}: not compared, a run has no training record (training.json).</p>`;
  if (differences.length === 0) return `<p>${escapeHtml(caption)}: identical ${escapeHtml(what)}.</p>`;
  const rows = differences.map(
    (d) => `<tr><th scope="row"><code>${escapeHtml(d.path)}</code></th><td><code>${escapeHtml(formatConfigValue(d, 'a'))}</code></td><td><code>${escapeHtml(formatConfigValue(d, 'b'))}</code></td></tr>`,
  );
  return `<div class="table-scroll"><table class="config">
<caption>${escapeHtml(caption)}: the ${differences.length} field${differences.length === 1 ? '' : 's'} that differ</caption>
<thead><tr><th scope="col">Field</th><th scope="col">Run A</th><th scope="col">Run B</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`;
}

function configSection(c: RunComparison): string {
  return `<section aria-labelledby="config">
<h2 id="config">Training config</h2>
${differencesTable(c.configDifferences, 'Training config', 'configs')}
${differencesTable(c.backendDifferences, 'Training backend', 'backends')}
</section>`;
}

function classSection(c: RunComparison): string {
  const delta = (value: number) => `<td${cellClass(direction(value, 'higher', 4))}>${escapeHtml(signed(value, 4, MINUS))}</td>`;
  const rows = c.classes.map(
    (k) =>
      `<tr><th scope="row">${escapeHtml(k.name)}</th><td>${score(k.a.f1)}</td><td>${score(k.b.f1)}</td>${delta(k.delta.f1)}` +
      `<td>${score(k.a.precision)}</td><td>${score(k.b.precision)}</td>${delta(k.delta.precision)}` +
      `<td>${score(k.a.recall)}</td><td>${score(k.b.recall)}</td>${delta(k.delta.recall)}</tr>`,
  );
  const group = (name: string) => `<th scope="col">${name} A</th><th scope="col">${name} B</th><th scope="col">${name} B ${MINUS} A</th>`;
  return `<section aria-labelledby="classes">
<h2 id="classes">Per class</h2>
<div class="table-scroll"><table class="classes">
<caption>F1, precision and recall per class on each run's test split</caption>
<thead><tr><th scope="col">Class</th>${group('F1')}${group('Precision')}${group('Recall')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
</section>`;
}

function confusionSection(c: RunComparison): string {
  const heading = escapeHtml(confusionsHeading(c));
  if (c.confusions.length === 0) {
    return `<section aria-labelledby="confusions">
<h2 id="confusions">Confusions</h2>
<p>${heading}: none, every off-diagonal cell is unchanged.</p>
</section>`;
  }
  const pct = (share: number) => `${formatFixed(share * 100, 2)} %`;
  // A confusion that shrank is better: fewer images of the true class go to the wrong class.
  const rows = c.confusions.map((x) => {
    const cls = c.confusionBasis === 'counts' ? direction(x.countDelta, 'lower', 0) : direction(x.shareDelta * 100, 'lower', 2);
    return (
      `<tr><th scope="row">${escapeHtml(x.trueClass)} → ${escapeHtml(x.predictedClass)}</th>` +
      `<td>${x.a.count}</td><td>${x.b.count}</td><td${cellClass(c.confusionBasis === 'counts' ? cls : '')}>${escapeHtml(signed(x.countDelta, 0, MINUS))}</td>` +
      `<td>${pct(x.a.share)}</td><td>${pct(x.b.share)}</td><td${cellClass(c.confusionBasis === 'rates' ? cls : '')}>${escapeHtml(signed(x.shareDelta * 100, 2, MINUS))}</td></tr>`
    );
  });
  return `<section aria-labelledby="confusions">
<h2 id="confusions">Confusions</h2>
<div class="table-scroll"><table class="confusions">
<caption>${heading}. A share is the count divided by the true class's test images.</caption>
<thead><tr><th scope="col">True → predicted</th><th scope="col">Count A</th><th scope="col">Count B</th><th scope="col">Count B ${MINUS} A</th><th scope="col">Share A</th><th scope="col">Share B</th><th scope="col">Share B ${MINUS} A (points)</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
</section>`;
}

const COMPARISON_STYLE = `
td.better{color:#1a7f37;font-weight:600}td.worse{color:#cf222e;font-weight:600}
ul.notes{border-left:4px solid #bf8700;background:#fff8c5;padding:.5rem 1rem .5rem 2rem;margin:1rem 0}
table.runs th,table.runs td,table.config th,table.config td{text-align:left}
table.classes th[scope=row],table.confusions th[scope=row]{white-space:nowrap}
`.trim();
