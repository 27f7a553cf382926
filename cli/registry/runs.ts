import type { z } from 'zod';
import { getJsonWith, getObjectVersion, listObjects, s3Url } from '../../lib/aws/s3.ts';
import { ConfigError, UserError } from '../../lib/errors.ts';
import { averageScores, reportAccuracy } from '../../lib/report/report-page.ts';
import { compareRuns, DEFAULT_TOP_CONFUSIONS, type RunArtifacts, type RunComparison } from '../../lib/report/run-comparison.ts';
import { formatIssues } from '../../lib/validation.ts';
import { PREFIXES, REGISTRY_PREFIX, runRecordKey } from '../../lib/workflow/layout.ts';
import type { Champion } from '../../lib/workflow/promotion.ts';
import { listChampions } from '../../lib/workflow/registry/store.ts';
import { ClassificationReportFile, TrainingFile, parseRunArtifacts, runArtifactKeys, type RunArtifactFile, type RunArtifactTexts } from '../../lib/workflow/run-artifacts.ts';
import { RunRecord } from '../../lib/workflow/run-record.ts';
import type { RegistryTarget } from './target.ts';
import { mapLimit } from '../../lib/concurrency.ts';

/**
 * `fmnist runs list` and `fmnist runs compare` as operations over a bucket (local or deployed):
 * plain results in, plain results out; runs-commands.ts parses the flags and prints.
 */

export const DEFAULT_RUNS_LIMIT = 20;
/** GETs in flight at once: enough to hide latency on AWS, few enough for the local server. */
const READ_CONCURRENCY = 8;

/** Where a run stands, furthest first: champion ⊃ registered ⊃ evaluated ⊃ started. */
export type RunState = 'started' | 'evaluated' | 'registered' | 'champion';

export interface RunListEntry {
  runId: string;
  createdAt: string;
  executionName?: string;
  /** What started it (run.json's input.trigger; absent in records of older runs). */
  trigger?: string;
  /** The data and training settings it was started with (run.json's input). */
  train: string[];
  test: string[];
  limit?: number;
  /** The training config overrides ({} = the defaults). */
  config: Record<string, unknown>;
  trainOn: string;
  /** From its classification report, when Evaluate wrote one. */
  accuracy?: number;
  macroF1?: number;
  /** From its training.json, when Train wrote one: training seconds and the cost estimate (runs trained on AWS or locally by the workflow). */
  trainingSeconds?: number;
  costUsd?: number;
  /** The test split it was registered under (models/registry/<testSetId>/<runId>.json), or is champion of. */
  testSetId?: string;
  state: RunState;
}

export interface RunList {
  where: string;
  bucket: string;
  /** Runs with a readable run.json, before --limit. */
  total: number;
  /** Newest first, at most `limit`. */
  runs: RunListEntry[];
  /** Objects that could not be read (a malformed run.json, report or champion record), each naming it. */
  warnings: string[];
}

/** Every run with a run.json, newest first (at most `limit`), with how far it got. */
export async function listRuns(target: RegistryTarget, options: { limit?: number } = {}): Promise<RunList> {
  const limit = options.limit ?? DEFAULT_RUNS_LIMIT;
  const { s3, bucket } = target;
  const warnings: string[] = [];
  const recordKeys: string[] = [];
  for await (const object of listObjects(s3, bucket, PREFIXES.runs)) {
    if (RUN_RECORD_KEY.test(object.key)) recordKeys.push(object.key);
  }
  const records = (await mapLimit(recordKeys, READ_CONCURRENCY, (key) => readListedRecord(target, key, warnings))).filter((r) => r !== undefined);
  records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.runId.localeCompare(a.runId));
  const shown = records.slice(0, limit);

  const registered = await registeredTestSets(target);
  const champions = await championsOrWarning(target, warnings);
  const runs = await mapLimit(shown, READ_CONCURRENCY, async (record): Promise<RunListEntry> => {
    const [scores, training] = await Promise.all([readScores(target, record.runId, warnings), readTraining(target, record.runId, warnings)]);
    // A champion from before the registry existed has no registry record: its champion record says which test set.
    const champion = champions.find((c) => c.runId === record.runId && (!registered.has(record.runId) || c.testSetId === registered.get(record.runId)));
    const testSetId = registered.get(record.runId) ?? champion?.testSetId;
    const { input } = record;
    return {
      runId: record.runId,
      createdAt: record.createdAt,
      ...(record.executionName === undefined ? {} : { executionName: record.executionName }),
      ...(input.trigger === undefined ? {} : { trigger: input.trigger }),
      train: input.train,
      test: input.test,
      ...(input.limit === undefined ? {} : { limit: input.limit }),
      config: input.config ?? {},
      trainOn: input.trainOn,
      ...scores,
      ...training,
      ...(testSetId === undefined ? {} : { testSetId }),
      state: champion ? 'champion' : testSetId !== undefined ? 'registered' : scores.accuracy !== undefined ? 'evaluated' : 'started',
    };
  });
  return { where: target.where, bucket, total: records.length, runs, warnings };
}

