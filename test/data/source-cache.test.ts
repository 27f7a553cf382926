import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ExampleBatch } from '../../lib/data/batch.ts';
import { datasetIdFor } from '../../lib/data/dataset-id.ts';
import { ingestDatasetWithStats } from '../../lib/data/ingest.ts';
import { localFile, type InputFile } from '../../lib/data/input-file.ts';
import { parentCandidates } from '../../lib/data/lineage.ts';
import { parseManifest, type Manifest } from '../../lib/data/manifest.ts';
import type { SourceCache } from '../../lib/data/source-cache.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';

/**
 * Data that grows: an ingest of N + 1 files reads the N it has seen from the source cache and
 * parses only the new one, and what it writes is byte for byte what a fresh ingest writes. The
 * cache here is a Map (the bucket's is lib/aws/s3-source-cache.ts); which files were parsed is
 * told by which were opened.
 */
let dir: string;
const files: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-source-cache-'));
  // Row counts that do not fill a shard (examplesPerShard 64 below), so kept sources span shard edges.
  for (const [name, rows, seed] of [['a', 50, 1], ['b', 70, 2], ['c', 45, 3], ['test', 30, 4]] as const) {
    files[name] = join(dir, `${name}.csv`);
    await writeFile(files[name], syntheticKaggleCsv(rows, seed).text);
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** Local files that count their opens. */
function counted(opened: string[], path: string): InputFile {
  const file = localFile(path);
  return { name: file.name, open: () => (opened.push(path), file.open()) };
}

async function collect(batches: AsyncIterable<ExampleBatch>): Promise<ExampleBatch[]> {
  const out: ExampleBatch[] = [];
  for await (const batch of batches) out.push({ labels: batch.labels.slice(), pixels: batch.pixels.slice(), count: batch.count });
  return out;
}

function memoryCache(): SourceCache & { kept: Map<string, { digest: { bytes: number; sha256: string }; examples: number; batches: ExampleBatch[] }> } {
  const kept = new Map<string, { digest: { bytes: number; sha256: string }; examples: number; batches: ExampleBatch[] }>();
  return {
    kept,
    async find(file) {
      const hit = kept.get(file.name);
      return hit && { digest: hit.digest, examples: hit.examples, read: async function* () { yield* hit.batches; } };
    },
    async keep(file, source) {
      kept.set(file.name, { digest: source.digest, examples: source.examples, batches: await collect(source.read()) });
    },
  };
}

async function ingest(names: string[], out: string, cache?: SourceCache, opened: string[] = []) {
  return ingestDatasetWithStats({
    train: names.map((name) => counted(opened, files[name])),
    test: [counted(opened, files.test)],
    outDir: join(dir, out),
    examplesPerShard: 64,
    sourceCache: cache,
  });
}

const withoutTime = (manifest: Manifest) => ({ ...manifest, createdAt: undefined });

describe('ingest of data that grows', () => {
  test('N + 1 files parse only the new one; the shards and manifest equal a fresh ingest', async () => {
    const cache = memoryCache();
    await ingest(['a', 'b'], 'first', cache);
    assert.deepEqual([...cache.kept.keys()].sort(), [files.a, files.b, files.test].sort(), 'every whole source is kept');

    const opened: string[] = [];
    const grown = await ingest(['a', 'b', 'c'], 'grown', cache, opened);
    // readExamples opens a file twice (its format, then its examples): distinct paths count.
    assert.deepEqual([...new Set(opened)], [files.c], 'a, b and the test file come from the cache');
    assert.deepEqual(grown.stats, { sourcesFromCache: 3, sourcesParsed: 1 });

    const fresh = await ingest(['a', 'b', 'c'], 'fresh');
    assert.equal(fresh.stats.sourcesFromCache, 0);
    assert.deepEqual(withoutTime(grown.manifest), withoutTime(fresh.manifest));
    for (const split of ['train', 'test'] as const) {
      for (const shard of fresh.manifest.splits[split].shards) {
        const [a, b] = await Promise.all([readFile(join(dir, 'grown', shard.file)), readFile(join(dir, 'fresh', shard.file))]);
        assert.ok(a.equals(b), `${shard.file} differs from a fresh ingest's`);
      }
    }
  });

  test('a cache giving other examples shows against a fresh ingest (the comparison above can fail)', async () => {
    const cache = memoryCache();
    await ingest(['a'], 'lie-1', cache);
    const entry = cache.kept.get(files.a)!;
    entry.batches = entry.batches.map((batch) => ({ ...batch, pixels: batch.pixels.map((value) => 255 - value) }));
    const lied = await ingest(['a'], 'lie-2', cache);
    const fresh = await ingest(['a'], 'lie-3');
    const file = fresh.manifest.splits.train.shards[0].file;
    assert.notDeepEqual(await readFile(join(dir, 'lie-2', file)), await readFile(join(dir, 'lie-3', file)));
    assert.equal(lied.stats.sourcesFromCache, 2);
  });

  test('a limit that cuts a source keeps only the whole ones', async () => {
    const cache = memoryCache();
    await ingestDatasetWithStats({
      train: [localFile(files.a), localFile(files.b)],
      test: [localFile(files.test)],
      outDir: join(dir, 'limited'),
      examplesPerShard: 64,
      limit: { train: 60 },
      sourceCache: cache,
    });
    assert.ok(cache.kept.has(files.a));
    assert.ok(!cache.kept.has(files.b), 'b is cut by the limit');
  });
});

describe('lineage', () => {
  test('the parent is the longest stored train prefix with the same test set; uploads in order', async () => {
    const first = await ingest(['a'], 'lineage-1');
    assert.deepEqual(first.manifest.lineage?.parent, null);
    const stored = new Set([first.manifest.datasetId]);
    const second = await ingestDatasetWithStats({
      train: [localFile(files.a), localFile(files.b), localFile(files.c)],
      test: [localFile(files.test)],
      outDir: join(dir, 'lineage-2'),
      isStored: async (id) => stored.has(id),
    });
    const sources = second.manifest.splits.train.sources;
    // Independent of lineage.ts: a's dataset id as dataset-id.ts gives it.
    const aOnly = datasetIdFor({ train: [sources[0]], test: second.manifest.splits.test.sources });
    assert.equal(aOnly, first.manifest.datasetId);
    assert.deepEqual(second.manifest.lineage, {
      parent: first.manifest.datasetId,
      fromParent: 1,
      uploads: [
        ...sources.map((source) => ({ split: 'train', name: source.name, sha256: source.sha256 })),
        { split: 'test', name: files.test, sha256: second.manifest.splits.test.sources[0].sha256 },
      ],
    });
    // The longer prefix wins when both are stored.
    stored.add(datasetIdFor({ train: sources.slice(0, 2), test: second.manifest.splits.test.sources }));
    assert.deepEqual(parentCandidates({ train: sources, test: second.manifest.splits.test.sources }).map((c) => c.fromParent), [2, 1]);
    const third = await ingestDatasetWithStats({
      train: [localFile(files.a), localFile(files.b), localFile(files.c)],
      test: [localFile(files.test)],
      outDir: join(dir, 'lineage-3'),
      isStored: async (id) => stored.has(id),
    });
    assert.equal(third.manifest.lineage?.fromParent, 2);
    assert.equal(third.manifest.datasetId, second.manifest.datasetId, 'same files, same id, whatever the lineage');
  });

  test('older manifests without lineage still read; a bad lineage names the field', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'lineage-2', 'manifest.json'), 'utf8'));
    const { lineage: _lineage, ...older } = manifest;
    assert.equal(parseManifest(older, 'old.json').lineage, undefined);
    assert.throws(() => parseManifest({ ...manifest, lineage: { ...manifest.lineage, parent: 'nope' } }, 'bad.json'), /bad\.json.*lineage\.parent/);
  });
});
