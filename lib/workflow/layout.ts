/** Where each thing lives in the data bucket (one prefix per kind; see the README). */
export const PREFIXES = {
  raw: 'raw/',
  datasets: 'datasets/',
  runs: 'runs/',
  models: 'models/',
  sweeps: 'sweeps/',
} as const;

/** Named datasets that grow, as users upload them: raw/datasets/<name>/train|test/<file> (raw-datasets.ts). */
export const RAW_DATASETS_PREFIX = `${PREFIXES.raw}datasets/`;
/** Whether `key` is under raw/datasets/ (then only that layout applies to it, never the train/test pair convention). */
export const isRawDatasetKey = (key: string) => key.startsWith(RAW_DATASETS_PREFIX);
export const datasetPrefix = (datasetId: string) => `${PREFIXES.datasets}${datasetId}/`;
/** Source files an ingest parsed, kept for the next one (lib/aws/s3-source-cache.ts): one folder per raw object version. */
export const sourceCachePrefix = (sourceId: string) => `${PREFIXES.datasets}sources/${sourceId}/`;
export const modelPrefix = (runId: string) => `${PREFIXES.runs}${runId}/model/`;
export const reportPrefix = (runId: string) => `${PREFIXES.runs}${runId}/report/`;
/** The TrainEvent the state machine writes for the Fargate task (lib/workflow/fargate-task.ts). */
export const trainEventKey = (runId: string) => `${PREFIXES.runs}${runId}/train-event.json`;
/** Training checkpoints of a run: `<prefix><name>/<file>`, the manifest written last (lib/model/checkpoint). */
export const checkpointPrefix = (runId: string) => `${PREFIXES.runs}${runId}/checkpoint/`;
/**
 * The run's claim (lib/workflow/run-record.ts): written once, with If-None-Match, by ValidateInput
 * before any work, so a run id names one run and its outputs are never overwritten.
 */
export const runRecordKey = (runId: string) => `${PREFIXES.runs}${runId}/run.json`;
/** One champion per test split (lib/data/test-set-id.ts), replaced by compare-and-swap (promotion.ts). */
export const CHAMPIONS_PREFIX = `${PREFIXES.models}champions/`;
export const championKey = (testSetId: string) => `${CHAMPIONS_PREFIX}${testSetId}.json`;
/**
 * The model registry (lib/workflow/registry): one write-once record per evaluated run, filed
 * under the test split it was judged on, so one listing gives a test set's models.
 */
export const REGISTRY_PREFIX = `${PREFIXES.models}registry/`;
export const modelVersionKey = (testSetId: string, runId: string) => `${REGISTRY_PREFIX}${testSetId}/${runId}.json`;
/** Every champion record ever written for a test split, write-once, in time order (rollback reads it). */
export const championHistoryPrefix = (testSetId: string) => `${PREFIXES.models}history/${testSetId}/`;
/**
 * Step caching (lib/workflow/step-cache.ts): the run that completed with a dataset, a resolved
 * training config and a code version, keyed by a hash of the three.
 */
export const STEP_CACHE_PREFIX = `${PREFIXES.models}step-cache/`;
export const stepCacheKey = (cacheKey: string) => `${STEP_CACHE_PREFIX}${cacheKey}.json`;
/** A run waiting for a person's decision: the task token of its AwaitApproval state. */
export const approvalKey = (runId: string) => `${PREFIXES.models}approvals/${runId}.json`;
