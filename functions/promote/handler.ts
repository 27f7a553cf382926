import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { getJsonIfExists, objectExists, putJson } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/data/errors.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { MODEL_FILES } from '../../lib/workflow/files.ts';
import {
  Candidate,
  Champion,
  CHAMPION_KEY,
  championFrom,
  decide,
  PROMOTION_MODES,
} from '../../lib/workflow/promotion.ts';
import { z } from 'zod';

export const PromoteEvent = z.strictObject({
  candidate: Candidate,
  mode: z.enum(PROMOTION_MODES).default('if-better'),
});
export type PromoteEvent = z.input<typeof PromoteEvent>;

export interface PromoteResult {
  promoted: boolean;
  reason: string;
  /** The champion after this step (the candidate when promoted), or undefined if there is none. */
  champion?: Champion;
}

/**
 * Replaces models/champion.json with the candidate when lib/workflow/promotion.ts says so. The
 * candidate's model.json must exist (a pointer never names an incomplete model). A malformed
 * champion.json fails the step instead of being silently overwritten.
 */
export function createPromoteHandler(deps: HandlerDeps & { now?: () => Date } = {}) {
  const resolve = handlerDeps(deps, 'fmnist-promote');
  const now = deps.now ?? (() => new Date());
  return async (event: unknown): Promise<PromoteResult> => {
    const { s3, bucket, logger } = resolve();
    const { candidate, mode } = parseEvent(PromoteEvent, event, 'promote');
    const stored = await getJsonIfExists(s3, { bucket, key: CHAMPION_KEY });
    let current: Champion | undefined;
    if (stored !== undefined) {
      const parsed = Champion.safeParse(stored);
      if (!parsed.success) {
        throw new ConfigError(`s3://${bucket}/${CHAMPION_KEY} is malformed: ${parsed.error.issues[0]?.message}`);
      }
      current = parsed.data;
    }
    const decision = decide(current, candidate, mode);
    if (!decision.promote) {
      logger.info('champion kept', { candidate: candidate.runId, champion: current?.runId, reason: decision.reason });
      return { promoted: false, reason: decision.reason, champion: current };
    }
    const modelKey = candidate.modelPrefix + MODEL_FILES.model;
    if (!(await objectExists(s3, { bucket, key: modelKey }))) {
      throw new ConfigError(`cannot promote ${candidate.runId}: s3://${bucket}/${modelKey} does not exist`);
    }
    const champion = championFrom(candidate, now());
    await putJson(s3, { bucket, key: CHAMPION_KEY }, champion);
    logger.info('champion promoted', { champion, previous: current?.runId, reason: decision.reason });
    return { promoted: true, reason: decision.reason, champion };
  };
}

export const handler = createPromoteHandler();
