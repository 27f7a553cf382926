import { z } from 'zod';
import { eventBridgePublisher } from '../../lib/aws/registry-events.ts';
import { ConfigError } from '../../lib/errors.ts';
import { parseWith } from '../../lib/validation.ts';
import { readChampion } from '../../lib/workflow/champion-store.ts';
import type { Champion } from '../../lib/workflow/promotion.ts';
import { changeChampion } from '../../lib/workflow/registry/champion-change.ts';
import type { ModelVersion } from '../../lib/workflow/registry/model-version.ts';
import { championHistory } from '../../lib/workflow/registry/store.ts';
import { REGISTRY_DETAIL_TYPES, type PublishRegistryEvent, type RegistryDetailType } from '../../lib/workflow/registry-events.ts';
import { rollbackTarget, verifyPinnedFiles } from './champion-moves.ts';
import { readRegistry, versionOfRun } from './models.ts';
import type { RegistryTarget } from './target.ts';
import { whoAmI } from './who.ts';
import { onlyChampionTestSet, resolveTestSet } from './test-sets.ts';

/**
 * `fmnist models promote` and `rollback`: a person changing a test set's champion, through the
 * same compare-and-swap as the Promote step (changeChampion), filed in the champion history and
 * announced on EventBridge like the workflow's promotions.
 */

export interface ChangeContext {
  now: () => Date;
  /** Who made the change, in the record and the event. */
  by: string;
  /** Undefined where there is no event bus (the local bucket outside a running workflow). */
  publish?: PublishRegistryEvent;
}

export interface EventOutcome {
  detailType: RegistryDetailType;
  published: boolean;
  /** Why it was not published. */
  reason?: string;
}

export interface ChampionChangeResult {
  action: 'promote' | 'rollback';
  where: string;
  testSetId: string;
  /** The new champion record. */
  champion: Champion;
  /** The champion it replaced. */
  previous: string | null;
  attempts: number;
  event: EventOutcome;
}

export const LOCAL_NO_EVENT_BUS = 'local bucket: there is no event bus outside a running workflow, so no event was published';

/** `fmnist models promote (user alice@laptop)`. */
export function changedBy(command: 'promote' | 'rollback'): string {
  return `fmnist models ${command} (user ${whoAmI()})`;
}

/** EventBridge for the deployed stack; nothing for the local bucket. */
export function publisherFor(target: RegistryTarget): PublishRegistryEvent | undefined {
  return target.kind === 'aws' && target.events ? eventBridgePublisher(target.events()) : undefined;
}

const Reason = z.string().trim().min(1, 'must say why (a few words: it goes in the champion record and the event)');

/**
 * The change is made when this runs: an event EventBridge refuses is reported, not thrown, so the
 * command does not report a change that stands as a failure (as the Promote step does).
 */
async function announce(target: RegistryTarget, ctx: ChangeContext, detailType: RegistryDetailType, champion: Champion): Promise<EventOutcome> {
  if (!ctx.publish) return { detailType, published: false, reason: LOCAL_NO_EVENT_BUS };
  const { runId, testSetId, datasetId, accuracy, macroF1, modelPrefix, reportPrefix, previous, reason } = champion;
  try {
    await ctx.publish(detailType, { runId, testSetId, datasetId, accuracy, macroF1, modelPrefix, reportPrefix, previous, reason, by: ctx.by, bucket: target.bucket });
    return { detailType, published: true };
  } catch (error) {
    return { detailType, published: false, reason: `EventBridge did not take it: ${(error as Error).message}` };
  }
}

/**
 * When the change happens: now, but always after the champion it replaces. The history is read in
 * promotedAt order, so a laptop clock behind the workflow's must not file a change before the one
 * it follows (rollback would walk the wrong way).
 */
function changeTime(ctx: ChangeContext, current: Champion | undefined): string {
  const now = ctx.now().getTime();
  const after = current ? Date.parse(current.promotedAt) + 1 : now;
  return new Date(Math.max(now, after)).toISOString();
}

const alreadyChampion = (runId: string, testSetId: string) =>
  new ConfigError(`run ${runId} is already the champion of test set ${testSetId}: nothing to promote`);

function championOfVersion(version: ModelVersion, previous: Champion | undefined, reason: string, ctx: ChangeContext): Champion {
  return {
    runId: version.runId,
    datasetId: version.datasetId,
    testSetId: version.testSetId,
    accuracy: version.metrics.accuracy,
    macroF1: version.metrics.macroF1,
    modelPrefix: version.model.prefix,
    reportPrefix: version.reportPrefix,
    promotedAt: changeTime(ctx, previous),
    files: version.model.files,
    previous: previous?.runId ?? null,
    reason: `manual: ${reason}`,
    by: ctx.by,
    change: 'promotion',
  };
}

/** Makes a registered run champion of its test set; not held to the promotion floor: a person decided. */
export async function promoteModel(target: RegistryTarget, runId: string, reasonFlag: unknown, ctx: ChangeContext): Promise<ChampionChangeResult> {
  const reason = parseWith(Reason, reasonFlag, '--reason');
  const version = await versionOfRun(target, runId);
  const { testSetId } = version;
  const { champion: current } = await readChampion(target.s3, target.bucket, testSetId);
  if (current?.runId === runId) throw alreadyChampion(runId, testSetId);
  await verifyPinnedFiles(target, runId, version.model.prefix, version.model.files);
  const change = await changeChampion(target.s3, target.bucket, testSetId, (champion) => {
    if (champion?.runId === runId) throw alreadyChampion(runId, testSetId);
    return { next: championOfVersion(version, champion, reason, ctx) };
  });
  const champion = change.champion!;
  const event = await announce(target, ctx, REGISTRY_DETAIL_TYPES.promoted, champion);
  return { action: 'promote', where: target.where, testSetId, champion, previous: champion.previous, attempts: change.attempts, event };
}

/** Goes back to the champion before the latest promotion still in effect (rollbackTarget). */
export async function rollbackModel(
  target: RegistryTarget,
  options: { dataset?: string; reason?: unknown },
  ctx: ChangeContext,
): Promise<ChampionChangeResult> {
  const why = options.reason === undefined ? 'no reason given' : parseWith(Reason, options.reason, '--reason');
  const { index } = await readRegistry(target);
  const testSetId = options.dataset === undefined ? onlyChampionTestSet(index) : resolveTestSet(options.dataset, index);
  const change = await changeChampion(target.s3, target.bucket, testSetId, async (current) => {
    if (!current) throw new ConfigError(`test set ${testSetId} has no champion: nothing to roll back`);
    const back = rollbackTarget(await championHistory(target.s3, target.bucket, testSetId), current);
    if (!back) {
      throw new ConfigError(
        `no previous champion of test set ${testSetId} to roll back to: ${current.runId} is the only champion still in effect (promote another run with \`fmnist models promote <runId> --reason ...\`)`,
      );
    }
    await verifyPinnedFiles(target, back.runId, back.modelPrefix, back.files);
    const reason = `rolled back from ${current.runId}: ${why}`;
    return { next: { ...back, promotedAt: changeTime(ctx, current), previous: current.runId, reason, by: ctx.by, change: 'rollback' } };
  });
  const champion = change.champion!;
  const event = await announce(target, ctx, REGISTRY_DETAIL_TYPES.rolledBack, champion);
  return { action: 'rollback', where: target.where, testSetId, champion, previous: champion.previous, attempts: change.attempts, event };
}
