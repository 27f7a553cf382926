import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { errorLines, fmnist } from './support/spawn-cli.ts';

/** File-system mistakes are user errors: one line naming the path, exit 1, no stack trace. */
describe('fmnist CLI: bad input', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-bad-input-'));
    await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(30, 1).text);
    await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(10, 2).text);
    await mkdir(join(dir, 'a-directory'));
    await mkdir(join(dir, 'empty-model'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const oneLine = (stderr: string, pattern: RegExp) => {
    const lines = errorLines(stderr);
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  };

  test('ingest: a directory given as an input', async () => {
    const result = await fmnist(['ingest', '--train', join(dir, 'a-directory'), '--test', join(dir, 'test.csv'), '--out', join(dir, 'ds1')]);
    assert.equal(result.code, 1);
    oneLine(result.stderr, new RegExp(`^fmnist: ${join(dir, 'a-directory')}: is a directory`));
  });

  test('ingest: a missing file', async () => {
    const result = await fmnist(['ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'nope.csv'), '--out', join(dir, 'ds2')]);
    assert.equal(result.code, 1);
    oneLine(result.stderr, new RegExp(`^fmnist: ${join(dir, 'nope.csv')}: no such file`));
  });

  test('evaluate: a missing model', async () => {
    const ingested = await fmnist(['ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--out', join(dir, 'ds')]);
    assert.equal(ingested.code, 0, ingested.stderr);
    for (const model of [join(dir, 'no-such-model'), join(dir, 'empty-model')]) {
      const result = await fmnist(['evaluate', '--data', join(dir, 'ds'), '--model', model, '--out', join(dir, 'report')]);
      assert.equal(result.code, 1);
      oneLine(result.stderr, new RegExp(`^fmnist: ${model}: no model here`));
    }
  });

  test('report: label and prediction files of different lengths', async () => {
    await writeFile(join(dir, 'labels.txt'), '1\n2\n3\n');
    await writeFile(join(dir, 'predictions.txt'), '1\n2\n');
    const result = await fmnist(['report', '--labels', join(dir, 'labels.txt'), '--predictions', join(dir, 'predictions.txt'), '--out', join(dir, 'r')]);
    assert.equal(result.code, 1);
    oneLine(result.stderr, /labels\.txt has 3 labels but .*predictions\.txt has 2/);
  });

  test('run: a directory or a missing file as input is refused before any work, leaking no temporary bucket', async () => {
    const scratchTmp = join(dir, 'tmp');
    await mkdir(scratchTmp);
    for (const [train, pattern] of [
      [join(dir, 'a-directory'), /is a directory/],
      [join(dir, 'missing.csv'), /no such file/],
    ] as const) {
      const result = await fmnist(['run', '--train', train, '--test', join(dir, 'test.csv'), '--fresh', '--out', join(dir, 'run')], { TMPDIR: scratchTmp });
      assert.equal(result.code, 1);
      const lines = errorLines(result.stderr);
      assert.match(lines.at(-1)!, new RegExp(`^fmnist: ${train}: ${pattern.source}`));
      assert.doesNotMatch(result.stderr, /\n\s+at |Unhandled 'error' event/);
    }
    assert.deepEqual((await readdir(scratchTmp)).filter((name) => name.startsWith('fmnist-s3-')), []);
  });
});
