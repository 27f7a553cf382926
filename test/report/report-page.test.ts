import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { escapeHtml, renderReportPage, type ReportPageData } from '../../lib/report/report-page.ts';
import { buildReportFiles } from '../../lib/report/write-report.ts';
import { loadSklearnFixture } from './fixtures.ts';
import { realisticPageInputs } from './page-fixture.ts';

const realistic = loadSklearnFixture('realistic_10000');
/** scikit-learn's own report and matrix, so the page's numbers are checked against an independent source. */
const base: ReportPageData = {
  report: realistic.report,
  matrix: realistic.confusionMatrix,
  classNames: realistic.classNames,
  charts: [],
};

const fixed4 = (value: number) => value.toFixed(4);
const scoresOf = (name: string) => realistic.report[name] as { precision: number; recall: number; 'f1-score': number; support: number };

describe('renderReportPage', () => {
  it('prints every class row of the classification report it is given, with its four figures', () => {
    const html = renderReportPage(base);
    for (const name of CLASS_NAMES) {
      const s = scoresOf(name);
      const row = `<tr><th scope="row">${escapeHtml(name)}</th><td>${fixed4(s.precision)}</td><td>${fixed4(s.recall)}</td><td>${fixed4(s['f1-score'])}</td><td>${s.support}</td></tr>`;
      assert.ok(html.includes(row), `missing row ${row}`);
    }
    for (const key of ['macro avg', 'weighted avg']) {
      const s = scoresOf(key);
      assert.ok(html.includes(`<th scope="row">${key}</th><td>${fixed4(s.precision)}</td><td>${fixed4(s.recall)}</td><td>${fixed4(s['f1-score'])}</td><td>10000</td>`), key);
    }
    const accuracy = realistic.report['accuracy'] as number;
    assert.match(html, new RegExp(`<dt>Accuracy</dt><dd>${(accuracy * 100).toFixed(2)} %</dd>`));
    assert.match(html, new RegExp(`<dt>Macro F1</dt><dd>${fixed4(scoresOf('macro avg')['f1-score'])}</dd>`));
    assert.match(html, new RegExp(`<dt>Weighted F1</dt><dd>${fixed4(scoresOf('weighted avg')['f1-score'])}</dd>`));
    assert.match(html, /<dt>Loss<\/dt><dd>not recorded<\/dd>/);
    assert.match(renderReportPage({ ...base, loss: 0.31416 }), /<dt>Loss<\/dt><dd>0\.3142<\/dd>/);
  });

  it('is accessible and self-contained: lang, ordered headings, scoped headers, no script, no link, no remote URL', () => {
    const html = renderReportPage({ ...base, ...realisticPageInputs(), report: realistic.report, matrix: realistic.confusionMatrix, classNames: CLASS_NAMES, charts: [] });
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    const levels = [...html.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    assert.equal(levels[0], 1);
    assert.equal(levels.filter((l) => l === 1).length, 1);
    levels.forEach((level, i) => assert.ok(i === 0 || level <= levels[i - 1] + 1, `heading h${level} after h${levels[i - 1]}`));
    const headerCells = [...html.matchAll(/<th( [^>]*)?>/g)];
    assert.ok(headerCells.length > 20);
    for (const cell of headerCells) assert.match(cell[0], /scope="(row|col)"/);
    assert.doesNotMatch(html, /<script|<link|https?:\/\/|\/\/cdn|@import|url\(/i);
  });

  it('embeds every chart as a data: URI with its alt text, and the page built by the report writer has all five', () => {
    const files = buildReportFiles(realisticPageInputs());
    const html = files['index.html'] as string;
    const images = [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)">/g)];
    assert.equal((html.match(/<img /g) ?? []).length, 5);
    assert.equal(images.length, 5);
    const embedded = images.map((m) => Buffer.from(m[1], 'base64'));
    for (const name of ['confusion_matrix.png', 'confusion_matrix_normalized.png', 'learning_curves.png', 'samples.png', 'misclassified.png']) {
      assert.ok(embedded.some((png) => png.equals(files[name] as Buffer)), `${name} not embedded byte for byte`);
      assert.ok(html.includes(`(${name})`), `${name} not named`);
    }
    // The alt texts carry the data: the largest confusion and the misclassified count of the fixture.
    const wrong = realistic.yTrue.filter((label, i) => label !== realistic.yPred[i]).length;
    assert.ok(images.some((m) => m[2].includes('Shirt predicted as T-shirt/top, 155 images')), 'confusion matrix alt names its largest cell');
    assert.ok(images.some((m) => m[2].includes(`${wrong} of 10000 test images were misclassified`)));
    assert.ok(images.some((m) => m[2].includes('over 3 epochs') && m[2].includes('validation accuracy 90.00 %')));
  });

  it('shows the training config, backend, timings and the lineage with each source file\'s sha256', () => {
    const inputs = realisticPageInputs();
    const html = buildReportFiles(inputs)['index.html'] as string;
    for (const [term, value] of [['Epochs', '3'], ['Batch size', '64'], ['Learning rate (Adam)', '0.001'], ['Seed', '42'], ['Training step', 'graph'], ['Code version', '0.1.0']]) {
      assert.ok(html.includes(`<dt>${escapeHtml(term)}</dt><dd>${value}</dd>`), term);
    }
    assert.ok(html.includes('tensorflow, TensorFlow 2.18.0, tfjs 4.22.0'));
    assert.ok(html.includes('120.8 s (1192 images/s)'));
    assert.ok(html.includes('<code>conv2d filters=32 kernelSize=3 activation=relu</code>'));
    assert.ok(html.includes('<th scope="row">2</th><td>0.3500</td><td>0.8700</td><td>0.3100</td><td>0.8900</td><td>39.2</td>'));
    for (const source of inputs.lineage!.sources) {
      assert.ok(html.includes(`<th scope="row">${source.name}</th><td>${source.split}</td><td class="num">${source.bytes}</td><td class="hash"><code>${source.sha256}</code></td>`), source.name);
    }
    assert.ok(html.includes(`<code>${inputs.lineage!.datasetId}</code>`));
    // A graph step that ran each batch in pieces says how many (they change the float sums).
    const chained = realisticPageInputs();
    chained.training!.backend.graphChains = 2;
    assert.ok((buildReportFiles(chained)['index.html'] as string).includes('<dt>Training step</dt><dd>graph, each batch in 2 chains side by side</dd>'));
    assert.ok(html.includes(`<dt>Model weights.bin sha256</dt><dd><code>${'2'.repeat(64)}</code></dd>`));
    assert.ok(html.includes('<title>Run run-2026-12-02-abc: evaluation report</title>'));
  });

  it('says what is missing instead of inventing it', () => {
    const html = renderReportPage(base);
    assert.match(html, /No training record \(training\.json\)/);
    assert.match(html, /<dt>Code version<\/dt><dd>not recorded<\/dd>/);
    assert.doesNotMatch(html, /Against the champion/);
  });

  it('compares with the champion only when one is given', () => {
    const html = renderReportPage({ ...base, champion: { runId: 'champ-1', accuracy: 0.9, macroF1: 0.85, decision: 'promoted: accuracy +0.0036' } });
    const accuracy = realistic.report['accuracy'] as number;
    assert.ok(html.includes(`<th scope="row">Accuracy</th><td>${fixed4(accuracy)}</td><td>0.9000</td><td>−${fixed4(0.9 - accuracy)}</td>`));
    assert.ok(html.includes(`<td>+${fixed4(scoresOf('macro avg')['f1-score'] - 0.85)}</td>`));
    assert.ok(html.includes('champion <code class="run-id">champ-1</code>'));
    assert.doesNotMatch(html, /<th scope="row">Weighted F1<\/th>/, 'no row for a figure the champion lacks');
  });

  it('escapes every interpolated string: a hostile class name, run id, layer field and file name stay text', () => {
    const hostile = `<script>alert("x")</script> & 'q'`;
    const inputs = realisticPageInputs();
    const classNames = [...CLASS_NAMES.slice(0, 9), hostile];
    const training = { ...inputs.training!, runId: `run"><img src=x onerror=alert(1)>` };
    training.config = { ...training.config, model: { layers: [{ type: 'dense', units: 10, activation: '<b>softmax</b>' }] } };
    const lineage = { ...inputs.lineage!, sources: [{ split: 'test', name: '</table><iframe src="http://evil">', bytes: 1, sha256: 'e'.repeat(64) }] };
    const html = buildReportFiles({ ...inputs, classNames, training, lineage })['index.html'] as string;
    assert.doesNotMatch(html, /<script|<img src=x|<b>|<iframe|onerror=alert\(1\)>/);
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
    assert.ok(html.includes('run&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('&lt;/table&gt;&lt;iframe src=&quot;http://evil&quot;&gt;'));
  });

  it('depends only on its inputs, so a retried Evaluate writes the same bytes', () => {
    const inputs = realisticPageInputs();
    assert.equal(buildReportFiles(inputs)['index.html'], buildReportFiles(realisticPageInputs())['index.html']);
  });
});

describe('renderReportPage: data checks', () => {
  const lineage = { datasetId: 'f00dfeedc0ffee42', sources: [] };
  const perClass = (count: number) => Array.from({ length: 10 }, (_, label) => ({ label, count, pixelMean: 70 + label + 0.04, pixelStd: 90.06 }));
  const checks = {
    figures: {
      perClass: { train: perClass(6000), test: [...perClass(1000).slice(0, 9), { label: 9, count: 0, pixelMean: 0, pixelStd: 0 }] },
      duplicates: { train: { extraCopies: 3, images: 2 }, test: { extraCopies: 0, images: 0 }, acrossSplits: { testExamples: 20, images: 19 } },
      labelConflicts: { images: 1, examples: 2 },
      duplicateSources: [],
      samples: { train: [], test: [], acrossSplits: [], labelConflicts: [] },
    },
    policy: 'warn' as const,
    thresholds: { maxDuplicateShare: 0.01, maxLeakShare: 0.01, maxLabelConflictShare: 0.001, maxLabelDistance: 0.05, maxClassMeanShift: 20 },
    findings: [{ check: 'train-test-leak' as const, value: 0.02, threshold: 0.01, message: '20 of 1,000 test examples are also in train <b>' }],
  };

  it('shows each finding (escaped), the figures and the per-class statistics; a class without examples shows dashes', () => {
    const html = renderReportPage({ ...base, lineage, dataChecks: checks });
    assert.match(html, /<h2 id="data-checks">Data checks<\/h2>/);
    assert.ok(html.includes('<li><strong>Warning: train-test-leak</strong>: 20 of 1,000 test examples are also in train &lt;b&gt;</li>'));
    assert.ok(html.includes('<dt>Exact duplicate images in train</dt><dd>3 extra copies (2 images)</dd>'));
    assert.ok(html.includes('<dt>Test examples also in train</dt><dd>20 (19 images)</dd>'));
    assert.ok(html.includes('<dt>Images under two or more labels</dt><dd>1 (2 examples)</dd>'));
    assert.ok(html.includes('<tr><th scope="row">T-shirt/top</th><td class="num">6000</td><td class="num">70.0</td><td class="num">90.1</td><td class="num">1000</td><td class="num">70.0</td><td class="num">90.1</td></tr>'));
    assert.ok(html.includes('<tr><th scope="row">Ankle boot</th><td class="num">6000</td><td class="num">79.0</td><td class="num">90.1</td><td class="num">0</td><td>–</td><td>–</td></tr>'));
  });

  it('passed checks say so; a manifest without checks says it holds none; no dataset at all, no section', () => {
    assert.match(renderReportPage({ ...base, lineage, dataChecks: { ...checks, findings: [] } }), /<p>All data checks passed\.<\/p>/);
    assert.match(renderReportPage({ ...base, lineage }), /The dataset's manifest holds no data checks/);
    assert.doesNotMatch(renderReportPage(base), /data-checks/);
  });
});
