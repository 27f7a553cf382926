import type { S3Client } from '@aws-sdk/client-s3';
import { getJsonWith, listObjects, putObjectOnce, s3Url } from '../../aws/s3.ts';
import { ConfigError } from '../../errors.ts';
import { championHistoryPrefix, CHAMPIONS_PREFIX, modelVersionKey, REGISTRY_PREFIX } from '../layout.ts';
import { Champion } from '../promotion.ts';
import { ModelVersion } from './model-version.ts';

/**
 * Reading and writing the registry's records: model versions (write-once), the champion history
 * (write-once, one record per change) and the list of champions. Every record read is validated
 * and names its object when it does not fit.
 */

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

const readRecord = <S extends typeof ModelVersion | typeof Champion>(s3: S3Client, bucket: string, key: string, schema: S) =>
  getJsonWith(s3, { bucket, key }, schema) as Promise<ReturnType<S['parse']> | undefined>;

/**
 * Registers a model version, once: a retried Promote finds its own record (same run, same pinned
 * files) and goes on; a different record under the key is refused, and nothing is replaced.
 */
export async function registerModelVersion(s3: S3Client, bucket: string, version: ModelVersion): Promise<ModelVersion> {
  const key = modelVersionKey(version.testSetId, version.runId);
  const stored = await readRecord(s3, bucket, key, ModelVersion);
  if (stored) {
    if (JSON.stringify(stored.model.files) !== JSON.stringify(version.model.files)) {
      throw new ConfigError(`${s3Url({ bucket, key })} registers other model files for run ${version.runId}: the registry is write-once`);
    }
    return stored;
  }
  await putObjectOnce(s3, { bucket, key }, json(version), 'application/json');
  return version;
}

/** Every registered model version (of one test split when `testSetId` is given), oldest first. */
export async function listModelVersions(s3: S3Client, bucket: string, testSetId?: string): Promise<ModelVersion[]> {
  const versions: ModelVersion[] = [];
  for await (const object of listObjects(s3, bucket, testSetId ? `${REGISTRY_PREFIX}${testSetId}/` : REGISTRY_PREFIX)) {
    if (!object.key.endsWith('.json')) continue;
    const version = await readRecord(s3, bucket, object.key, ModelVersion);
    if (version) versions.push(version);
  }
  return versions.sort((a, b) => a.registeredAt.localeCompare(b.registeredAt) || a.runId.localeCompare(b.runId));
}

/** The model version of `runId`, whatever test split it was judged on; a ConfigError naming the run when none. */
export async function findModelVersion(s3: S3Client, bucket: string, runId: string): Promise<ModelVersion> {
  for await (const object of listObjects(s3, bucket, REGISTRY_PREFIX)) {
    if (!object.key.endsWith(`/${runId}.json`)) continue;
    const version = await readRecord(s3, bucket, object.key, ModelVersion);
    if (version) return version;
  }
  throw new ConfigError(`no model of run ${runId} in the registry (s3://${bucket}/${REGISTRY_PREFIX}): a run is registered when its Promote step runs`);
}

/** The champion of every test split that has one. */
export async function listChampions(s3: S3Client, bucket: string): Promise<Champion[]> {
  const champions: Champion[] = [];
  for await (const object of listObjects(s3, bucket, CHAMPIONS_PREFIX)) {
    // models/champions/<testSetId>.json only: nothing deeper is a champion.
    if (!/^[0-9a-f]{64}\.json$/.test(object.key.slice(CHAMPIONS_PREFIX.length))) continue;
    const champion = await readRecord(s3, bucket, object.key, Champion);
    if (champion) champions.push(champion);
  }
  return champions;
}

/** `2026-12-02T21:45:12.345Z` -> `20261202T214512345Z`: keys that sort in time order. */
const compactTime = (iso: string) => iso.replace(/[-:.]/g, '');

export const championHistoryKey = (champion: Champion) =>
  `${championHistoryPrefix(champion.testSetId)}${compactTime(champion.promotedAt)}-${champion.runId}.json`;

/**
 * Files a champion record in its test split's history (write-once; the same record again is a
 * retry and passes). Called after each change, and again for the current champion before each
 * decision, so a change whose history write was lost (the step died in between) is filed by the
 * next one, and champions from before the history existed are filed too.
 */
export async function fileChampionHistory(s3: S3Client, bucket: string, champion: Champion): Promise<void> {
  await putObjectOnce(s3, { bucket, key: championHistoryKey(champion) }, json(champion), 'application/json');
}

/** A test split's champion records, oldest first. */
export async function championHistory(s3: S3Client, bucket: string, testSetId: string): Promise<Champion[]> {
  const records: Champion[] = [];
  for await (const object of listObjects(s3, bucket, championHistoryPrefix(testSetId))) {
    const record = await readRecord(s3, bucket, object.key, Champion);
    if (record) records.push(record);
  }
  return records.sort((a, b) => a.promotedAt.localeCompare(b.promotedAt));
}
