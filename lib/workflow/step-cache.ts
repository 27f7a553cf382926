import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { listObjects } from '../aws/s3-list.ts';
import { getJsonWith, putJson, s3Url } from '../aws/s3.ts';
import { ConfigError } from '../errors.ts';
import { fetchPinnedFiles } from './champion-store.ts';
import { REPORT_FILES } from './files.ts';
import { modelVersionKey, stepCacheKey } from './layout.ts';
import { ModelVersion } from './registry/model-version.ts';
import { RunId } from './run-id.ts';
import { TestSetId } from './ids.ts';

/**
 * Step caching: training here is deterministic (seeded shuffling, initialisation and dropout),
 * so a run that completed with the same dataset (content-derived id), the same fully resolved
 * training config and the same code version would train the same model again. Such a run is
 * recorded by Promote once it is registered (models/step-cache/<key>.json, `recordCompletedRun`),
 * and a later execution with the same key skips training and evaluation (`findReusableRun`,
 * asked by Ingest, where the dataset id becomes known): the execution's output says
 * `reusedRun: <runId>`. SageMaker Pipelines calls this step caching.
 *
 * Reused only when still intact: the run's registry record names the same dataset, config and
 * code version, its model files are the pinned ones (version id and sha256, as for a champion)
 * and its report is complete. A code version that cannot name the code exactly ("unknown", or a
 * checkout with uncommitted changes: ".dirty") is never cached. `"cache": false` in the execution
 * input (`--no-cache`) forces a retrain; a resumed run never reuses another.
 */
export const StepCacheEntry = z.strictObject({
  runId: RunId,
  testSetId: TestSetId,
  datasetId: z.string().min(1),
  codeVersion: z.string().min(1),
  recordedAt: z.iso.datetime(),
});
export type StepCacheEntry = z.infer<typeof StepCacheEntry>;

export interface StepCacheInputs {
  datasetId: string;
  /** The fully resolved training config (parseTrainConfig's output, as training.json records it). */
  config: Record<string, unknown>;
  codeVersion: string;
}

/** Whether a code version names its code exactly (a release or a clean commit). */
export function isCacheableCodeVersion(codeVersion: string): boolean {
  return codeVersion !== '' && codeVersion !== 'unknown' && !codeVersion.endsWith('.dirty');
}

/** JSON with object keys sorted, so the same config gives the same key whatever its key order. */
function canonicalJson(value: unknown): string {
  const sorted = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sorted);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.keys(item).sort().map((key) => [key, sorted((item as Record<string, unknown>)[key])]));
    }
    return item;
  };
  return JSON.stringify(sorted(value));
}

export function stepCacheKeyOf({ datasetId, config, codeVersion }: StepCacheInputs): string {
  return createHash('sha256').update(canonicalJson(['fmnist-step-cache-v1', datasetId, config, codeVersion])).digest('hex');
}

/** Records a registered run as the result for its key (Promote, after registering it); a later run with the same key replaces it. */
export async function recordCompletedRun(s3: S3Client, bucket: string, version: ModelVersion, now: Date): Promise<string | undefined> {
  if (!isCacheableCodeVersion(version.codeVersion)) return undefined;
  const key = stepCacheKey(stepCacheKeyOf({ datasetId: version.datasetId, config: version.training.config, codeVersion: version.codeVersion }));
  const entry: StepCacheEntry = { runId: version.runId, testSetId: version.testSetId, datasetId: version.datasetId, codeVersion: version.codeVersion, recordedAt: now.toISOString() };
  await putJson(s3, { bucket, key }, entry);
  return key;
}

export type CacheLookup = { runId: string; reason: string } | { runId: null; reason: string };

/** The completed run an execution with these inputs may reuse instead of training, or why there is none. */
export async function findReusableRun(s3: S3Client, bucket: string, inputs: StepCacheInputs): Promise<CacheLookup> {
  if (!isCacheableCodeVersion(inputs.codeVersion)) return { runId: null, reason: `code version "${inputs.codeVersion}" does not name its code exactly: not cached` };
  const entryKey = stepCacheKey(stepCacheKeyOf(inputs));
  const entry = await getJsonWith(s3, { bucket, key: entryKey }, StepCacheEntry);
  if (!entry) return { runId: null, reason: 'no completed run with this dataset, config and code version' };
  const versionKey = modelVersionKey(entry.testSetId, entry.runId);
  const version = await getJsonWith(s3, { bucket, key: versionKey }, ModelVersion);
  const why = (problem: string): CacheLookup => ({ runId: null, reason: `run ${entry.runId} is not reused: ${problem}` });
  if (!version) return why(`its registry record ${s3Url({ bucket, key: versionKey })} is missing`);
  if (version.datasetId !== inputs.datasetId || version.codeVersion !== inputs.codeVersion || canonicalJson(version.training.config) !== canonicalJson(inputs.config)) {
    return why('its registry record names another dataset, config or code version');
  }
  try {
    await fetchPinnedFiles(s3, bucket, { owner: `run ${version.runId}`, record: 'registry record' }, version.model.prefix, version.model.files);
  } catch (error) {
    if (error instanceof ConfigError) return why((error as Error).message);
    throw error;
  }
  const listed = new Set<string>();
  for await (const object of listObjects(s3, bucket, version.reportPrefix)) listed.add(object.key.slice(version.reportPrefix.length));
  const missing = Object.values(REPORT_FILES).filter((file) => !listed.has(file));
  if (missing.length > 0) return why(`its report lacks ${missing.join(', ')} (${s3Url({ bucket, key: version.reportPrefix })})`);
  return { runId: version.runId, reason: `run ${version.runId} completed with the same dataset, config and code version (${version.codeVersion})` };
}
