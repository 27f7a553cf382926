import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { withChromiumPage } from './chromium-page.ts';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { writeReport } from '../../lib/report/write-report.ts';
import { realisticPageInputs } from './page-fixture.ts';

test('report/index.html opens from disk in chromium: metrics, the ten classes, every image, no console error, no network', { timeout: 30_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'fmnist-page-'));
  const reportDir = join(root, 'report');
  const inputs = realisticPageInputs();
  await writeReport(reportDir, inputs);
  const pageUrl = pathToFileURL(join(reportDir, 'index.html')).href;

  try {
    await withChromiumPage(pageUrl, {}, async ({ page, consoleErrors, requests }) => {
      const accuracy = (inputs.yTrue.filter((label, i) => label === inputs.yPred[i]).length / inputs.yTrue.length) * 100;
      const metricsText = await page.locator('dl.metrics').innerText();
      assert.match(metricsText, new RegExp(`Accuracy\\s+${accuracy.toFixed(2).replace('.', '\\.')} %`));

      const rowHeaders = await page.locator('section[aria-labelledby="classes"] tbody th[scope="row"]').allInnerTexts();
      assert.deepEqual(rowHeaders, [...CLASS_NAMES]);

      const images = await page.locator('img').evaluateAll((nodes) =>
        nodes.map((node) => {
          const img = node as unknown as { naturalWidth: number; complete: boolean; alt: string; src: string };
          return { naturalWidth: img.naturalWidth, complete: img.complete, alt: img.alt, scheme: img.src.slice(0, 15) };
        }),
      );
      assert.equal(images.length, 5);
      for (const image of images) {
        assert.ok(image.complete && image.naturalWidth > 0, `image not loaded: ${image.alt}`);
        assert.ok(image.alt.length > 20, 'every image has alt text');
        assert.equal(image.scheme, 'data:image/png;');
      }

      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(requests.filter((url) => url !== pageUrl && !url.startsWith('data:')), []);

      const screenshotDir = await mkdtemp(join(tmpdir(), 'fmnist-page-shot-'));
      const screenshot = join(screenshotDir, 'report-page.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`screenshot: ${screenshot}`);
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
