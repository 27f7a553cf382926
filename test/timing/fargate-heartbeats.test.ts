import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadStackTemplate } from '../../cli/local/definition.ts';
import { causeMessage } from '../../cli/local/progress.ts';
import { runWorkflowLocally } from '../../cli/local/runner.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * The Fargate task's heartbeats, with the whole stack's time scaled to 0.02: every step's timeout
 * shrinks with it (ValidateInput's 30 s to 0.6 s), so next to other test files a sandbox may miss
 * a deadline it meets alone; hence here, run after the rest (test/timing/README.md).
 */
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-heartbeats-'));
  await writeFile(join(dir, 'fashion-mnist_train.csv'), syntheticKaggleCsv(100, 1).text);
  await writeFile(join(dir, 'fashion-mnist_test.csv'), syntheticKaggleCsv(50, 2).text);
});
after(() => rm(dir, { recursive: true, force: true }));

test('heartbeats flow while the real training runs in the Fargate container (time scaled 0.02: every 1.2 s, HeartbeatSeconds 12 s)', async () => {
  const result = await runWorkflowLocally({
    train: [join(dir, 'fashion-mnist_train.csv')],
    test: [join(dir, 'fashion-mnist_test.csv')],
    outDir: join(dir, 'out'),
    template: (await loadStackTemplate()).template,
    timeScale: 0.02,
    retryIntervalMs: 0,
    progress: false,
    input: { trainOn: 'fargate', config: { epochs: 400, batchSize: 16, model: TINY_MODEL } },
  });
  assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${causeMessage(result.cause)}`);
  const beats = result.heartbeats.find((times) => times.length > 0) ?? [];
  // One at start, then one per 1.2 s of training (at least half of them, on a loaded machine).
  const seconds = (result.output as { training: { seconds: number } }).training.seconds;
  assert.ok(seconds > 2.4, `trained for ${seconds} s`);
  assert.ok(beats.length >= 1 + Math.floor(seconds / 1.2 / 2), `${beats.length} heartbeats during ${seconds.toFixed(1)} s of training`);
  const gaps = beats.slice(1).map((time, i) => time - beats[i]);
  assert.ok(Math.max(...gaps) < 12_000, `the largest gap between heartbeats (${Math.max(...gaps)} ms) stays under HeartbeatSeconds`);
});
