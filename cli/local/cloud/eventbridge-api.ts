import { randomUUID } from 'node:crypto';
import { ServiceError, type Operation } from './control-plane.ts';
import type { BusEvent, EventBus, PublishedEvent } from './eventbridge.ts';
import type { IamAuthorizer } from './iam.ts';

/**
 * EventBridge's PutEvents for the code in the sandboxes (the Promote function's registry events),
 * on the control plane: each entry authorised as events:PutEvents on the default bus with its
 * events:source and events:detail-type (so a role scoped to one source is held to it), then put on
 * the local bus, whose rules deliver it. Entries are kept in `published` for the run's report and
 * tests. As in AWS, an entry without Source, DetailType or a JSON object Detail fails on its own
 * (FailedEntryCount), and more than 10 entries fail the call.
 */
export function putEventsOperation(bus: EventBus, authorizer: IamAuthorizer, busArn: string, published: PublishedEvent[]): Record<string, Operation> {
  return {
    'AWSEvents.PutEvents': async (caller, input) => {
      const entries = (input.Entries ?? []) as Record<string, unknown>[];
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
        throw new ServiceError('ValidationException', '1 validation error detected: Value at \'entries\' failed to satisfy constraint: Member must have length between 1 and 10');
      }
      const results: Record<string, unknown>[] = [];
      for (const entry of entries) {
        const busName = String(entry.EventBusName ?? 'default');
        if (busName !== 'default' && busName !== busArn) {
          results.push({ ErrorCode: 'NotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` });
          continue;
        }
        const source = typeof entry.Source === 'string' ? entry.Source : undefined;
        const detailType = typeof entry.DetailType === 'string' ? entry.DetailType : undefined;
        let detail: unknown;
        try {
          detail = typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : undefined;
        } catch {
          detail = undefined;
        }
        if (!source || !detailType || detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
          results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed, or Source or DetailType is missing.' });
          continue;
        }
        await authorizer.authorize(caller, {
          action: 'events:PutEvents',
          resource: busArn,
          // Both keys are multivalued in IAM's request context (a list of one).
          context: { 'events:source': [source], 'events:detail-type': [detailType] },
        });
        const event: BusEvent = { source, 'detail-type': detailType, detail: detail as Record<string, unknown> };
        published.push({ source, detailType, detail: event.detail, by: `${caller.role.name}/${caller.session}` });
        bus.put(event);
        results.push({ EventId: randomUUID() });
      }
      return { FailedEntryCount: results.filter((result) => result.ErrorCode).length, Entries: results };
    },
  };
}
