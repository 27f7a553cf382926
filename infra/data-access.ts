import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  approvalKey,
  championHistoryPrefix,
  championKey,
  checkpointPrefix,
  modelPrefix,
  modelVersionKey,
  PREFIXES,
  reportPrefix,
  runRecordKey,
  stepCacheKey,
  trainEventKey,
} from '../lib/workflow/layout.ts';
import { MODEL_FILES } from '../lib/workflow/files.ts';
import { acknowledge, arnRef } from './nag.ts';

/**
 * Who may do what in the data bucket: the one place that says it. Keys are IAM patterns (`*`
 * matches any characters, `/` included), built from the layout the code writes
 * (lib/workflow/layout.ts), so a layout change moves the grants with it.
 */
export const KEYS = {
  raw: `${PREFIXES.raw}*`,
  datasets: `${PREFIXES.datasets}*`,
  models: `${modelPrefix('*')}*`,
  reports: `${reportPrefix('*')}*`,
  checkpoints: `${checkpointPrefix('*')}*`,
  trainEvents: trainEventKey('*'),
  runRecords: runRecordKey('*'),
  champions: championKey('*'),
  registry: modelVersionKey('*', '*'),
  championHistory: `${championHistoryPrefix('*')}*`,
  approvals: approvalKey('*'),
  stepCache: stepCacheKey('*'),
  sweeps: `${PREFIXES.sweeps}*`,
  histories: `${modelPrefix('*')}${MODEL_FILES.history}`,
} as const;

type Key = (typeof KEYS)[keyof typeof KEYS];

/**
 * One principal's access. `list`: s3:ListBucket, only for listings whose Prefix matches one of
 * these (the code checks whether a key exists with ListObjectsV2, Prefix = the key); `get`:
 * s3:GetObject; `put`: s3:PutObject (every write is a single PutObject: no multipart uploads);
 * `delete`: s3:DeleteObject.
 */
export interface DataAccess {
  readonly list?: readonly Key[];
  readonly get?: readonly Key[];
  readonly put?: readonly Key[];
  readonly delete?: readonly Key[];
}

export const DATA_ACCESS = {
  /**
   * Checks the execution input and claims the run id: writes runs/<runId>/run.json with
   * If-None-Match (a taken id: reads it to name its creator); with resume, reads it (listing it
   * tells a run that does not exist from a denial).
   */
  validate: { list: [KEYS.runRecords], get: [KEYS.runRecords], put: [KEYS.runRecords] },
  /**
   * Streams raw/ CSVs into datasets/<id>/; a dataset already there (its manifest listed) is reused.
   * Reads the champion of the data's test split and its dataset's manifest, for the drift checks.
   * Keeps the examples of each source it parsed under datasets/sources/<sourceId>/ and reads them
   * back instead of parsing a source again (HEAD of the raw object, allowed by s3:GetObject, gives
   * the ETag the source id is made of: lib/aws/s3-source-cache.ts); lists datasets/<id>/ of the
   * candidate parents for the manifest's lineage. Step caching (lib/workflow/step-cache.ts): reads
   * the completed run recorded for the dataset, config and code version, its registry record and
   * its pinned model files, and lists its report.
   */
  ingest: {
    get: [KEYS.raw, KEYS.champions, KEYS.datasets, KEYS.stepCache, KEYS.registry, KEYS.models],
    list: [KEYS.datasets, KEYS.champions, KEYS.stepCache, KEYS.registry, KEYS.models, KEYS.reports],
    put: [KEYS.datasets],
  },
  /**
   * Downloads datasets/<id>/ (listing it), writes runs/<id>/model/; a model already there (its
   * model.json listed) is answered from its training.json. Keeps the run's checkpoints: lists
   * them, reads the newest, writes new ones, deletes the oldest.
   */
  trainFunction: {
    list: [KEYS.datasets, KEYS.models, KEYS.checkpoints],
    get: [KEYS.datasets, KEYS.models, KEYS.checkpoints],
    put: [KEYS.models, KEYS.checkpoints],
    delete: [KEYS.checkpoints],
  },
  /** The same, plus the TrainEvent the state machine wrote for it. */
  trainTask: {
    list: [KEYS.datasets, KEYS.models, KEYS.checkpoints],
    get: [KEYS.datasets, KEYS.models, KEYS.checkpoints, KEYS.trainEvents],
    put: [KEYS.models, KEYS.checkpoints],
    delete: [KEYS.checkpoints],
  },
  /**
   * Reads the test split and the model, writes runs/<id>/report/ write-once (a refused write
   * reads the stored file to compare); a complete report (its metrics.json listed) is read back.
   * Reads the champion of the test split, for the report page's comparison.
   */
  evaluate: {
    list: [KEYS.datasets, KEYS.models, KEYS.reports, KEYS.champions],
    get: [KEYS.datasets, KEYS.models, KEYS.reports, KEYS.champions],
    put: [KEYS.reports],
  },
  /**
   * Registers the run: reads its model files (to pin their versions and sha256), training record,
   * classification report and run record, and writes its registry record write-once (a refused
   * write reads the stored one). Reads the champion of its test split with its ETag, replaces it
   * by compare-and-swap, and files both in the champion history (write-once). Records the run for
   * step caching (models/step-cache/<key>.json).
   */
  promote: {
    list: [KEYS.models, KEYS.reports, KEYS.runRecords, KEYS.champions, KEYS.registry, KEYS.championHistory],
    get: [KEYS.models, KEYS.reports, KEYS.runRecords, KEYS.champions, KEYS.registry, KEYS.championHistory],
    put: [KEYS.champions, KEYS.registry, KEYS.championHistory, KEYS.stepCache],
  },
  /** AwaitApproval: files the run's approval request (its task token) at models/approvals/<runId>.json. */
  requestApproval: { put: [KEYS.approvals] },
  /**
   * StartSweep / EndSweepRound: the sweep record and page under sweeps/<sweepId>/ (a refused
   * first write reads the stored record), and the learning curves of the trials (their
   * history.json) for the page.
   */
  sweep: { list: [KEYS.sweeps], get: [KEYS.sweeps, KEYS.histories], put: [KEYS.sweeps] },
  /** Finds the other split of an uploaded pair and its ETag by listing raw/ (no object is read). */
  trigger: { list: [KEYS.raw] },
  /** WriteTrainEvent: runs/<runId>/train-event.json for the Fargate task. */
  stateMachine: { put: [KEYS.trainEvents] },
} as const satisfies Record<string, DataAccess>;

