import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES, IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from './classes.ts';
import type { SourceDigest } from './content.ts';
import { DEFAULT_DATA_CHECK_SETTINGS, dataCheckFindings, driftFindings, enforceDataChecks, type DataCheckSettings, type DriftReference } from './data-check-policy.ts';
import { DataCheckCollector, type DataChecks } from './data-checks.ts';
import { dataDrift } from './data-drift.ts';
import { testSetIdOf } from './test-set-id.ts';
import { datasetIdFor } from './dataset-id.ts';
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
}

export const DEFAULT_EXAMPLES_PER_SHARD = 10_000;

/**
 * Validates the inputs and writes them as shards plus a manifest into `outDir`, all or nothing:
 * a rejected input leaves the file system as it was.
 */
export async function ingestDataset(opts: IngestOptions): Promise<Manifest> {
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
    const train = await ingestSplit('train', opts.train, { dir: staging.dir, examplesPerShard, budget, collector }, opts.limit?.train);
    const test = await ingestSplit('test', opts.test, { dir: staging.dir, examplesPerShard, budget, collector }, opts.limit?.test);
    const figures = collector.finish({ train: train.sources, test: test.sources });
    const findings = dataCheckFindings(figures, settings.thresholds, { train: train.examples, test: test.examples });
    const reference = await opts.reference?.(testSetIdOf({ splits: { train, test } }));
    const drift = reference ? { against: reference.against, ...dataDrift(reference.figures, figures, 'train') } : undefined;
    if (drift) findings.push(...driftFindings(drift, drift.against, settings.thresholds));
    enforceDataChecks(findings, settings.policy);
    const manifest: Manifest = {
      formatVersion: 1,
      datasetId: datasetIdFor({ train: train.sources, test: test.sources, limit: opts.limit }),
      createdAt: new Date().toISOString(),
      imageShape: [IMAGE_HEIGHT, IMAGE_WIDTH, 1] as [28, 28, 1],
      classNames: [...CLASS_NAMES],
      splits: { train, test },
      checks: { figures, policy: settings.policy, thresholds: settings.thresholds, findings, ...(drift ? { drift } : {}) },
    };
    await writeFile(join(staging.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(staging.dir, opts.outDir, manifest.datasetId, opts.replace ?? false);
    staging.published();
    return manifest;
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
}

async function ingestSplit(split: Split, files: InputFile[], sink: SplitSink, limit = Infinity): Promise<SplitManifest> {
  const { dir, examplesPerShard, budget, collector } = sink;
  const digests = new Map<InputFile, SourceDigest>();
  const labelHistogram = new Array<number>(NUM_CLASSES).fill(0);
  const writer = new ShardWriter(dir, split, examplesPerShard);
  let examples = 0;
  const options = { onSource: (file: InputFile, digest: SourceDigest) => digests.set(file, digest), budget };
  for await (const batch of readExamples(files, options)) {
    const take = Math.min(batch.count, limit - examples);
    if (take <= 0) continue;
    // Inputs are read in order and reported when done: the batch is from the first one not reported yet.
    budget.addExamples((files.find((file) => !digests.has(file)) ?? files[files.length - 1]).name, take);
    for (let i = 0; i < take; i++) labelHistogram[batch.labels[i]]++;
    collector.add(split, batch.labels, batch.pixels, take);
    await writer.add(batch, take);
    examples += take;
  }
  if (examples === 0) throw new DataValidationError(files.map((file) => file.name).join(', '), `no ${split} examples`);
  const shards = await writer.finish();
  const sources = files.map((file) => ({ name: file.name, ...digests.get(file)! }));
  return { examples, labelHistogram, sources, shards };
}
