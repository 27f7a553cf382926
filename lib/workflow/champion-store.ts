import type { S3Client } from '@aws-sdk/client-s3';
import { getObjectVersion, s3Url, sha256Hex as sha256Of } from '../aws/s3.ts';
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../validation.ts';
import { CHAMPION_FILES, Champion, championKey, type ModelSha256, type PinnedFiles } from './promotion.ts';

/**
 * Reading champions and the model files they pin. Every consumer of a champion's model goes
 * through fetchChampionFiles, which fetches the pinned versions and checks their sha256.
 */

/** The champion of a test split with the ETag it was read at; etag null when there is none. */
export interface StoredChampion {
  champion: Champion | undefined;
  etag: string | null;
}

/** models/champions/<testSetId>.json; a malformed record fails (never silently replaced). */
export async function readChampion(s3: S3Client, bucket: string, testSetId: string): Promise<StoredChampion> {
  const location = { bucket, key: championKey(testSetId) };
  const stored = await getObjectVersion(s3, location);
  if (stored === undefined) return { champion: undefined, etag: null };
  return { champion: parseChampion(stored.bytes, s3Url(location)), etag: stored.etag };
}

export function parseChampion(bytes: Buffer | string, where: string): Champion {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch (error) {
    throw new ConfigError(`${where} is malformed: not JSON: ${(error as Error).message}`);
  }
  const parsed = Champion.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${where} is malformed: ${formatIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}

/**
 * The version ids and sha256 of a candidate's model files, read from the bucket, checked against
 * what the evaluate step evaluated (`evaluated`): a file changed since is refused, naming the
 * file and both hashes, so a champion always pins the model whose metrics it carries.
 */
export async function pinModelFiles(s3: S3Client, bucket: string, modelPrefix: string, evaluated: ModelSha256): Promise<PinnedFiles> {
  const files = {} as PinnedFiles;
  for (const name of CHAMPION_FILES) {
    const location = { bucket, key: modelPrefix + name };
    const stored = await getObjectVersion(s3, location);
    if (stored === undefined) throw new ConfigError(`cannot promote: ${s3Url(location)} does not exist`);
    const sha256 = sha256Of(stored.bytes);
    if (sha256 !== evaluated[name]) {
      throw new ConfigError(`${s3Url(location)}: sha256 ${sha256} is not the evaluated model's ${evaluated[name]}: the model changed after evaluation`);
    }
    files[name] = { versionId: stored.versionId, sha256 };
  }
  return files;
}

/**
 * The champion's model files, fetched at their pinned version ids (when the bucket gave some) and
 * checked against their pinned sha256: a mismatch is an error naming the file and both hashes.
 */
export async function fetchChampionFiles(s3: S3Client, bucket: string, champion: Champion): Promise<Record<(typeof CHAMPION_FILES)[number], Buffer>> {
  return fetchPinnedFiles(s3, bucket, { owner: `champion ${champion.runId}`, record: 'champion record' }, champion.modelPrefix, champion.files);
}

/** Pinned model files (a champion's, a registered run's), fetched and checked; errors name the owner and the record that pins them. */
export async function fetchPinnedFiles(
  s3: S3Client,
  bucket: string,
  { owner, record }: { owner: string; record: string },
  modelPrefix: string,
  pinnedFiles: PinnedFiles,
): Promise<Record<(typeof CHAMPION_FILES)[number], Buffer>> {
  const files = {} as Record<(typeof CHAMPION_FILES)[number], Buffer>;
  for (const name of CHAMPION_FILES) {
    const pinned = pinnedFiles[name];
    const location = { bucket, key: modelPrefix + name };
    const stored = await getObjectVersion(s3, location, pinned.versionId ?? undefined);
    const where = `${s3Url(location)}${pinned.versionId ? ` (version ${pinned.versionId})` : ''}`;
    if (stored === undefined) throw new ConfigError(`${owner}: ${where} does not exist`);
    const sha256 = sha256Of(stored.bytes);
    if (sha256 !== pinned.sha256) {
      throw new ConfigError(`${owner}: ${where} has sha256 ${sha256}, the ${record} pins ${pinned.sha256}`);
    }
    files[name] = stored.bytes;
  }
  return files;
}