const RUN_RECORD_KEY = new RegExp(`^${PREFIXES.runs}[^/]+/run\\.json$`);

/** A listed run.json, or undefined (with a warning naming it) when it is not a run record of its run. */
async function readListedRecord(target: RegistryTarget, key: string, warnings: string[]): Promise<RunRecord | undefined> {
  const location = { bucket: target.bucket, key };
  const runId = key.slice(PREFIXES.runs.length, -'/run.json'.length);
  const stored = await getObjectVersion(target.s3, location);
  // Deleted between the listing and the read: not a run any more.
  if (stored === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(stored.bytes.toString('utf8'));
  } catch (error) {
    warnings.push(`${s3Url(location)} is not a run record (not valid JSON: ${(error as Error).message}); skipped`);
    return undefined;
  }
  const parsed = RunRecord.safeParse(json);
  if (!parsed.success) {
    warnings.push(`${s3Url(location)} is not a run record (${formatIssues(parsed.error.issues).join('; ')}); skipped`);
    return undefined;
  }
  if (parsed.data.runId !== runId) {
    warnings.push(`${s3Url(location)} names run ${parsed.data.runId}, not ${runId}; skipped`);
    return undefined;
  }
  return parsed.data;
}

/**
 * One of the run's files (runs/<runId>/...), read against its schema; undefined when it has none,
 * or, with a warning naming it and what is not shown (`unshown`), when it does not fit.
 */
async function readRunFile<S extends z.ZodType>(target: RegistryTarget, key: string, schema: S, warnings: string[], unshown: string): Promise<z.output<S> | undefined> {
  try {
    return await getJsonWith(target.s3, { bucket: target.bucket, key }, schema);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    warnings.push(`${error.message}; ${unshown} not shown`);
    return undefined;
  }
}

/** Accuracy and macro F1 from the run's classification report; {} when it has none (or an unreadable one, with a warning). */
async function readScores(target: RegistryTarget, runId: string, warnings: string[]): Promise<{ accuracy?: number; macroF1?: number }> {
  const report = await readRunFile(target, runArtifactKeys(runId).classificationReport, ClassificationReportFile, warnings, `scores of run ${runId}`);
  return report ? { accuracy: reportAccuracy(report), macroF1: averageScores(report, 'macro avg')['f1-score'] } : {};
}

/** Training seconds and cost from the run's training.json; {} when it has none (or an unreadable one, with a warning). */
async function readTraining(target: RegistryTarget, runId: string, warnings: string[]): Promise<{ trainingSeconds?: number; costUsd?: number }> {
  const training = await readRunFile(target, runArtifactKeys(runId).training, TrainingFile, warnings, `training time of run ${runId}`);
  return training ? { trainingSeconds: training.seconds, ...(training.cost ? { costUsd: training.cost.usd } : {}) } : {};
}

/**
 * Which test split each registered run was judged on, from the registry's keys
 * (models/registry/<testSetId>/<runId>.json, lib/workflow/layout.ts modelVersionKey): one listing,
 * no record read, so one damaged record does not hide every run's state.
 */
