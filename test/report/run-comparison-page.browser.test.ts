import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { withChromiumPage } from './chromium-page.ts';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { classificationReport } from '../../lib/report/classification-report.ts';
import { confusionMatrix } from '../../lib/report/confusion-matrix.ts';
import { renderComparisonPage } from '../../lib/report/run-comparison-page.ts';
import { compareRuns, type RunArtifacts } from '../../lib/report/run-comparison.ts';
import { realisticPageInputs } from './page-fixture.ts';

test('the two-run comparison page opens from disk in chromium: its tables, the ten classes, no console error, no network', { timeout: 30_000 }, async (t) => {
  const inputs = realisticPageInputs();
  // Run B corrects every 7th prediction of run A and trains longer with wider convolutions.
  const yPredB = inputs.yPred.map((p, i) => (i % 7 === 0 ? inputs.yTrue[i] : p));
  const artifacts = (runId: string, yPred: number[], epochs: number, filters: number): RunArtifacts => {
    const training = structuredClone(inputs.training!);
    training.runId = runId;
    training.config.epochs = epochs;
    training.config.model = { layers: training.config.model.layers.map((layer, i) => (i === 0 ? { ...layer, filters } : layer)) };
    return { runId, classificationReport: classificationReport(inputs.yTrue, yPred), confusionMatrix: confusionMatrix(inputs.yTrue, yPred), classNames: CLASS_NAMES, training };
  };
  const comparison = compareRuns(artifacts('run-a', inputs.yPred, 3, 32), artifacts('run-b', yPredB, 5, 64));

  const root = await mkdtemp(join(tmpdir(), 'fmnist-compare-page-'));
  const file = join(root, 'compare.html');
  await writeFile(file, renderComparisonPage(comparison));
  const pageUrl = pathToFileURL(file).href;
  try {
    await withChromiumPage(pageUrl, {}, async ({ page, consoleErrors, requests }) => {
      assert.deepEqual(await page.locator('caption').count(), 5);
      assert.deepEqual(await page.locator('table.classes tbody th[scope="row"]').allInnerTexts(), [...CLASS_NAMES]);
      const accuracyA = inputs.yTrue.filter((label, i) => label === inputs.yPred[i]).length / inputs.yTrue.length;
      const accuracyB = inputs.yTrue.filter((label, i) => label === yPredB[i]).length / inputs.yTrue.length;
      const accuracyRow = await page.locator('section[aria-labelledby="metrics"] tbody tr').first().innerText();
      assert.equal(accuracyRow.split('\t').join('|'), `Accuracy|${accuracyA.toFixed(4)}|${accuracyB.toFixed(4)}|+${(accuracyB - accuracyA).toFixed(4)}`);
      assert.deepEqual(await page.locator('table.config tbody th').allInnerTexts(), ['epochs', 'model.layers[0].filters']);
      assert.ok((await page.locator('table.confusions tbody tr').count()) > 0);

      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(requests.filter((url) => url !== pageUrl), []);
      const screenshot = join(await mkdtemp(join(tmpdir(), 'fmnist-compare-shot-')), 'compare-page.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`screenshot: ${screenshot}`);
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
