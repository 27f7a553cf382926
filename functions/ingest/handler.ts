import { join } from 'node:path';
import { ingestDatasetWithStats } from '../../lib/data/ingest.ts';
import { s3SourceCache } from '../../lib/aws/s3-source-cache.ts';
import { MANIFEST_FILE, parseManifest } from '../../lib/data/manifest.ts';
import type { DriftReference } from '../../lib/data/data-check-policy.ts';
import type { DataChecks } from '../../lib/data/data-checks.ts';
import { readChampion } from '../../lib/workflow/champion-store.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { testSetIdOf } from '../../lib/data/test-set-id.ts';
import { loadSplit } from '../../lib/data/dataset.ts';
import { DATASET_SUMMARY_MESSAGE, summarize } from '../../lib/data/summary.ts';
import { DATA_CHECKS_MESSAGE } from '../../lib/data/data-checks-summary.ts';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { MetricUnit, publishMetrics } from '../../lib/aws/metrics.ts';
import { runtimeResources } from '../../lib/aws/runtime-env.ts';
import { getObjectVersion, objectExists, s3InputFile, s3Url, uploadDirectory } from '../../lib/aws/s3.ts';
import { DataValidationError } from '../../lib/errors.ts';
import { checkStoredDataset } from '../../lib/workflow/stored-dataset.ts';
import { ingestLimitsFor } from '../../lib/data/ingest-limits.ts';
import { ingestEventSchema, parseEvent, type IngestResult } from '../../lib/workflow/events.ts';
import { datasetPrefix } from '../../lib/workflow/layout.ts';
import { withScratchDir } from '../../lib/workflow/scratch.ts';
import { findReusableRun } from '../../lib/workflow/step-cache.ts';
import { ENV } from '../../lib/env.ts';

/**
 * Streams the raw CSVs from S3 through validation into shards in /tmp, then uploads the shards
 * and, last, the manifest. A dataset already in the bucket (same content, same id) is reused if it
 * is intact (lib/workflow/stored-dataset.ts); a damaged one is written again.
 * Source keys must be under raw/ of its own bucket (lib/workflow/keys.ts); what it takes in is
 * capped by its memory and /tmp (lib/data/ingest-limits.ts). The data checks run on the way in
 * (lib/data/data-checks.ts); under the policy "fail" a finding fails this state, before training.
 */
/**
 * The dataset of the champion of a test split, for the drift checks: its manifest's figures, or
 * undefined when the split has no champion or its dataset's manifest has none (ingested before
 * the checks existed).
 */
async function championDataset(s3: S3Client, bucket: string, testSetId: string): Promise<{ against: DriftReference; figures: DataChecks } | undefined> {
  const { champion } = await readChampion(s3, bucket, testSetId);
  if (!champion) return undefined;
  const location = { bucket, key: datasetPrefix(champion.datasetId) + MANIFEST_FILE };
  const stored = await getObjectVersion(s3, location);
  if (stored === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(stored.bytes.toString('utf8'));
  } catch (error) {
    throw new DataValidationError(s3Url(location), `the champion's dataset manifest is not valid JSON (${(error as Error).message})`);
  }
  const manifest = parseManifest(json, s3Url(location));
  return manifest.checks ? { against: { runId: champion.runId, datasetId: champion.datasetId }, figures: manifest.checks.figures } : undefined;
}

export function createIngestHandler(deps: HandlerDeps & { env?: NodeJS.ProcessEnv } = {}) {
  const env = deps.env ?? process.env;
  const resolve = handlerDeps(deps, 'fmnist-ingest', env);
  const codeVersion = env[ENV.codeVersion] || 'unknown';
  return async (event: unknown): Promise<IngestResult> => {
    const { s3, bucket, logger, metrics } = resolve();
    const input = parseEvent(ingestEventSchema(bucket), event, 'ingest');
    const limits = ingestLimitsFor(runtimeResources(process.env));
    const files = (keys: string[]) => keys.map((key) => s3InputFile(s3, { bucket, key }));
    return withScratchDir('ingest', async (scratch) => {
      const outDir = join(scratch, 'dataset');
      const { manifest, stats } = await ingestDatasetWithStats({
        train: files(input.train),
        test: files(input.test),
        outDir,
        limit: input.limit ? { train: input.limit, test: input.limit } : undefined,
        limits,
        checks: input.dataChecks,
        reference: (testSetId) => championDataset(s3, bucket, testSetId),
        isStored: (datasetId) => objectExists(s3, { bucket, key: datasetPrefix(datasetId) + MANIFEST_FILE }),
        sourceCache: s3SourceCache(s3, bucket),
      });
      // The walkthrough's head() / label.unique() check, in the logs where a user looks first.
      for (const split of ['train', 'test'] as const) {
        logger.info(DATASET_SUMMARY_MESSAGE, { split, summary: summarize(await loadSplit(outDir, split, manifest)) });
      }
      // Under "fail" a finding has already stopped the ingest; under "warn" it is a warning here.
      const checks = manifest.checks!;
      if (checks.findings.length > 0) logger.warn(DATA_CHECKS_MESSAGE, { checks });
      else logger.info(DATA_CHECKS_MESSAGE, { checks });
      const prefix = datasetPrefix(manifest.datasetId);
      const stored = await checkStoredDataset(s3, bucket, prefix, outDir, manifest);
      if (stored.state === 'damaged') logger.warn('the stored dataset is damaged: writing it again', { datasetId: manifest.datasetId, problem: stored.problem });
      const reused = stored.state === 'intact';
      if (!reused) await uploadDirectory(s3, outDir, { bucket, key: prefix }, [MANIFEST_FILE]);
      const cache = input.reuse
        ? await findReusableRun(s3, bucket, { datasetId: manifest.datasetId, config: input.reuse.config, codeVersion })
        : { runId: null, reason: 'cache: false (or a resumed run): training' };
      logger.info(cache.runId ? 'reusing a completed run' : 'no completed run to reuse', { datasetId: manifest.datasetId, ...cache });
      const summary = (split: 'train' | 'test') => ({
        examples: manifest.splits[split].examples,
        labelHistogram: manifest.splits[split].labelHistogram,
      });
      publishMetrics(metrics, {
        TrainExamples: { unit: MetricUnit.Count, value: manifest.splits.train.examples },
        TestExamples: { unit: MetricUnit.Count, value: manifest.splits.test.examples },
      });
      logger.info('dataset ingested', {
        datasetId: manifest.datasetId,
        reused,
        train: summary('train'),
        test: summary('test'),
        parent: manifest.lineage?.parent ?? null,
        ...stats,
      });
      return {
        datasetId: manifest.datasetId,
        datasetPrefix: prefix,
        testSetId: testSetIdOf(manifest),
        reused,
        parent: manifest.lineage?.parent ?? null,
        sourcesFromCache: stats.sourcesFromCache,
        reusedRun: cache.runId,
        train: summary('train'),
        test: summary('test'),
      };
    });
  };
}

export const handler = createIngestHandler();
