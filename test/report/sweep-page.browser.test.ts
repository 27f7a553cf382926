import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { CHROMIUM, withChromiumPage } from './chromium-page.ts';
import { renderSweepPage } from '../../lib/report/sweep-page.ts';
import { halvingHistories, halvingSweep } from './sweep-fixture.ts';

test(
  'the sweep page opens from disk in chromium: its tables, both charts with a mark per trial, no console error, no network',
  // Debian's chromium only: never let playwright download a browser; without it, skipped.
  { timeout: 30_000, skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` },
  async (t) => {
    const record = halvingSweep();
    const histories = halvingHistories(record);
    const root = await mkdtemp(join(tmpdir(), 'fmnist-sweep-page-'));
    const file = join(root, 'index.html');
    await writeFile(file, renderSweepPage(record, histories));
    const pageUrl = pathToFileURL(file).href;
    try {
      await withChromiumPage(pageUrl, { viewport: { width: 1100, height: 900 } }, async ({ page, consoleErrors, requests }) => {
        assert.deepEqual(await page.locator('table.trials tbody th[scope="row"]').allInnerTexts().then((cells) => cells.map((c) => c.split(/\s/)[0])), record.trials.map((trial) => trial.trialId));
        assert.equal(await page.locator('table.trials tr.best').count(), 1);
        assert.equal(await page.locator('table.round').count(), record.rounds.length);

        // Trials with a validation accuracy: one line each in the config chart.
        const withAccuracy = record.trials.filter((trial) => trial.valAccuracy !== undefined).length;
        const configChart = page.locator('svg.chart[aria-labelledby="config-chart-title config-chart-desc"]');
        assert.equal(await configChart.locator('polyline.trial').count(), withAccuracy);
        assert.equal(await configChart.locator('g.axis').count(), 4);
        const curves = page.locator('svg.chart[aria-labelledby="curves-chart-title curves-chart-desc"]');
        assert.equal(await curves.locator('polyline.curve').count(), Object.keys(histories).length);
        assert.equal(await curves.locator('circle.round-point').count(), record.trials.filter((trial) => trial.status === 'stopped').length);

        // The charts are laid out (not collapsed to nothing) and every line has extent on screen.
        for (const chart of [configChart, curves]) {
          const box = await chart.boundingBox();
          assert.ok(box && box.width > 500 && box.height > 250, `chart box ${JSON.stringify(box)}`);
          assert.match((await chart.locator('title').first().textContent()) ?? '', /\w/);
        }
        const lineBoxes = await page.locator('svg.chart polyline').evaluateAll((nodes) => nodes.map((node) => (node as unknown as { getBBox(): { width: number } }).getBBox().width));
        assert.ok(lineBoxes.length > 0 && lineBoxes.every((width) => width > 100), lineBoxes.join(', '));

        assert.deepEqual(consoleErrors, []);
        assert.deepEqual(requests.filter((url) => url !== pageUrl), []);
        const screenshot = join(await mkdtemp(join(tmpdir(), 'fmnist-sweep-shot-')), 'sweep-page.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        t.diagnostic(`screenshot: ${screenshot}`);
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);
