import { z } from 'zod';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { isPreconditionFailed, putObjectIf, s3Url } from '../../lib/aws/s3.ts';
import { pinModelFiles, readChampion } from '../../lib/workflow/champion-store.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import {
  Candidate,
  type Champion,
  championFrom,
  championKey,
  decide,
  type PinnedFiles,
  PROMOTION_MODES,
} from '../../lib/workflow/promotion.ts';

export const PromoteEvent = z.strictObject({
  candidate: Candidate,
  mode: z.enum(PROMOTION_MODES).default('if-better'),
});
export type PromoteEvent = z.input<typeof PromoteEvent>;

/**
 * Compare-and-swap rounds before giving up. Each lost round means another execution promoted a
 * model to the same test split in the few milliseconds between this one's read and write; five
 * in a row would take five executions finishing at the same moment.
 */
export const PROMOTE_MAX_ATTEMPTS = 5;

export interface PromoteResult {
  promoted: boolean;
  reason: string;
  /** The champion after this step (the candidate when promoted), or null if there is none. */
  champion: Champion | null;
  /** The champion the final decision was made against: its run and the ETag it was read at. */
  saw: { runId: string | null; etag: string | null };
  /** Read-decide-write rounds (1 unless another execution promoted in between). */
  attempts: number;
}

/**
 * Promotes the candidate to champion of its test split when lib/workflow/promotion.ts says so,
 * by compare-and-swap: read the champion with its ETag, decide, write with If-Match on that ETag
 * (If-None-Match: * when there is none); a 412 means another execution got there first, so read
 * and decide again (at most PROMOTE_MAX_ATTEMPTS rounds). The candidate's model files are pinned
 * (version id, sha256) and must be the ones Evaluate evaluated. A malformed champion record fails
 * the step instead of being overwritten.
 */
export function createPromoteHandler(deps: HandlerDeps & { now?: () => Date } = {}) {
  const resolve = handlerDeps(deps, 'fmnist-promote', process.env);
  const now = deps.now ?? (() => new Date());
  return async (event: unknown): Promise<PromoteResult> => {
    const { s3, bucket, logger } = resolve();
    const { candidate, mode } = parseEvent(PromoteEvent, event, 'promote');
    const location = { bucket, key: championKey(candidate.testSetId) };
    let pinned: PinnedFiles | undefined;
    for (let attempt = 1; attempt <= PROMOTE_MAX_ATTEMPTS; attempt++) {
      const { champion: current, etag } = await readChampion(s3, bucket, candidate.testSetId);
      const saw = { runId: current?.runId ?? null, etag };
      const decision = decide(current, candidate, mode);
      if (!decision.promote) {
        logger.info('champion kept', { candidate: candidate.runId, champion: saw.runId, reason: decision.reason, attempt });
        return { promoted: false, reason: decision.reason, champion: current ?? null, saw, attempts: attempt };
      }
      pinned ??= await pinModelFiles(s3, bucket, candidate.modelPrefix, candidate.modelSha256);
      const champion = championFrom(candidate, pinned, current, decision.reason, now());
      const body = JSON.stringify(champion, null, 2) + '\n';
      try {
        await putObjectIf(s3, location, body, etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag }, 'application/json');
      } catch (error) {
        // 412: replaced since the read; NoSuchKey on If-Match: deleted since the read.
        if (isPreconditionFailed(error) || (error as Error).name === 'NoSuchKey') {
          logger.info('champion changed while deciding; deciding again', { candidate: candidate.runId, saw, attempt });
          continue;
        }
        throw error;
      }
      logger.info('champion promoted', { champion, previous: saw.runId, reason: decision.reason, attempt });
      return { promoted: true, reason: decision.reason, champion, saw, attempts: attempt };
    }
    throw Object.assign(
      new Error(`${s3Url(location)} changed under each of ${PROMOTE_MAX_ATTEMPTS} compare-and-swap attempts to promote ${candidate.runId}; resume the run to promote again`),
      { name: 'ChampionContention' },
    );
  };
}

export const handler = createPromoteHandler();
