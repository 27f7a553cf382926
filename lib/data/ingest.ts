import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES, IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from './classes.ts';
import type { SourceDigest } from './content.ts';
import { DEFAULT_DATA_CHECK_SETTINGS, dataCheckFindings, driftFindings, enforceDataChecks, type DataCheckSettings, type DriftReference } from './data-check-policy.ts';
import { DataCheckCollector, type DataChecks } from './data-checks.ts';
import { dataDrift } from './data-drift.ts';
import { testSetIdOf } from './test-set-id.ts';
import { datasetIdFor } from './dataset-id.ts';
import { lineageOf } from './lineage.ts';
import { cacheable, type CachedSource, readShardRange, type SourceCache } from './source-cache.ts';
import { ConfigError, DataValidationError } from '../errors.ts';
import { readExamples } from './examples.ts';
import { IngestBudget, type IngestLimits } from './ingest-limits.ts';
import type { InputFile } from './input-file.ts';
import { MANIFEST_FILE, type Manifest, type SplitManifest } from './manifest.ts';
import { createStaging, existingDataset, publish, recoverInterruptedPublish } from './publish-dir.ts';
import { ShardWriter } from './shard-writer.ts';
import type { Split } from './shard.ts';

export interface IngestOptions {
  train: InputFile[];
  test: InputFile[];
  outDir: string;
  /** Default 10,000: about 7.8 MB per shard, which is also the memory the writer holds. */
  examplesPerShard?: number;
  /**
   * Keep only the first N examples of a split (for quick runs). The rest is still read and
   * validated, so the manifest's source checksums describe whole files and a bad file is never
   * half-accepted.
   */
  limit?: { train?: number; test?: number };
  /**
   * Replace a dataset already in `outDir` even if it holds other data. Without it, only a dataset
   * with the same id (same content) is replaced. A non-empty directory without a valid manifest
   * is never replaced.
   */
  replace?: boolean;
  /**
   * What this ingest may take in (ingest-limits.ts: ingestLimitsFor derives them from a
   * function's memory and /tmp), checked while streaming; a rejected input leaves nothing
   * behind, as for any other. None by default.
   */
  limits?: IngestLimits;
  /**
   * The data checks' policy and thresholds (data-check-policy.ts). Default "warn" with the
   * default thresholds: the findings are kept in the manifest's `checks`. With "fail", a finding
   * stops the ingest (a DataCheckError) and nothing is written.
   */
  checks?: DataCheckSettings;
  /**
   * For the drift checks: the figures of the dataset to compare the training split with (the
   * champion of this data's test split, and its manifest's checks), or undefined when there is
   * none. Asked once the data is read, with the test split's id.
   */
  reference?: (testSetId: string) => Promise<{ against: DriftReference; figures: DataChecks } | undefined>;
  /**
   * Whether a dataset is stored already (datasets/<id>/ in the bucket), for the manifest's
   * lineage (lineage.ts): its parent is the longest stored prefix of this dataset's train sources.
   * Without it the parent is null.
   */
  isStored?: (datasetId: string) => Promise<boolean>;
  /**
   * Source files parsed by an earlier ingest (source-cache.ts): found ones are read from there
   * instead of parsed; new ones are offered to it once the dataset passed its checks.
   */
  sourceCache?: SourceCache;
}

/** What an ingest did besides the manifest: how many sources came from the cache. */
export interface IngestStats {
  sourcesFromCache: number;
  sourcesParsed: number;
}

export const DEFAULT_EXAMPLES_PER_SHARD = 10_000;

/**
 * Validates the inputs and writes them as shards plus a manifest into `outDir`, all or nothing:
 * a rejected input leaves the file system as it was.
 */
export async function ingestDataset(opts: IngestOptions): Promise<Manifest> {
  return (await ingestDatasetWithStats(opts)).manifest;
}

