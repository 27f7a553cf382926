import { CLASS_NAMES } from '../data/classes.ts';
import type { ManifestChecks } from '../data/manifest-checks.ts';
import { formatFixed } from './python-format.ts';

/**
 * The data checks of the run's dataset (its manifest's `checks`), on the report page and in the
 * model card: the findings first (what a reader must not miss), then the figures. A dataset
 * ingested before the checks existed has none, and the page says so.
 */
/** report-page.ts's escapeHtml, repeated: report-page.ts imports this module. */
const e = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function dataChecksSection(checks: ManifestChecks | undefined): string {
  if (!checks) {
    return `<section aria-labelledby="data-checks">
<h2 id="data-checks">Data checks</h2>
<p>The dataset's manifest holds no data checks (it was ingested before they existed).</p>
</section>`;
  }
  const { figures, findings, policy } = checks;
  const verdict = findings.length === 0
    ? '<p>All data checks passed.</p>'
    : `<ul class="findings">\n${findings.map((f) => `<li><strong>${policy === 'fail' ? 'Failed' : 'Warning'}: ${e(f.check)}</strong>: ${e(f.message)}</li>`).join('\n')}\n</ul>`;
  const { train, test, acrossSplits } = figures.duplicates;
  const rows: [string, string][] = [
    ['Exact duplicate images in train', `${train.extraCopies} extra copies (${train.images} images)`],
    ['Exact duplicate images in test', `${test.extraCopies} extra copies (${test.images} images)`],
    ['Test examples also in train', `${acrossSplits.testExamples} (${acrossSplits.images} images)`],
    ['Images under two or more labels', `${figures.labelConflicts.images} (${figures.labelConflicts.examples} examples)`],
    ['Source files given twice', String(figures.duplicateSources.length)],
    ['Policy', `${policy}; thresholds: ${Object.entries(checks.thresholds).map(([key, value]) => `${key} ${value}`).join(', ')}`],
  ];
  const stats = (s: { count: number; pixelMean: number; pixelStd: number } | undefined) =>
    s && s.count > 0 ? `<td class="num">${s.count}</td><td class="num">${formatFixed(s.pixelMean, 1)}</td><td class="num">${formatFixed(s.pixelStd, 1)}</td>` : '<td class="num">0</td><td>–</td><td>–</td>';
  const perClass = figures.perClass.train
    .map((s, label) => `<tr><th scope="row">${e(CLASS_NAMES[label] ?? `label ${label}`)}</th>${stats(s)}${stats(figures.perClass.test[label])}</tr>`)
    .join('\n');
  return `<section aria-labelledby="data-checks">
<h2 id="data-checks">Data checks</h2>
${verdict}
<dl class="facts">
${rows.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('\n')}
</dl>
<div class="table-scroll"><table>
<caption>Examples and pixel statistics (0..255) per class</caption>
<thead><tr><th scope="col">Class</th><th scope="col">Train</th><th scope="col">Mean</th><th scope="col">Std</th><th scope="col">Test</th><th scope="col">Mean</th><th scope="col">Std</th></tr></thead>
<tbody>
${perClass}
</tbody>
</table></div>
</section>`;
}

/** The model card's lines: the findings, or that the checks passed. */
export function dataChecksMarkdown(checks: ManifestChecks | undefined): string[] {
  if (!checks) return ['- Data checks: not recorded (dataset ingested before they existed)'];
  const { figures, findings, policy } = checks;
  const { train, test, acrossSplits } = figures.duplicates;
  const lines = [
    `- Data checks (policy ${policy}): ${train.extraCopies} duplicate images in train, ${test.extraCopies} in test, ` +
      `${acrossSplits.testExamples} test examples also in train, ${figures.labelConflicts.images} images under two labels`,
  ];
  for (const f of findings) lines.push(`  - ${policy === 'fail' ? 'Failed' : 'Warning'}: ${f.check}: ${f.message.replace(/\|/g, '\\|')}`);
  return lines;
}
