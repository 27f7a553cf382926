import type { LearningCurvePoint } from './charts/learning-curves.ts';
import type { ManifestChecks } from '../data/manifest-checks.ts';
import { dataChecksSection } from './data-checks-section.ts';
import type { ClassificationReport, ClassScores } from './classification-report.ts';
import { formatFixed } from './python-format.ts';
import { classRows, topConfusions, weakestClasses } from './weaknesses.ts';

/**
 * The per-run report page (report/index.html): one self-contained file, charts embedded as data:
 * URIs, no script and no network request, so it opens the same from disk and from the S3
 * console. Pure: data in, HTML out; every interpolated string goes through escapeHtml. The
 * output depends only on its inputs (no clock), because report files are write-once and a
 * retried Evaluate must write the same bytes.
 */

/** One epoch of lib/model/history.ts' EpochLog: the learning-curve figures, and its duration when recorded. */
export type HistoryPoint = LearningCurvePoint & { readonly seconds?: number };

export interface ReportChart {
  /** The report file the chart also exists as, e.g. confusion_matrix.png. */
  file: string;
  title: string;
  /** What the chart shows, for readers who cannot see it. */
  alt: string;
  png: Buffer;
}

/** The training.json fields the page and the model card show (lib/workflow/train-step.ts' TrainingRecord). */
export interface TrainingSummary {
  runId: string;
  datasetId: string;
  createdAt: string;
  backend: { name: string; tfjsVersion: string; tensorflowVersion?: string; threads?: number; trainingStep?: string; graphChains?: number };
  config: {
    epochs: number;
    batchSize: number;
    validationSplit: number;
    learningRate: number;
    /** Absent: constant (lib/model/learning-rate.ts). */
    learningRateSchedule?: string;
    augmentation?: { horizontalFlip?: boolean };
    /** Absent: float32 (lib/model/precision.ts). */
    precision?: string;
    seed: number;
    model: { layers: readonly Record<string, unknown>[] };
  };
  trainExamples: number;
  validationExamples: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface SourceFile {
  split: string;
  name: string;
  bytes: number;
  sha256: string;
}

export interface Lineage {
  datasetId: string;
  datasetCreatedAt?: string;
  sources: readonly SourceFile[];
  /** sha256 of the evaluated model files, by file name. */
  modelSha256?: Readonly<Record<string, string>>;
  /** The code's version (e.g. package.json's), when the caller knows it. */
  codeVersion?: string;
}

/** The champion this run was judged against. Optional: the champion is decided after Evaluate. */
export interface ChampionComparison {
  runId: string;
  accuracy: number;
  macroF1: number;
  weightedF1?: number;
  /** e.g. "promoted", "kept the champion", with its reason. */
  decision?: string;
}

export interface ReportPageData {
  report: ClassificationReport;
  matrix: readonly (readonly number[])[];
  classNames: readonly string[];
  /** The test loss (the classification report has none); absent when unknown. */
  loss?: number;
  charts: readonly ReportChart[];
  training?: TrainingSummary;
  /** Training history (EpochLog records); `seconds` per epoch when recorded. */
  history?: readonly HistoryPoint[];
  lineage?: Lineage;
  champion?: ChampionComparison;
  /** The dataset's data checks (its manifest's `checks`); undefined: none recorded. */
  dataChecks?: ManifestChecks;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The report's scores as the page prints them: 4 decimals, rounded as Python would. */
export const score = (value: number): string => formatFixed(value, 4);
export const percent = (value: number): string => `${formatFixed(value * 100, 2)} %`;

export function averageScores(report: ClassificationReport, key: 'macro avg' | 'weighted avg'): ClassScores {
  const entry = report[key];
  if (typeof entry !== 'object') throw new RangeError(`classification report has no "${key}" entry`);
  return entry;
}

export function reportAccuracy(report: ClassificationReport): number {
  const accuracy = report['accuracy'];
  if (typeof accuracy !== 'number') throw new RangeError('classification report has no "accuracy" entry');
  return accuracy;
}

/** A layer as one short line: its type and its fields, e.g. `conv2d filters=32 kernelSize=3 activation=relu`. */
export function describeLayer(layer: Readonly<Record<string, unknown>>): string {
  const { type, ...fields } = layer;
  return [String(type), ...Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)].join(' ');
}

export function renderReportPage(data: ReportPageData): string {
  const e = escapeHtml;
  const runId = data.training?.runId;
  const title = runId ? `Run ${runId}: evaluation report` : 'Evaluation report';
  const sections = [
    headline(data),
    classTable(data.report),
    weaknesses(data),
    data.champion ? championSection(data) : '',
    charts(data.charts),
    trainingSection(data.training, data.history),
    data.lineage ? dataChecksSection(data.dataChecks) : '',
    lineageSection(data.lineage, runId),
  ];
  return reportDocument({
    title,
    lede: `Fashion-MNIST classifier, ${e(String(totalSupport(data.report)))} test images.`,
    body: sections.filter((s) => s !== '').join('\n'),
  });
}

/**
 * The document every page of the report family shares (this run page, the run comparison, the
 * sweep page): head, REPORT_PAGE_STYLE plus the page's own style, the title as h1, a lede (HTML,
 * escaped by the caller) and the body.
 */
export function reportDocument(page: { title: string; lede: string; body: string; style?: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${REPORT_PAGE_STYLE}${page.style !== undefined ? `\n${page.style}` : ''}</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
<p class="lede">${page.lede}</p>
${page.body}
</main>
</body>
</html>
`;
}

function totalSupport(report: ClassificationReport): number {
  return averageScores(report, 'macro avg').support;
}

function headline(data: ReportPageData): string {
  const figures: [string, string][] = [
    ['Accuracy', percent(reportAccuracy(data.report))],
    ['Loss', data.loss === undefined ? 'not recorded' : score(data.loss)],
    ['Macro F1', score(averageScores(data.report, 'macro avg')['f1-score'])],
    ['Weighted F1', score(averageScores(data.report, 'weighted avg')['f1-score'])],
  ];
  const items = figures.map(([name, value]) => `<div class="metric"><dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('\n');
  return `<section aria-labelledby="metrics">
<h2 id="metrics">Metrics</h2>
<dl class="metrics">
${items}
</dl>
</section>`;
}

function classTable(report: ClassificationReport): string {
  const row = (name: string, scores: ClassScores, cls = ''): string =>
    `<tr${cls ? ` class="${cls}"` : ''}><th scope="row">${escapeHtml(name)}</th><td>${score(scores.precision)}</td><td>${score(scores.recall)}</td><td>${score(scores['f1-score'])}</td><td>${scores.support}</td></tr>`;
  const rows = classRows(report).map((r) => row(r.name, r));
  const accuracy = reportAccuracy(report);
  const total = totalSupport(report);
  return `<section aria-labelledby="classes">
<h2 id="classes">Classification report</h2>
<table>
<caption>Precision, recall and F1 per class on the test split</caption>
<thead><tr><th scope="col">Class</th><th scope="col">Precision</th><th scope="col">Recall</th><th scope="col">F1</th><th scope="col">Support</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
<tfoot>
<tr class="avg"><th scope="row">accuracy</th><td></td><td></td><td>${score(accuracy)}</td><td>${total}</td></tr>
${row('macro avg', averageScores(report, 'macro avg'), 'avg')}
${row('weighted avg', averageScores(report, 'weighted avg'), 'avg')}
</tfoot>
</table>
</section>`;
}

function weaknesses(data: ReportPageData): string {
  const weak = weakestClasses(data.report, 3)
    .map((r) => `<li>${escapeHtml(r.name)}: F1 ${score(r['f1-score'])} (precision ${score(r.precision)}, recall ${score(r.recall)})</li>`)
    .join('\n');
  const confusions = topConfusions(data.matrix, data.classNames, 5)
    .map((c) => `<li>${escapeHtml(c.trueClass)} predicted as ${escapeHtml(c.predictedClass)}: ${c.count} (${percent(c.shareOfClass)} of ${escapeHtml(c.trueClass)})</li>`)
    .join('\n');
  return `<section aria-labelledby="weak">
<h2 id="weak">Weak spots</h2>
<div class="columns">
<div><h3>Lowest F1</h3><ol>
${weak}
</ol></div>
<div><h3>Most frequent confusions</h3>${confusions ? `<ol>\n${confusions}\n</ol>` : '<p>None: every test image was classified correctly.</p>'}</div>
</div>
</section>`;
}

function championSection(data: ReportPageData): string {
  const champion = data.champion!;
  const mine = {
    accuracy: reportAccuracy(data.report),
    macroF1: averageScores(data.report, 'macro avg')['f1-score'],
    weightedF1: averageScores(data.report, 'weighted avg')['f1-score'],
  };
  const delta = (a: number, b: number): string => `${a - b >= 0 ? '+' : '−'}${score(Math.abs(a - b))}`;
  const line = (name: string, a: number, b: number | undefined): string =>
    b === undefined ? '' : `<tr><th scope="row">${name}</th><td>${score(a)}</td><td>${score(b)}</td><td>${delta(a, b)}</td></tr>`;
  return `<section aria-labelledby="champion">
<h2 id="champion">Against the champion</h2>
<table>
<caption>This run against champion <code class="run-id">${escapeHtml(champion.runId)}</code></caption>
<thead><tr><th scope="col">Metric</th><th scope="col">This run</th><th scope="col">Champion</th><th scope="col">Difference</th></tr></thead>
<tbody>
${[line('Accuracy', mine.accuracy, champion.accuracy), line('Macro F1', mine.macroF1, champion.macroF1), line('Weighted F1', mine.weightedF1, champion.weightedF1)].filter(Boolean).join('\n')}
</tbody>
</table>
${champion.decision ? `<p>Decision: ${escapeHtml(champion.decision)}</p>` : ''}
</section>`;
}

function charts(list: readonly ReportChart[]): string {
  const figures = list.map(
    (chart) => `<figure>
<img src="data:image/png;base64,${chart.png.toString('base64')}" alt="${escapeHtml(chart.alt)}">
<figcaption>${escapeHtml(chart.title)} <span class="file">(${escapeHtml(chart.file)})</span></figcaption>
</figure>`,
  );
  return `<section aria-labelledby="charts">
<h2 id="charts">Charts</h2>
${figures.join('\n')}
</section>`;
}

/** Facts as a definition list; a value marked `code` (a checksum, an id) is set in monospace. */
function definitionList(rows: readonly [string, string, 'code'?][]): string {
  const value = (v: string, code?: 'code'): string => (code ? `<code>${escapeHtml(v)}</code>` : escapeHtml(v));
  return `<dl class="facts">\n${rows.map(([k, v, code]) => `<dt>${escapeHtml(k)}</dt><dd>${value(v, code)}</dd>`).join('\n')}\n</dl>`;
}

function trainingSection(training: TrainingSummary | undefined, history: ReportPageData['history']): string {
  if (!training) {
    return `<section aria-labelledby="training">
<h2 id="training">Training</h2>
<p>No training record (training.json) was found next to the model.</p>
</section>`;
  }
  const { config, backend } = training;
  const backendText = [backend.name, backend.tensorflowVersion ? `TensorFlow ${backend.tensorflowVersion}` : '', `tfjs ${backend.tfjsVersion}`, backend.threads ? `${backend.threads} threads` : '']
    .filter(Boolean)
    .join(', ');
  const facts = definitionList([
    ['Epochs', String(config.epochs)],
    ['Batch size', String(config.batchSize)],
    ['Learning rate (Adam)', config.learningRateSchedule === 'cosine' ? `${config.learningRate}, cosine decay to 0` : String(config.learningRate)],
    ['Validation split', String(config.validationSplit)],
    ['Augmentation', config.augmentation?.horizontalFlip ? 'random horizontal flips (half of each batch)' : 'none'],
    ['Precision', config.precision === 'bfloat16' ? 'convolutions in bfloat16, the rest float32' : 'float32'],
    ['Seed', String(config.seed)],
    ['Backend', backendText],
    ['Training step', backend.trainingStep === undefined ? 'not recorded' : `${backend.trainingStep}${(backend.graphChains ?? 1) > 1 ? `, each batch in ${backend.graphChains} chains side by side` : ''}`],
    ['Training examples', `${training.trainExamples} (+ ${training.validationExamples} for validation)`],
    ['Training time', `${formatFixed(training.seconds, 1)} s (${formatFixed(training.imagesPerSecond, 0)} images/s)`],
    ['Trained at', training.createdAt],
  ]);
  const layers = config.model.layers.map((layer) => `<li><code>${escapeHtml(describeLayer(layer))}</code></li>`).join('\n');
  const epochs =
    history && history.length > 0
      ? `<table>
<caption>Per epoch</caption>
<thead><tr><th scope="col">Epoch</th><th scope="col">Loss</th><th scope="col">Accuracy</th><th scope="col">Validation loss</th><th scope="col">Validation accuracy</th><th scope="col">Seconds</th></tr></thead>
<tbody>
${history
  .map((h) => `<tr><th scope="row">${h.epoch}</th><td>${score(h.loss)}</td><td>${score(h.accuracy)}</td><td>${h.val_loss === undefined ? '–' : score(h.val_loss)}</td><td>${h.val_accuracy === undefined ? '–' : score(h.val_accuracy)}</td><td>${h.seconds === undefined ? '–' : formatFixed(h.seconds, 1)}</td></tr>`)
  .join('\n')}
</tbody>
</table>`
      : '';
  return `<section aria-labelledby="training">
<h2 id="training">Training</h2>
${facts}
<h3>Layers</h3>
<ol class="layers">
${layers}
</ol>
${epochs ? `<h3>Timings</h3>\n${epochs}` : ''}
</section>`;
}

function lineageSection(lineage: Lineage | undefined, runId: string | undefined): string {
  const rows: [string, string, 'code'?][] = [['Run', runId ?? 'not recorded', 'code']];
  if (lineage) {
    rows.push(['Dataset id', lineage.datasetId, 'code']);
    if (lineage.datasetCreatedAt) rows.push(['Dataset ingested at', lineage.datasetCreatedAt]);
  }
  rows.push(['Code version', lineage?.codeVersion ?? 'not recorded']);
  for (const [file, sha] of Object.entries(lineage?.modelSha256 ?? {})) rows.push([`Model ${file} sha256`, sha, 'code']);
  const sources = lineage?.sources.length
    ? `<div class="table-scroll"><table class="sources">
<caption>Source files of the dataset (from its manifest)</caption>
<thead><tr><th scope="col">File</th><th scope="col">Split</th><th scope="col" class="num">Bytes</th><th scope="col">sha256</th></tr></thead>
<tbody>
${lineage.sources.map((s) => `<tr><th scope="row">${escapeHtml(s.name)}</th><td>${escapeHtml(s.split)}</td><td class="num">${s.bytes}</td><td class="hash"><code>${escapeHtml(s.sha256)}</code></td></tr>`).join('\n')}
</tbody>
</table></div>`
    : '<p>No dataset manifest was given: the source files are not recorded.</p>';
  return `<section aria-labelledby="lineage">
<h2 id="lineage">Lineage</h2>
${definitionList(rows)}
${sources}
</section>`;
}

/** The page's stylesheet, shared with the two-run comparison page (run-comparison-page.ts). */
export const REPORT_PAGE_STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1f24;background:#fff;margin:0}
main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.25rem;margin:2rem 0 .75rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}h3{font-size:1rem;margin:1rem 0 .5rem}
.lede{color:#57606a;margin-top:0}
dl.metrics{display:flex;flex-wrap:wrap;gap:.75rem;margin:0}
.metric{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;min-width:9rem}
.metric dt{color:#57606a;font-size:.85rem}.metric dd{margin:0;font-size:1.5rem;font-weight:600}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
caption{text-align:left;color:#57606a;padding-bottom:.25rem}code.run-id{white-space:nowrap}
th,td{padding:.25rem .75rem;border-bottom:1px solid #eaeef2;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
thead th{border-bottom:2px solid #d0d7de}
tfoot tr:first-child th,tfoot tr:first-child td{border-top:2px solid #d0d7de}
tr.avg th{font-weight:600}
.columns{display:flex;flex-wrap:wrap;gap:2rem}.columns>div{flex:1 1 20rem}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.9rem}.file{font-family:ui-monospace,monospace;font-size:.85rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{color:#57606a}dl.facts dd{margin:0;overflow-wrap:anywhere}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85rem;overflow-wrap:anywhere}
.layers{margin:0;padding-left:1.5rem}
ul.findings{color:#9a3412}
table.sources th,table.sources td{white-space:nowrap;text-align:left}table.sources .num{text-align:right}table.sources td.hash code{overflow-wrap:normal;font-size:.75rem}
.table-scroll{overflow-x:auto}
`.trim();
