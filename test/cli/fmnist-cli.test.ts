import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';

const run = promisify(execFile);
const CLI = new URL('../../bin/fmnist.ts', import.meta.url).pathname;

async function fmnist(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const histogram = (labels: ArrayLike<number>) =>
  Array.from({ length: 10 }, (_, label) => Array.from(labels).filter((l) => l === label).length);

describe('fmnist CLI', () => {
  let dir: string;
  const train = syntheticKaggleCsv(90, 3);
  const testSet = syntheticKaggleCsv(30, 4);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-cli-'));
    await writeFile(join(dir, 'train.csv'), train.text);
    await writeFile(join(dir, 'test.csv'), testSet.text);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('ingest --json ends stdout with a one-line summary', async () => {
    const result = await fmnist('ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--out', join(dir, 'ds'), '--json');
    assert.equal(result.code, 0, result.stderr);
    const last = result.stdout.trim().split('\n').at(-1)!;
    const summary = JSON.parse(last);
    assert.equal(summary.train.examples, 90);
    assert.equal(summary.test.examples, 30);
    assert.deepEqual(summary.train.labelHistogram, histogram(train.labels));
    assert.deepEqual(summary.test.labelHistogram, histogram(testSet.labels));
    assert.ok(existsSync(join(dir, 'ds', 'manifest.json')));
  });

  test('ingest of a bad file exits non-zero, names file, line and column, writes nothing', async () => {
    const lines = train.text.split('\n');
    lines[5] = lines[5].replace(/^(\d+),(\d+)/, '$1,x'); // line 6, column 2 (pixel1)
    await writeFile(join(dir, 'bad.csv'), lines.join('\n'));
    const out = join(dir, 'rejected');
    const result = await fmnist('ingest', '--train', join(dir, 'bad.csv'), '--test', join(dir, 'test.csv'), '--out', out);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /bad\.csv/);
    assert.match(result.stderr, /line 6/);
    assert.match(result.stderr, /column 2/);
    assert.equal(existsSync(out), false);
  });

  test('ingest of the same file as train and test: warned by default (printed, in --json); refused with --data-checks fail, naming both, writing nothing', async () => {
    const warned = await fmnist('ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'train.csv'), '--out', join(dir, 'same-twice'), '--json');
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^data checks:$/m);
    assert.match(warned.stderr, /WARNING duplicate-sources: the same file \(sha256 [0-9a-f]{12}…\) is given as train "[^"]*train\.csv" and test "[^"]*train\.csv"/);
    assert.match(warned.stderr, /WARNING train-test-leak: 90 of 90 test examples are also in train/);
    const summary = JSON.parse(warned.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(summary.dataCheckFindings.map((f: { check: string }) => f.check), ['duplicate-sources', 'train-test-leak']);

    const out = join(dir, 'same-twice-refused');
    const refused = await fmnist('ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'train.csv'), '--out', out, '--data-checks', 'fail');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /data checks failed \(dataChecks: "fail"\): duplicate-sources: .*train "[^"]*train\.csv" and test "[^"]*train\.csv"; train-test-leak: 90 of 90/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'one line, no stack');
    assert.equal(existsSync(out), false);
  });

  test('report writes the report files from two label files', async () => {
    const yTrue = testSet.labels;
    const yPred = yTrue.map((label, i) => (i % 4 === 0 ? (label + 1) % 10 : label));
    await writeFile(join(dir, 'labels.txt'), yTrue.join('\n') + '\n');
    await writeFile(join(dir, 'predictions.txt'), yPred.join('\r\n'));
    const out = join(dir, 'report');
    const result = await fmnist('report', '--labels', join(dir, 'labels.txt'), '--predictions', join(dir, 'predictions.txt'), '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const files = await readdir(out);
    for (const file of ['classification_report.json', 'classification_report.txt', 'confusion_matrix.json', 'confusion_matrix.png']) {
      assert.ok(files.includes(file), `missing ${file}`);
    }
    const { matrix } = JSON.parse(await readFile(join(out, 'confusion_matrix.json'), 'utf8'));
    for (let t = 0; t < 10; t++) {
      for (let p = 0; p < 10; p++) {
        const expected = yTrue.filter((label, i) => label === t && yPred[i] === p).length;
        assert.equal(matrix[t][p], expected, `cell ${t},${p}`);
      }
    }
    const report = JSON.parse(await readFile(join(out, 'classification_report.json'), 'utf8'));
    assert.equal(report.accuracy, yTrue.filter((label, i) => label === yPred[i]).length / yTrue.length);
    assert.match(result.stdout, /T-shirt\/top/);
  });

  test('report refuses label files of different lengths and out-of-range labels', async () => {
    await writeFile(join(dir, 'short.txt'), '1\n2\n');
    const mismatch = await fmnist('report', '--labels', join(dir, 'labels.txt'), '--predictions', join(dir, 'short.txt'), '--out', join(dir, 'r2'));
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.stderr, /30 labels/);
    await writeFile(join(dir, 'eleven.txt'), '1\n11\n');
    const range = await fmnist('report', '--labels', join(dir, 'eleven.txt'), '--predictions', join(dir, 'eleven.txt'), '--out', join(dir, 'r3'));
    assert.notEqual(range.code, 0);
    assert.match(range.stderr, /eleven\.txt, line 2/);
  });

  test('bad flags are refused before any work', async () => {
    const result = await fmnist('run', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--epochs', '0', '--out', join(dir, 'never'));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--epochs/);
    assert.equal(existsSync(join(dir, 'never')), false);
  });

  test('run executes the workflow locally: trains, evaluates, registers; promotes only above the floor, or when told', async () => {
    const config = join(dir, 'tiny.json');
    await writeFile(
      config,
      JSON.stringify({
        model: {
          layers: [
            { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
            { type: 'maxPool2d', poolSize: 2 },
            { type: 'flatten' },
            { type: 'dense', units: 10, activation: 'softmax' },
          ],
        },
      }),
    );
    const out = join(dir, 'run');
    const stateDir = join(dir, 'state');
    const args = ['--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--epochs', '2', '--batch-size', '16', '--config', config, '--state-dir', stateDir];
    const result = await fmnist('run', ...args, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /epoch 2\/2/);
    // Keras' model.summary(), relayed from the train sandbox: conv 3*3*1*4 + 4 = 40, dense 13*13*4*10 + 10 = 6,770.
    assert.match(result.stderr, / Layer \(type\) +Output Shape +Param #\n=+\n conv2d \(Conv2D\) +\(None, 26, 26, 4\) +40\n/);
    assert.match(result.stderr, /Total params: 6,810\nTrainable params: 6,810\nNon-trainable params: 0\n/);
    const summary = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(summary.backend.name));
    // Two epochs on 120 synthetic images: under the stack's promotion floor (0.5), so registered, not champion.
    assert.ok(summary.testAccuracy < 0.5, String(summary.testAccuracy));
    assert.equal(summary.promotion.promoted, false);
    assert.match(result.stderr, /registered \(models\/registry\/[0-9a-f]{64}\/.+\.json\), not promoted: accuracy .* is below the promotion floor 50\.00%/);
    assert.match(result.stderr, new RegExp(`fmnist models promote ${summary.runId} --reason`));
    assert.equal(existsSync(join(out, 'champion.json')), false);

    // The same data and config again: --no-cache, or step caching would reuse the first run (in a clean checkout).
    const forced = await fmnist('run', ...args, '--out', join(dir, 'run-forced'), '--promote', 'always', '--no-cache');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /champion of its test set: promotion forced for this run \(promote: "always"\)/);
    const champion = JSON.parse(await readFile(join(dir, 'run-forced', 'champion.json'), 'utf8'));
    assert.equal(champion.runId, JSON.parse(await readFile(join(dir, 'run-forced', 'run.json'), 'utf8')).runId);
    assert.equal(champion.previous, null);
    for (const file of ['execution-events.json', 'model/model.json', 'model/history.json', 'report/classification_report.json', 'report/confusion_matrix.png', 'report/learning_curves.png', 'report/samples.png']) {
      assert.ok(existsSync(join(out, file)), `missing ${file}`);
    }
    const metrics = JSON.parse(await readFile(join(out, 'report', 'metrics.json'), 'utf8'));
    assert.equal(metrics.accuracy, summary.testAccuracy);
  });
});
