import type { S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Logger } from '@aws-lambda-powertools/logger';
import { requiredEnv, s3Client } from '../../lib/aws/clients.ts';
import type { ExecutionInput, Trigger } from '../../lib/workflow/execution-input.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { isRawDatasetKey, PREFIXES } from '../../lib/workflow/layout.ts';
import { listObjects } from '../../lib/aws/s3-list.ts';
import {
  counterpartKeys,
  executionName,
  findRawObject,
  isRawDataKey,
  latestPair,
  type ListedObject,
  type RawObject,
  type RawPair,
  splitOf,
} from '../../lib/workflow/raw-pairs.ts';
import {
  currentDataset,
  datasetExecutionName,
  datasetKeyOf,
  type DatasetSelection,
  latestDataset,
} from '../../lib/workflow/raw-datasets.ts';
import { TriggerEvent, type S3ObjectCreatedEvent, type ScheduledEvent } from './events.ts';

/**
 * EventBridge target that starts the training workflow:
 * - S3 "Object Created" under raw/datasets/<name>/train|test/ (a named dataset that grows,
 *   lib/workflow/raw-datasets.ts): starts a retrain on every train file of the dataset and its
 *   current test file, named after those files' identity; a training file landing alone is enough;
 * - S3 "Object Created" elsewhere under raw/: when the uploaded file's counterpart split is there
 *   too (lib/workflow/raw-pairs.ts), starts an execution named after the pair's identity;
 * - "Scheduled Event" (the optional retrain schedule): starts one on whichever changed last, a
 *   named dataset or a complete pair under raw/, named after its files and the schedule tick
 *   (with the same data and config, the workflow reuses the earlier run: no training).
 * ExecutionAlreadyExists means this data (or this tick) already has its run: success.
 */
export interface TriggerDeps {
  s3?: S3Client;
  sfn?: SFNClient;
  stateMachineArn?: string;
  logger?: Logger;
}

export interface TriggerResult {
  started: boolean;
  duplicate?: boolean;
  executionName?: string;
  input?: ExecutionInput;
  reason: string;
}

let sharedSfn: SFNClient | undefined;

export function createTriggerHandler(deps: TriggerDeps = {}) {
  const logger = deps.logger ?? new Logger({ serviceName: 'fmnist-trigger' });
  return async (raw: unknown): Promise<TriggerResult> => {
    const event = parseEvent(TriggerEvent, raw, 'trigger');
    const s3 = deps.s3 ?? s3Client();
    const sfn = deps.sfn ?? (sharedSfn ??= new SFNClient({}));
    const stateMachineArn = deps.stateMachineArn ?? requiredEnv('STATE_MACHINE_ARN');
    let result: TriggerResult;
    if (event['detail-type'] === 'Object Created') {
      result = await onObjectCreated(s3, sfn, stateMachineArn, event);
    } else {
      const bucket = requiredEnv('DATA_BUCKET');
      result = await onSchedule(s3, sfn, stateMachineArn, bucket, event);
    }
    logger.info(result.started ? 'workflow started' : 'no workflow started', { ...result });
    return result;
  };
}

async function onObjectCreated(
  s3: S3Client,
  sfn: SFNClient,
  stateMachineArn: string,
  event: S3ObjectCreatedEvent,
): Promise<TriggerResult> {
  const bucket = event.detail.bucket.name;
  const datasetForms = keyForms(event.detail.object.key).filter(isRawDatasetKey);
  if (datasetForms.length > 0) return onDatasetFile(s3, sfn, stateMachineArn, bucket, datasetForms);
  let self: RawObject | undefined;
  // The key as sent; if that is not there, its URL-decoded form (S3 notifications URL-encode
  // keys, "a b.csv" -> "a+b.csv"; EventBridge events are documented with plain keys).
  for (const candidate of keyForms(event.detail.object.key)) {
    if (!isRawDataKey(candidate) || !splitOf(candidate)) continue;
    self = await findRawObject(s3, bucket, candidate);
    if (self) break;
  }
  const key = self?.key ?? event.detail.object.key;
  const split = splitOf(key);
  if (!split) return { started: false, reason: `${key} is not raw/…train….csv[.gz] or raw/…test….csv[.gz]` };
  if (!self) return { started: false, reason: `${key} is gone` };
  let other: RawObject | undefined;
  for (const candidate of counterpartKeys(key)) {
    other = await findRawObject(s3, bucket, candidate);
    if (other) break;
  }
  if (!other) {
    return { started: false, reason: `waiting for the ${split === 'train' ? 'test' : 'train'} split of ${key}` };
  }
  const pair: RawPair = split === 'train' ? { train: self, test: other } : { train: other, test: self };
  return start(sfn, stateMachineArn, executionName(bucket, pair), { train: [pair.train], test: [pair.test] }, 'new-data');
}

