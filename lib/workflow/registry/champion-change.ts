import type { S3Client } from '@aws-sdk/client-s3';
import { isPreconditionFailed, putObjectIf, s3Url } from '../../aws/s3.ts';
import { readChampion } from '../champion-store.ts';
import { championKey, type Champion } from '../promotion.ts';
import { fileChampionHistory } from './store.ts';

/**
 * Compare-and-swap rounds before giving up. Each lost round means another writer changed the same
 * test split's champion in the few milliseconds between this one's read and write; five in a row
 * would take five changes landing at the same moment.
 */
export const CHAMPION_CAS_ATTEMPTS = 5;

/** What to do with the champion read: replace it with `next`, or keep it (and why). */
export type ChampionChoice = { next: Champion } | { keep: string };

export interface ChampionChange {
  changed: boolean;
  /** The new champion's reason, or why the champion was kept. */
  reason: string;
  /** The champion after the change (or the kept one); null when there is none. */
  champion: Champion | null;
  /** The champion the final choice was made against: its run and the ETag it was read at. */
  saw: { runId: string | null; etag: string | null };
  /** Read-choose-write rounds (1 unless another writer changed the champion in between). */
  attempts: number;
}

/**
 * The one way a test split's champion changes (the Promote step, `fmnist models promote` and
 * `rollback`): read models/champions/<testSetId>.json with its ETag, let `choose` decide, write
 * with If-Match on that ETag (If-None-Match: * when there was none); a 412 means another writer
 * got there first, so read and choose again. The current champion and the new one are filed in
 * the champion history (write-once), so rollback can find every champion there was. A malformed
 * champion record fails instead of being overwritten.
 */
export async function changeChampion(
  s3: S3Client,
  bucket: string,
  testSetId: string,
  choose: (current: Champion | undefined) => Promise<ChampionChoice> | ChampionChoice,
  log: (message: string, details: Record<string, unknown>) => void = () => {},
): Promise<ChampionChange> {
  const location = { bucket, key: championKey(testSetId) };
  for (let attempt = 1; attempt <= CHAMPION_CAS_ATTEMPTS; attempt++) {
    const { champion: current, etag } = await readChampion(s3, bucket, testSetId);
    const saw = { runId: current?.runId ?? null, etag };
    if (current) await fileChampionHistory(s3, bucket, current);
    const choice = await choose(current);
    if ('keep' in choice) return { changed: false, reason: choice.keep, champion: current ?? null, saw, attempts: attempt };
    const body = JSON.stringify(choice.next, null, 2) + '\n';
    try {
      await putObjectIf(s3, location, body, etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag }, 'application/json');
    } catch (error) {
      // 412: replaced since the read; NoSuchKey on If-Match: deleted since the read.
      if (isPreconditionFailed(error) || (error as Error).name === 'NoSuchKey') {
        log('champion changed while deciding; deciding again', { saw, attempt });
        continue;
      }
      throw error;
    }
    await fileChampionHistory(s3, bucket, choice.next);
    return { changed: true, reason: choice.next.reason, champion: choice.next, saw, attempts: attempt };
  }
  throw Object.assign(new Error(`${s3Url(location)} changed under each of ${CHAMPION_CAS_ATTEMPTS} compare-and-swap attempts; try again`), {
    name: 'ChampionContention',
  });
}