/** Why each wildcard object pattern cannot name its keys (cdk-nag AwsSolutions-IAM5). */
const WHY_A_WILDCARD: Record<Key, string> = {
  [KEYS.raw]: 'raw/ holds what users upload, under names they choose; the trigger and ingest read whichever file an execution names.',
  [KEYS.datasets]:
    'datasets/<datasetId>/ is named by a hash of the input data computed at run time, and holds one shard file per split and chunk; datasets/sources/<sourceId>/ (the examples of one parsed source file) by a hash of the raw object key and ETag.',
  [KEYS.models]: 'runs/<runId>/model/ is named by the run id, chosen per execution; the pattern allows only the model files of some run, not the rest of runs/.',
  [KEYS.reports]: 'runs/<runId>/report/ is named by the run id, chosen per execution; the pattern allows only the report files of some run, not the rest of runs/.',
  [KEYS.checkpoints]:
    'runs/<runId>/checkpoint/<name>/ is named by the run id, chosen per execution, and the checkpoint (its position in training); the pattern allows only the checkpoint files of some run, not the rest of runs/.',
  [KEYS.trainEvents]: 'runs/<runId>/train-event.json is one file per run, named by the run id chosen per execution; the pattern matches no other file name.',
  [KEYS.runRecords]: 'runs/<runId>/run.json is one file per run, named by the run id chosen per execution; the pattern matches no other file name.',
  [KEYS.champions]: 'models/champions/<testSetId>.json is one record per test split, named by a hash of the test data computed at run time.',
  [KEYS.registry]: 'models/registry/<testSetId>/<runId>.json is one record per evaluated run, named by the test data hash and the run id, both known only at run time.',
  [KEYS.championHistory]: 'models/history/<testSetId>/<time>-<runId>.json is one record per champion change, named at run time; the pattern matches only the history.',
  [KEYS.approvals]: 'models/approvals/<runId>.json is one request per run waiting for approval, named by the run id chosen per execution.',
  [KEYS.stepCache]: 'models/step-cache/<key>.json is one record per completed (dataset, training config, code version), named by a hash of the three computed at run time.',
  [KEYS.sweeps]: 'sweeps/<sweepId>/ holds one sweep\'s record and page, named by the sweep\'s run id chosen per execution.',
  [KEYS.histories]: 'runs/<runId>/model/history.json is one file per run, named by the run id chosen per execution; the pattern matches no other file.',
};

/** The object ARNs of a set of key patterns. */
export function objectArns(bucket: s3.IBucket, keys: readonly Key[]): string[] {
  return keys.map((key) => bucket.arnForObjects(key));
}

/**
 * Grants exactly `access` on `bucket`: s3:ListBucket with a plain StringLike on s3:prefix (a
 * listing without a matching Prefix is denied), s3:GetObject, s3:PutObject and s3:DeleteObject on the patterns,
 * and the IAM5 acknowledgment of each wildcard pattern with its reason.
 */
export function grantDataAccess(bucket: s3.IBucket, grantee: iam.IGrantable, access: DataAccess): void {
  const principal = grantee.grantPrincipal;
  const { list = [], get = [], put = [], delete: remove = [] } = access;
  if (list.length > 0) {
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [...list] } },
      }),
    );
  }
  if (get.length > 0) principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objectArns(bucket, get) }));
  if (put.length > 0) principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objectArns(bucket, put) }));
  if (remove.length > 0) principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: objectArns(bucket, remove) }));
  if (Construct.isConstruct(principal)) acknowledgeObjectWildcards(principal, bucket, [...get, ...put, ...remove]);
}

/** IAM5 acknowledgments for the wildcard object patterns among `keys`, on `scope`. */
export function acknowledgeObjectWildcards(scope: Construct, bucket: s3.IBucket, keys: readonly Key[]): void {
  for (const key of new Set(keys)) {
    if (!key.includes('*')) continue;
    acknowledge(scope, `AwsSolutions-IAM5[Resource::${arnRef(bucket)}/${key}]`, WHY_A_WILDCARD[key]);
  }
}
