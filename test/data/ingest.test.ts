import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { loadSplit, readManifest } from '../../lib/data/dataset.ts';
import { ConfigError, DataValidationError } from '../../lib/errors.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { MANIFEST_FILE } from '../../lib/data/manifest.ts';
import { FIXTURE_LABELS, FIXTURES, HEADER, csvLine, fixturePixels, idxImages, idxLabels, memoryFile } from './helpers.ts';

/** `rows` examples with label (i * 7) % 10 and pixel j = (i + j) % 256, as CSV text. */
function generated(rows: number): { text: string; labels: number[]; pixels: Uint8Array } {
  const labels = Array.from({ length: rows }, (_, i) => (i * 7) % 10);
  const pixels = Uint8Array.from({ length: rows * PIXELS_PER_IMAGE }, (_, k) => (Math.floor(k / PIXELS_PER_IMAGE) + (k % PIXELS_PER_IMAGE)) % 256);
  const lines = labels.map((label, i) => csvLine(label, pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)));
  return { text: [HEADER, ...lines].join('\n') + '\n', labels, pixels };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let root: string;
let n = 0;
/** A fresh, empty parent directory per test, so "nothing left behind" is checkable. */
const freshParent = async () => {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir);
  return dir;
};

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fmnist-ingest-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ingestDataset', () => {
  const train = generated(23);
  const threeRowsPath = join(FIXTURES, 'three-rows.csv');

  it('round trips: CSV -> shards -> loadSplit gives exactly the input bytes', async () => {
    const outDir = join(await freshParent(), 'dataset');
    const manifest = await ingestDataset({
      train: [memoryFile('train.csv', train.text)],
      test: [localFile(threeRowsPath)],
      outDir,
      examplesPerShard: 5,
    });
    const loadedTrain = await loadSplit(outDir, 'train');
    assert.equal(loadedTrain.count, 23);
    assert.deepEqual([...loadedTrain.labels], train.labels);
    assert.deepEqual(loadedTrain.images, train.pixels);
    const loadedTest = await loadSplit(outDir, 'test', manifest);
    assert.deepEqual([...loadedTest.labels], FIXTURE_LABELS);
    assert.deepEqual(loadedTest.images, fixturePixels(3));

    assert.deepEqual(manifest.splits.train.shards.map((s) => [s.file, s.examples]), [
      ['train-00000.bin', 5],
      ['train-00001.bin', 5],
      ['train-00002.bin', 5],
      ['train-00003.bin', 5],
      ['train-00004.bin', 3],
    ]);
    assert.deepEqual((await readdir(outDir)).sort(), [MANIFEST_FILE, 'test-00000.bin', ...manifest.splits.train.shards.map((s) => s.file)].sort());
    for (const shard of manifest.splits.train.shards) {
      const bytes = await readFile(join(outDir, shard.file));
      assert.equal(bytes.length, shard.bytes);
      assert.equal(sha256(bytes), shard.sha256);
    }
    assert.deepEqual(await readManifest(outDir), manifest);
  });

  it('records label histograms that sum to the example counts', async () => {
    const outDir = join(await freshParent(), 'dataset');
    const manifest = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [localFile(threeRowsPath)], outDir });
    const expected = Array.from({ length: 10 }, (_, label) => train.labels.filter((l) => l === label).length);
    assert.deepEqual(manifest.splits.train.labelHistogram, expected);
    assert.equal(manifest.splits.train.labelHistogram.reduce((a, b) => a + b), manifest.splits.train.examples);
    assert.deepEqual(manifest.splits.test.labelHistogram, [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    assert.equal(manifest.splits.test.examples, 3);
  });

  it('names each source with its stored size and sha256', async () => {
    const outDir = join(await freshParent(), 'dataset');
    const gzPath = join(FIXTURES, 'three-rows.csv.gz');
    const manifest = await ingestDataset({ train: [localFile(threeRowsPath), localFile(gzPath)], test: [localFile(threeRowsPath)], outDir });
    const expected = await Promise.all(
      [threeRowsPath, gzPath].map(async (path) => {
        const bytes = await readFile(path);
        return { name: path, bytes: bytes.length, sha256: sha256(bytes) };
      }),
    );
    assert.deepEqual(manifest.splits.train.sources, expected);
    assert.equal(manifest.splits.train.examples, 6);
  });

  it('ingests IDX inputs too', async () => {
    const pixels = fixturePixels(3);
    const outDir = join(await freshParent(), 'dataset');
    await ingestDataset({
      train: [memoryFile('train-images-idx3-ubyte', idxImages(3, pixels)), memoryFile('train-labels-idx1-ubyte', idxLabels(FIXTURE_LABELS))],
      test: [localFile(threeRowsPath)],
      outDir,
    });
    const loaded = await loadSplit(outDir, 'train');
    assert.deepEqual(loaded.images, pixels);
    assert.deepEqual([...loaded.labels], FIXTURE_LABELS);
  });

  it('keeps only the first N examples of each split with a limit', async () => {
    const outDir = join(await freshParent(), 'dataset');
    const manifest = await ingestDataset({
      train: [memoryFile('train.csv', train.text)],
      test: [localFile(threeRowsPath)],
      outDir,
      examplesPerShard: 4,
      limit: { train: 9, test: 2 },
    });
    assert.equal(manifest.splits.train.examples, 9);
    assert.equal(manifest.splits.test.examples, 2);
    const loaded = await loadSplit(outDir, 'train');
    assert.deepEqual([...loaded.labels], train.labels.slice(0, 9));
    assert.deepEqual(loaded.images, train.pixels.subarray(0, 9 * PIXELS_PER_IMAGE));
  });

  it('still validates the part of a file beyond the limit', async () => {
    const parent = await freshParent();
    const bad = `${train.text}1,2,3\n`;
    await assert.rejects(
      ingestDataset({ train: [memoryFile('train.csv', bad)], test: [localFile(threeRowsPath)], outDir: join(parent, 'dataset'), limit: { train: 2 } }),
      (error: unknown) => error instanceof DataValidationError && error.line === 25,
    );
  });

  describe('datasetId', () => {
    const ingestTo = async (trainFile: ReturnType<typeof memoryFile>, limit?: { train?: number }) =>
      ingestDataset({ train: [trainFile], test: [localFile(threeRowsPath)], outDir: join(await freshParent(), 'dataset'), limit });

    it('depends on content, not names', async () => {
      const a = await ingestTo(memoryFile('a.csv', train.text));
      const b = await ingestTo(memoryFile('s3://bucket/raw/b.csv', train.text));
      assert.match(a.datasetId, /^[0-9a-f]{16}$/);
      assert.equal(a.datasetId, b.datasetId);
    });

    it('changes with the content and with the limit', async () => {
      const base = await ingestTo(memoryFile('a.csv', train.text));
      const otherContent = await ingestTo(memoryFile('a.csv', generated(22).text));
      const limited = await ingestTo(memoryFile('a.csv', train.text), { train: 10 });
      assert.notEqual(otherContent.datasetId, base.datasetId);
      assert.notEqual(limited.datasetId, base.datasetId);
    });
  });

  describe('atomicity', () => {
    const badTest = () => memoryFile('test.csv', `${HEADER}\n${csvLine(1, new Uint8Array(PIXELS_PER_IMAGE))}\n${csvLine(12, new Uint8Array(PIXELS_PER_IMAGE))}\n`);

    it('writes nothing when an input is rejected, even after shards were written', async () => {
      const parent = await freshParent();
      const outDir = join(parent, 'dataset');
      await assert.rejects(
        ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [badTest()], outDir, examplesPerShard: 2 }),
        (error: unknown) => error instanceof DataValidationError && error.file === 'test.csv' && error.line === 3 && error.column === '1 (label)',
      );
      assert.deepEqual(await readdir(parent), []);
    });

    it('removes the parent directories it created when it fails', async () => {
      const parent = await freshParent();
      await assert.rejects(ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [badTest()], outDir: join(parent, 'new', 'deeper', 'dataset') }), DataValidationError);
      assert.deepEqual(await readdir(parent), []);
    });

    it('leaves an existing dataset untouched when a new ingest fails', async () => {
      const parent = await freshParent();
      const outDir = join(parent, 'dataset');
      const first = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [localFile(threeRowsPath)], outDir });
      const before = await readFile(join(outDir, MANIFEST_FILE), 'utf8');
      await assert.rejects(ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [badTest()], outDir }), DataValidationError);
      assert.equal(await readFile(join(outDir, MANIFEST_FILE), 'utf8'), before);
      assert.deepEqual(await readdir(parent), ['dataset']);
      assert.equal((await loadSplit(outDir, 'train')).count, first.splits.train.examples);
    });

    it('replaces a dataset with the same id, leaving no old copy', async () => {
      const parent = await freshParent();
      const outDir = join(parent, 'dataset');
      const opts = { train: [memoryFile('train.csv', train.text)], test: [localFile(threeRowsPath)], outDir, examplesPerShard: 10 };
      const first = await ingestDataset(opts);
      const second = await ingestDataset({ ...opts, examplesPerShard: 100 });
      assert.equal(second.datasetId, first.datasetId);
      assert.deepEqual(await readdir(parent), ['dataset']);
      assert.deepEqual((await readdir(outDir)).sort(), [MANIFEST_FILE, 'test-00000.bin', 'train-00000.bin']);
      assert.deepEqual((await loadSplit(outDir, 'train')).images, train.pixels);
    });

    it('refuses to replace a different dataset unless asked to', async () => {
      const parent = await freshParent();
      const outDir = join(parent, 'dataset');
      const first = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [localFile(threeRowsPath)], outDir });
      const other = { train: [memoryFile('other.csv', generated(5).text)], test: [localFile(threeRowsPath)], outDir };
      await assert.rejects(ingestDataset(other), (error: unknown) => error instanceof ConfigError && error.message.includes(first.datasetId));
      assert.equal((await readManifest(outDir)).datasetId, first.datasetId);
      assert.deepEqual(await readdir(parent), ['dataset']);
      const replaced = await ingestDataset({ ...other, replace: true });
      assert.equal((await readManifest(outDir)).datasetId, replaced.datasetId);
      assert.equal((await loadSplit(outDir, 'train')).count, 5);
      assert.deepEqual(await readdir(parent), ['dataset']);
    });

    it('refuses a non-empty directory that is not a dataset, before reading any input', async () => {
      const parent = await freshParent();
      const outDir = join(parent, 'precious');
      await mkdir(outDir);
      await writeFile(join(outDir, 'notes.txt'), 'keep me');
      const input = memoryFile('train.csv', train.text);
      await assert.rejects(ingestDataset({ train: [input], test: [localFile(threeRowsPath)], outDir, replace: true }), ConfigError);
      assert.equal(input.opened, 0);
      assert.deepEqual(await readdir(outDir), ['notes.txt']);
      assert.deepEqual(await readdir(parent), ['precious']);
    });

    it('fills an existing empty directory', async () => {
      const outDir = join(await freshParent(), 'dataset');
      await mkdir(outDir);
      await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [localFile(threeRowsPath)], outDir });
      assert.ok((await stat(join(outDir, MANIFEST_FILE))).isFile());
    });
  });

  it('rejects bad options with a ConfigError', async () => {
    const outDir = join(await freshParent(), 'dataset');
    const files = { train: [localFile(threeRowsPath)], test: [localFile(threeRowsPath)], outDir };
    await assert.rejects(ingestDataset({ ...files, examplesPerShard: 0 }), ConfigError);
    await assert.rejects(ingestDataset({ ...files, limit: { train: 2.5 } }), ConfigError);
    await assert.rejects(ingestDataset({ ...files, test: [] }), ConfigError);
  });
});
