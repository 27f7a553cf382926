import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { REGISTRY_EVENT_SOURCE, type PublishRegistryEvent } from '../workflow/registry-events.ts';

/**
 * Registry events on the account's default bus. PutEvents answers 200 even when it drops an
 * entry (FailedEntryCount), so that is checked: a change nobody hears about is an error.
 */
export function eventBridgePublisher(client: EventBridgeClient = new EventBridgeClient({})): PublishRegistryEvent {
  return async (detailType, detail) => {
    const response = await client.send(
      new PutEventsCommand({ Entries: [{ Source: REGISTRY_EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'default' }] }),
    );
    if ((response.FailedEntryCount ?? 0) > 0) {
      const entry = response.Entries?.find((e) => e.ErrorCode);
      throw new Error(`EventBridge refused the ${detailType} event of run ${detail.runId}: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  };
}