/** ingestDataset, also saying how many sources were read from the cache and how many parsed. */
export async function ingestDatasetWithStats(opts: IngestOptions): Promise<{ manifest: Manifest; stats: IngestStats }> {
  const examplesPerShard = opts.examplesPerShard ?? DEFAULT_EXAMPLES_PER_SHARD;
  checkOptions(opts, examplesPerShard);
  // A process killed mid-publish may have left the old dataset aside: put it back first.
  await recoverInterruptedPublish(opts.outDir);
  // Fail before the long read if the output directory is something we must not replace.
  await existingDataset(opts.outDir);

  const budget = new IngestBudget(opts.limits);
  const settings = opts.checks ?? DEFAULT_DATA_CHECK_SETTINGS;
  const staging = await createStaging(opts.outDir);
  try {
    const collector = new DataCheckCollector();
    const sink = { dir: staging.dir, examplesPerShard, budget, collector, cache: opts.sourceCache };
    const trainRead = await ingestSplit('train', opts.train, sink, opts.limit?.train);
    const testRead = await ingestSplit('test', opts.test, sink, opts.limit?.test);
    const { split: train } = trainRead;
    const { split: test } = testRead;
    const figures = collector.finish({ train: train.sources, test: test.sources });
    const findings = dataCheckFindings(figures, settings.thresholds, { train: train.examples, test: test.examples });
    const reference = await opts.reference?.(testSetIdOf({ splits: { train, test } }));
    const drift = reference ? { against: reference.against, ...dataDrift(reference.figures, figures, 'train') } : undefined;
    if (drift) findings.push(...driftFindings(drift, drift.against, settings.thresholds));
    enforceDataChecks(findings, settings.policy);
    const lineage = await lineageOf({ train: train.sources, test: test.sources, limit: opts.limit }, opts.isStored);
    const manifest: Manifest = {
      formatVersion: 1,
      datasetId: datasetIdFor({ train: train.sources, test: test.sources, limit: opts.limit }),
      createdAt: new Date().toISOString(),
      imageShape: [IMAGE_HEIGHT, IMAGE_WIDTH, 1] as [28, 28, 1],
      classNames: [...CLASS_NAMES],
      splits: { train, test },
      checks: { figures, policy: settings.policy, thresholds: settings.thresholds, findings, ...(drift ? { drift } : {}) },
      lineage,
    };
    // Offered only now: a source of a dataset its checks refused is not kept.
    for (const read of [trainRead, testRead]) await keepParsedSources(opts.sourceCache, staging.dir, read);
    await writeFile(join(staging.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(staging.dir, opts.outDir, manifest.datasetId, opts.replace ?? false);
    staging.published();
    const stats = { sourcesFromCache: trainRead.fromCache + testRead.fromCache, sourcesParsed: trainRead.parsed.length + testRead.parsed.length };
    return { manifest, stats };
  } catch (error) {
    await staging.discard();
    throw error;
  }
}

function checkOptions(opts: IngestOptions, examplesPerShard: number): void {
  for (const split of ['train', 'test'] as const) {
    if (!Array.isArray(opts[split]) || opts[split].length === 0) throw new ConfigError(`no ${split} input files given`);
    const limit = opts.limit?.[split];
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new ConfigError(`limit.${split} must be a whole number >= 1, got ${limit}`);
    }
  }
  if (!Number.isSafeInteger(examplesPerShard) || examplesPerShard < 1) {
    throw new ConfigError(`examplesPerShard must be a whole number >= 1, got ${examplesPerShard}`);
  }
  if (!opts.outDir) throw new ConfigError('no output directory given');
}

interface SplitSink {
  dir: string;
  examplesPerShard: number;
  budget: IngestBudget;
  collector: DataCheckCollector;
  cache?: SourceCache;
}

/** A source parsed now: where its examples are in the split, for the cache. */
interface ParsedSource {
  file: InputFile;
  /** Its position among the split's sources. */
  index: number;
  start: number;
  examples: number;
  /** Whether every example of the file is in the split (a limit may cut it). */
  whole: boolean;
}

interface SplitRead {
  split: SplitManifest;
  parsed: ParsedSource[];
  fromCache: number;
}

/**
 * The split's inputs as runs read one way: a cached source alone, consecutive parsed ones
 * together (so IDX images and labels stay side by side, as readExamples pairs them).
 */
function segments(files: InputFile[], cached: Map<InputFile, CachedSource>): { files: InputFile[]; cached?: CachedSource }[] {
  const runs: { files: InputFile[]; cached?: CachedSource }[] = [];
  for (const file of files) {
    const hit = cached.get(file);
    const last = runs[runs.length - 1];
    if (hit) runs.push({ files: [file], cached: hit });
    else if (last && !last.cached) last.files.push(file);
    else runs.push({ files: [file] });
  }
  return runs;
}

async function ingestSplit(split: Split, files: InputFile[], sink: SplitSink, limit = Infinity): Promise<SplitRead> {
  const { dir, examplesPerShard, budget, collector } = sink;
  const digests = new Map<InputFile, SourceDigest>();
  const read = new Map<InputFile, number>();
  const taken = new Map<InputFile, number>();
  const cached = new Map<InputFile, CachedSource>();
  if (sink.cache && cacheable(files)) {
    for (const file of files) {
      const hit = await sink.cache.find(file);
      if (hit) cached.set(file, hit);
    }
  }
  const labelHistogram = new Array<number>(NUM_CLASSES).fill(0);
  const writer = new ShardWriter(dir, split, examplesPerShard);
  let examples = 0;
  const options = { onSource: (file: InputFile, digest: SourceDigest) => digests.set(file, digest), budget };
  for (const segment of segments(files, cached)) {
    const batches = segment.cached ? segment.cached.read() : readExamples(segment.files, options);
    for await (const batch of batches) {
      // Inputs are read in order and reported when done: the batch is from the first one not reported yet.
      const file = segment.cached ? segment.files[0] : (segment.files.find((candidate) => !digests.has(candidate)) ?? segment.files[segment.files.length - 1]);
      read.set(file, (read.get(file) ?? 0) + batch.count);
      const take = Math.min(batch.count, limit - examples);
      if (take <= 0) continue;
      budget.addExamples(file.name, take);
      for (let i = 0; i < take; i++) labelHistogram[batch.labels[i]]++;
      collector.add(split, batch.labels, batch.pixels, take);
      await writer.add(batch, take);
      taken.set(file, (taken.get(file) ?? 0) + take);
      examples += take;
    }
    if (segment.cached) digests.set(segment.files[0], segment.cached.digest);
  }
  if (examples === 0) throw new DataValidationError(files.map((file) => file.name).join(', '), `no ${split} examples`);
  const shards = await writer.finish();
  const sources = files.map((file) => ({ name: file.name, ...digests.get(file)! }));
  const parsed: ParsedSource[] = [];
  let start = 0;
  files.forEach((file, index) => {
    const n = taken.get(file) ?? 0;
    if (!cached.has(file)) parsed.push({ file, index, start, examples: n, whole: n === (read.get(file) ?? 0) && n > 0 });
    start += n;
  });
  return { split: { examples, labelHistogram, sources, shards }, parsed, fromCache: cached.size };
}

/** Offers the cache the sources parsed now that are whole in the split, read back from its shards. */
async function keepParsedSources(cache: SourceCache | undefined, dir: string, read: SplitRead): Promise<void> {
  if (!cache || !cacheable(read.parsed.map((source) => source.file))) return;
  for (const source of read.parsed) {
    if (!source.whole) continue;
    const digest = read.split.sources[source.index];
    await cache.keep(source.file, {
      digest: { bytes: digest.bytes, sha256: digest.sha256 },
      examples: source.examples,
      read: () => readShardRange(dir, read.split.shards, source.start, source.examples),
    });
  }
}