export async function registeredTestSets(target: RegistryTarget): Promise<Map<string, string>> {
  const testSets = new Map<string, string>();
  for await (const object of listObjects(target.s3, target.bucket, REGISTRY_PREFIX)) {
    const match = REGISTRY_KEY.exec(object.key.slice(REGISTRY_PREFIX.length));
    if (match && !testSets.has(match[2])) testSets.set(match[2], match[1]);
  }
  return testSets;
}

const REGISTRY_KEY = /^([0-9a-f]{64})\/([^/]+)\.json$/;

async function championsOrWarning(target: RegistryTarget, warnings: string[]): Promise<Champion[]> {
  try {
    return await listChampions(target.s3, target.bucket);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    warnings.push(`${error.message}; champions not shown`);
    return [];
  }
}

// ---- compare ----

export interface StoredComparison {
  comparison: RunComparison;
  /** The two runs' files as read (with the test set id from the registry when registered). */
  runs: [RunArtifacts, RunArtifacts];
}

/** Reads both runs' files from the bucket and compares b against a (every delta b − a). */
export async function compareStoredRuns(target: RegistryTarget, runA: string, runB: string, options: { topConfusions?: number } = {}): Promise<StoredComparison> {
  if (runA === runB) throw new ConfigError(`runs compare: run ${runA} given twice: name two different runs`);
  const registered = await registeredTestSets(target);
  const a = await readStoredRun(target, runA, registered.get(runA));
  const b = await readStoredRun(target, runB, registered.get(runB));
  try {
    return { comparison: compareRuns(a, b, { topConfusions: options.topConfusions ?? DEFAULT_TOP_CONFUSIONS }), runs: [a, b] };
  } catch (error) {
    // Different class lists or matrix shapes: the stored files say so, the user picked the runs.
    if (error instanceof RangeError) throw new ConfigError(error.message);
    throw error;
  }
}

/**
 * A run's files from the bucket, parsed and cross-checked (lib/workflow/run-artifacts.ts).
 * metrics.json does not record the test split: a registered run's comes from its registry key;
 * an unregistered run has none, and the comparison says its test set is unknown.
 */
export async function readStoredRun(target: RegistryTarget, runId: string, testSetId: string | undefined): Promise<RunArtifacts> {
  const keys = runArtifactKeys(runId);
  const url = (file: RunArtifactFile) => s3Url({ bucket: target.bucket, key: keys[file] });
  const read = async (file: RunArtifactFile) => (await getObjectVersion(target.s3, { bucket: target.bucket, key: keys[file] }))?.bytes.toString('utf8');
  const [classificationReport, confusionMatrix, training, metrics] = await Promise.all(
    (['classificationReport', 'confusionMatrix', 'training', 'metrics'] as const).map(read),
  );
  if (classificationReport === undefined) {
    const record = await getObjectVersion(target.s3, { bucket: target.bucket, key: runRecordKey(runId) });
    if (record === undefined) {
      throw new ConfigError(`no run ${runId} in ${target.where}: ${s3Url({ bucket: target.bucket, key: runRecordKey(runId) })} does not exist (\`fmnist runs list\` shows the runs there)`);
    }
    throw new ConfigError(`run ${runId} has no report yet: ${url('classificationReport')} does not exist: did it finish Evaluate?`);
  }
  if (confusionMatrix === undefined) {
    throw new ConfigError(`run ${runId} has an incomplete report: ${url('confusionMatrix')} does not exist, though its classification report does: was Evaluate interrupted?`);
  }
  const texts: RunArtifactTexts = { classificationReport, confusionMatrix };
  if (training !== undefined) texts.training = training;
  if (metrics !== undefined) texts.metrics = metrics;
  const artifacts = parseRunArtifacts(runId, texts, url);
  if (testSetId !== undefined && artifacts.evaluation?.testSetId === undefined) {
    artifacts.evaluation = { ...artifacts.evaluation, testSetId };
  }
  return artifacts;
}
