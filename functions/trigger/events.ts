import { z } from 'zod';
import { describe } from '../../lib/validation.ts';

/**
 * The two EventBridge events that start the workflow (infra/triggers.ts), as zod schemas in the
 * style of Powertools' parser (`EventBridgeSchema`, `S3EventNotificationEventBridgeSchema`): only
 * the fields the trigger reads are required, the rest of the envelope (id, account, region, …)
 * passes through unread, so a test or a replay may send the smallest event that is still real.
 */

/** S3 "Object Created" (the bucket sends its notifications to EventBridge). */
export const S3ObjectCreatedEvent = z.object({
  'detail-type': z.literal('Object Created'),
  time: z.iso.datetime().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    /** As S3 sends it: possibly URL-encoded ("a b.csv" -> "a+b.csv"). */
    object: z.object({ key: z.string().min(1), etag: z.string().optional() }),
  }),
});
export type S3ObjectCreatedEvent = z.infer<typeof S3ObjectCreatedEvent>;

/** "Scheduled Event" of the optional retrain schedule; `time` is the tick. */
export const ScheduledEvent = z.object({
  'detail-type': z.literal('Scheduled Event'),
  time: z.iso.datetime({ offset: true }),
  resources: z.array(z.string()).optional(),
});
export type ScheduledEvent = z.infer<typeof ScheduledEvent>;

const DETAIL_TYPES = ['Object Created', 'Scheduled Event'] as const;

export const TriggerEvent = z.discriminatedUnion('detail-type', [S3ObjectCreatedEvent, ScheduledEvent], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `must be one of ${DETAIL_TYPES.map((type) => `"${type}"`).join(', ')}, got ${describe((issue.input as Record<string, unknown> | undefined)?.['detail-type'])}`
      : undefined,
});
export type TriggerEvent = z.infer<typeof TriggerEvent>;