/** A file of a named dataset landed: retrain on the dataset as it is now (its train files, its newest test file). */
async function onDatasetFile(s3: S3Client, sfn: SFNClient, stateMachineArn: string, bucket: string, forms: string[]): Promise<TriggerResult> {
  const key = forms.find((form) => datasetKeyOf(form)) ?? forms[0];
  const parsed = datasetKeyOf(key);
  if (!parsed) return { started: false, reason: `${key} is not raw/datasets/<name>/train/<file>.csv[.gz] or raw/datasets/<name>/test/<file>.csv[.gz]` };
  let self: RawObject | undefined;
  for (const form of forms.filter((candidate) => datasetKeyOf(candidate))) {
    self = await findRawObject(s3, bucket, form);
    if (self) break;
  }
  if (!self) return { started: false, reason: `${key} is gone` };
  const choice = await currentDataset(s3, bucket, parsed.name);
  if ('waiting' in choice) return { started: false, reason: choice.waiting };
  const { selection } = choice;
  if (parsed.split === 'test' && selection.test.key !== self.key) {
    return { started: false, reason: `${self.key} is not the newest test file of dataset "${parsed.name}" (${selection.test.key} is)` };
  }
  return start(sfn, stateMachineArn, datasetExecutionName(bucket, selection), datasetPair(selection), 'new-data');
}

/** A dataset selection as the keys an execution takes. */
function datasetPair(selection: DatasetSelection): { train: RawObject[]; test: RawObject[] } {
  return { train: selection.train, test: [selection.test] };
}

async function onSchedule(
  s3: S3Client,
  sfn: SFNClient,
  stateMachineArn: string,
  bucket: string,
  event: ScheduledEvent,
): Promise<TriggerResult> {
  const objects: ListedObject[] = [];
  for await (const object of listObjects(s3, bucket, PREFIXES.raw)) objects.push(object);
  const pair = latestPair(objects.filter((object) => !isRawDatasetKey(object.key)));
  const dataset = latestDataset(objects);
  if (!pair && !dataset) return { started: false, reason: `no complete train/test pair or named dataset under s3://${bucket}/${PREFIXES.raw}` };
  // One run per tick: the tick's time (minute precision) joins the data's identity.
  const tick = new Date(event.time).toISOString().slice(0, 16).replace(/[-:]/g, '');
  if (dataset && (!pair || dataset.lastModified.getTime() >= newestOf(objects, pair))) {
    return start(sfn, stateMachineArn, datasetExecutionName(bucket, dataset, tick), datasetPair(dataset), 'schedule');
  }
  return start(sfn, stateMachineArn, executionName(bucket, pair!, tick), { train: [pair!.train], test: [pair!.test] }, 'schedule');
}

function newestOf(objects: ListedObject[], pair: RawPair): number {
  const times = objects.filter((object) => object.key === pair.train.key || object.key === pair.test.key).map((object) => object.lastModified.getTime());
  return Math.max(...times);
}

async function start(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  files: { train: RawObject[]; test: RawObject[] },
  trigger: Trigger,
): Promise<TriggerResult> {
  const input: ExecutionInput = { train: files.train.map((file) => file.key), test: files.test.map((file) => file.key), trigger };
  try {
    await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { started: true, executionName: name, input, reason: `started ${name}` };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
      return { started: false, duplicate: true, executionName: name, input, reason: `${name} already exists` };
    }
    throw error;
  }
}

function keyForms(key: string): string[] {
  let decoded = key;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    // not URL-encoded
  }
  return decoded === key ? [key] : [key, decoded];
}

export const handler = createTriggerHandler();
