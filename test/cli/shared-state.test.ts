import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';
import { errorLines, fmnist, startCli } from './support/spawn-cli.ts';

/**
 * Two `run`s on one state directory at once: once, the second re-uploaded raw/train/<name> while
 * the first read it, and the first failed blaming a valid file. Inputs now go under keys named by
 * their content, written only if absent.
 */
describe('fmnist run: runs sharing a state directory', () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  const train = syntheticKaggleCsv(5000, 11);
  const testSet = syntheticKaggleCsv(100, 12);
  const outs = ['a', 'b'];
  const runArgs = (out: string) => [
    'run', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--limit', '200',
    '--epochs', '1', '--batch-size', '32', '--config', config, '--state-dir', stateDir, '--out', out,
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-shared-state-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'tiny.json');
    await writeFile(join(dir, 'train.csv'), train.text);
    await writeFile(join(dir, 'test.csv'), testSet.text);
    await writeFile(config, JSON.stringify({ model: TINY_MODEL }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('two runs at once both succeed, on the same content-addressed inputs and dataset', async () => {
    const runs = outs.map((name) => startCli(runArgs(join(dir, name))));
    const results = await Promise.all(runs.map((run) => run.done));
    for (const result of results) assert.equal(result.code, 0, result.stderr);

    const summaries = await Promise.all(outs.map(async (name) => JSON.parse(await readFile(join(dir, name, 'local-run.json'), 'utf8'))));
    const sha = createHash('sha256').update(train.text).digest('hex');
    for (const summary of summaries) {
      const upload = summary.uploads.find((u: { path: string }) => u.path.endsWith('train.csv'));
      assert.equal(upload.key, `raw/train/${sha.slice(0, 16)}/train.csv`);
      assert.equal(upload.bytes, Buffer.byteLength(train.text));
    }
    assert.equal(summaries[0].datasetId, summaries[1].datasetId);
    // Both trained on the whole (limited) data set: nothing was cut short by the other run.
    for (const name of outs) {
      const manifest = JSON.parse(await readFile(join(dir, name, 'dataset', 'manifest.json'), 'utf8'));
      assert.equal(manifest.splits.train.examples, 200);
      assert.equal(manifest.splits.train.sources[0].sha256, sha);
    }
    // The object in the bucket is the file, byte for byte.
    const stored = join(stateDir, 'fmnist-local', 'raw', 'train', sha.slice(0, 16), 'train.csv._S3rver_object');
    assert.equal(createHash('sha256').update(await readFile(stored)).digest('hex'), sha);
  });

  test('run --out refuses a directory holding another run, naming it; nothing there changes', async () => {
    const taken = join(dir, 'a');
    const owner = JSON.parse(await readFile(join(taken, 'run.json'), 'utf8')).runId as string;
    const before = await readFile(join(taken, 'report', 'metrics.json'), 'utf8');
    const result = await fmnist(runArgs(taken));
    assert.equal(result.code, 1);
    const line = errorLines(result.stderr).at(-1)!;
    assert.match(line, new RegExp(`^fmnist: ${taken} holds the outputs of run ${owner}`));
    assert.equal(await readFile(join(taken, 'report', 'metrics.json'), 'utf8'), before);
    assert.ok(existsSync(join(taken, 'model', 'model.json')));
  });
});
