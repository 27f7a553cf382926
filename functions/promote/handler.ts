import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { eventBridgePublisher } from '../../lib/aws/registry-events.ts';
import { ENV } from '../../lib/env.ts';
import { pinModelFiles } from '../../lib/workflow/champion-store.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { modelVersionKey } from '../../lib/workflow/layout.ts';
import {
  Candidate,
  type Champion,
  championFrom,
  decide,
  type PromotionDecision,
  PROMOTION_MODES,
  PromotionPolicy,
} from '../../lib/workflow/promotion.ts';
import { changeChampion, CHAMPION_CAS_ATTEMPTS } from '../../lib/workflow/registry/champion-change.ts';
import { Approval } from '../../lib/workflow/registry/model-version.ts';
import { modelVersionOfRun } from '../../lib/workflow/registry/register-run.ts';
import { registerModelVersion } from '../../lib/workflow/registry/store.ts';
import { recordCompletedRun } from '../../lib/workflow/step-cache.ts';
import { type ChampionChangeDetail, REGISTRY_DETAIL_TYPES, type PublishRegistryEvent } from '../../lib/workflow/registry-events.ts';

export const PromoteEvent = z.strictObject({
  candidate: Candidate,
  mode: z.enum(PROMOTION_MODES).default('if-better'),
  /** The stack's promotion floor (settings promotionMinAccuracy, promotionMinMacroF1). */
  policy: PromotionPolicy.default({ minAccuracy: 0 }),
  /** A person's answer, when the execution waited for one (AwaitApproval); { decision: "not-required" } or absent otherwise. */
  approval: z.union([Approval, z.strictObject({ decision: z.literal('not-required') })]).optional(),
  /** Who the workflow is, in the champion record and the event: the execution's name. */
  executionName: z.string().optional(),
});
export type PromoteEvent = z.input<typeof PromoteEvent>;

export const PROMOTE_MAX_ATTEMPTS = CHAMPION_CAS_ATTEMPTS;

export interface PromoteResult {
  promoted: boolean;
  reason: string;
  /** The champion after this step (the candidate when promoted), or null if there is none. */
  champion: Champion | null;
  /** The champion the final decision was made against: its run and the ETag it was read at. */
  saw: { runId: string | null; etag: string | null };
  /** Read-decide-write rounds (1 unless another execution promoted in between). */
  attempts: number;
  /** The registry record written (or found, on a retry). */
  registered: string;
  /** Whether the Champion Promoted event went out (absent when nothing changed). */
  eventPublished?: boolean;
}

/**
 * The event is a notification of a change already made: when EventBridge refuses it, the error is
 * logged and the result says so, but the run does not fail: failing would report a promotion that
 * happened as a failed run, and a retry would find the candidate already champion and publish
 * nothing.
 */
async function publishChange(publish: PublishRegistryEvent, logger: Logger, detail: ChampionChangeDetail): Promise<boolean> {
  try {
    await publish(REGISTRY_DETAIL_TYPES.promoted, detail);
    return true;
  } catch (error) {
    logger.error('registry event not published', { runId: detail.runId, error: (error as Error).message });
    return false;
  }
}

/** An answered approval decides instead of the promotion rule: approved promotes, anything else keeps. */
function approvalDecision(approval: Approval): PromotionDecision {
  const why = approval.reason ? `: ${approval.reason}` : '';
  if (approval.decision === 'approved') return { promote: true, reason: `approved by ${approval.by}${why}` };
  if (approval.decision === 'rejected') return { promote: false, reason: `rejected by ${approval.by}${why}` };
  return { promote: false, reason: `approval expired: nobody answered${why}` };
}

/**
 * Registers the evaluated run in the model registry (models/registry/<testSetId>/<runId>.json,
 * write-once, its metrics checked against its classification report), then makes it champion of
 * its test split when the promotion rule (lib/workflow/promotion.ts) or a person's approval says
 * so, by compare-and-swap (lib/workflow/registry/champion-change.ts), files the change in the
 * champion history and puts a "Champion Promoted" event on EventBridge. The candidate's model
 * files are pinned (version id, sha256) and must be the ones Evaluate evaluated. A malformed
 * champion record fails the step instead of being overwritten.
 */
export function createPromoteHandler(deps: HandlerDeps & { now?: () => Date; events?: EventBridgeClient; publish?: PublishRegistryEvent; env?: NodeJS.ProcessEnv } = {}) {
  const env = deps.env ?? process.env;
  const resolve = handlerDeps(deps, 'fmnist-promote', env);
  const now = deps.now ?? (() => new Date());
  const codeVersion = env[ENV.codeVersion] || 'unknown';
  let publish = deps.publish;
  return async (event: unknown): Promise<PromoteResult> => {
    const { s3, bucket, logger } = resolve();
    publish ??= eventBridgePublisher(deps.events);
    const parsed = parseEvent(PromoteEvent, event, 'promote');
    const { candidate, mode, policy, executionName } = parsed;
    const approval = parsed.approval && 'by' in parsed.approval ? parsed.approval : undefined;
    const by = `workflow (execution ${executionName ?? 'unnamed'})`;
    const files = await pinModelFiles(s3, bucket, candidate.modelPrefix, candidate.modelSha256);
    const version = await modelVersionOfRun(s3, bucket, { candidate, files, codeVersion, registeredAt: now(), approval });
    await registerModelVersion(s3, bucket, version);
    const registered = modelVersionKey(candidate.testSetId, candidate.runId);
    logger.info('model registered', { runId: candidate.runId, testSetId: candidate.testSetId, metrics: version.metrics });
    // Step caching: the next execution with this dataset, config and code version reuses this run.
    const cached = await recordCompletedRun(s3, bucket, version, now());
    if (cached) logger.info('completed run recorded for step caching', { runId: candidate.runId, key: cached });

    const change = await changeChampion(
      s3,
      bucket,
      candidate.testSetId,
      (current) => {
        const decision = current?.runId === candidate.runId || !approval ? decide(current, candidate, mode, policy) : approvalDecision(approval);
        if (!decision.promote) return { keep: decision.reason };
        return { next: championFrom(candidate, files, current, decision.reason, now(), by) };
      },
      (message, details) => logger.info(message, { candidate: candidate.runId, ...details }),
    );
    if (!change.changed) {
      logger.info('champion kept', { candidate: candidate.runId, champion: change.saw.runId, reason: change.reason, attempt: change.attempts });
      return { promoted: false, reason: change.reason, champion: change.champion, saw: change.saw, attempts: change.attempts, registered };
    }
    const champion = change.champion!;
    const published = await publishChange(publish, logger, {
      runId: champion.runId,
      testSetId: champion.testSetId,
      datasetId: champion.datasetId,
      accuracy: champion.accuracy,
      macroF1: champion.macroF1,
      modelPrefix: champion.modelPrefix,
      reportPrefix: champion.reportPrefix,
      previous: champion.previous,
      reason: champion.reason,
      by,
      bucket,
    });
    logger.info('champion promoted', { champion, previous: change.saw.runId, reason: change.reason, attempt: change.attempts });
    return { promoted: true, reason: change.reason, champion, saw: change.saw, attempts: change.attempts, registered, eventPublished: published };
  };
}

export const handler = createPromoteHandler();
