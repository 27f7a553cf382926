import './polyfills.ts';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { downloadPrefix } from '../aws/s3.ts';
import { ConfigError } from '../data/errors.ts';
import { MANIFEST_FILE } from '../data/manifest.ts';
import { DATASET_SUMMARY_MESSAGE, type DatasetSummary, formatSummary } from '../data/summary.ts';
import type { TrainHooks } from '../model/train.ts';
import type { EpochLog } from '../report/history.ts';
import type { ExecutionInput } from '../workflow/execution-input.ts';
import { datasetPrefix as datasetPrefixOf, modelPrefix, reportPrefix } from '../workflow/layout.ts';
import { CHAMPION_KEY } from '../workflow/promotion.ts';
import { newRunId } from '../workflow/run-id.ts';
import { type AslDefinition, loadWorkflowDefinition } from './definition.ts';
import { LocalTaskTokens, type TaskFunction } from './integrations.ts';
import { LocalLogger, type LocalLogRecord } from './logger.ts';
import { type LocalS3, startLocalS3 } from './local-s3.ts';
import { type ExecutionEvent, formatEpochLine, ProgressPrinter } from './progress.ts';
import { defaultTaskFunctions, type LocalTaskStateName, localTaskHandlers } from './tasks.ts';

/**
 * Runs the training workflow on this machine: the state machine definition synthesized from the
 * CDK code (./definition.ts), executed in-process by aws-local-stepfunctions, each Task state
 * running the same handler code as in AWS (./tasks.ts), against an embedded S3 server
 * (./local-s3.ts). See lib/local/README.md.
 */
export type { ExecutionEvent };

export type LocalTaskFunctions = Record<LocalTaskStateName, TaskFunction>;

export interface LocalRunOptions {
  /** Local files (Kaggle CSV, .csv.gz, IDX): uploaded to raw/train/<name> and raw/test/<name>. */
  train: string[];
  test: string[];
  /** The rest of the execution input (limit, runId, config, trainOn, promote); validated by ValidateInput. */
  input?: Omit<Partial<ExecutionInput>, 'train' | 'test'>;
  /** Where the run's outputs are copied (created if needed). */
  outDir: string;
  /** Default: a fresh run id (which ValidateInput then uses as the run id, as for triggered runs). */
  executionName?: string;
  /**
   * The local S3 server's directory. Default: a temporary directory, removed at the end. Give a
   * directory to keep the bucket between runs (champion promotion across runs, dataset reuse).
   */
  stateDir?: string;
  bucket?: string;
  /** Run this definition instead of the synthesized one (tests). */
  definition?: AslDefinition;
  /** CDK context for synthesizing, e.g. { lambdaTrainMaxImages: 50 }. */
  context?: Record<string, unknown>;
  /** See loadWorkflowDefinition: cache directory, or false. */
  definitionCacheDir?: string | false;
  /**
   * 'local' (default): Task states get no timeout of their own (the execution's TimeoutSeconds
   * still applies): their TimeoutSeconds are the Lambda 15-minute guards, and this machine is
   * not Lambda; a slower laptop would otherwise "fall back to Fargate" and train twice.
   * 'definition': keep them (a task that times out keeps running in-process until it ends; the
   * runner waits for it before stopping the S3 server).
   */
  taskTimeouts?: 'local' | 'definition';
  /** Replaces every Retry interval (milliseconds), e.g. 0 in tests. Default: the definition's. */
  retryIntervalMs?: number;
  /**
   * Replaces the code behind Task states (tests): an object by state name, or a function given
   * the default functions (to wrap them). For TrainOnFargate this is the train step the
   * emulated container runs.
   */
  handlers?: Partial<LocalTaskFunctions> | ((defaults: LocalTaskFunctions) => Partial<LocalTaskFunctions>);
  /** Every execution event as it happens. */
  onEvent?: (event: ExecutionEvent) => void;
  /** Training progress; passed to the train handler as `hooks` (see README: needs the handler to accept them). */
  trainHooks?: TrainHooks;
  /** Progress lines; default process.stderr; false for none. */
  progress?: { write(text: string): unknown } | false;
  /** Handler log records at or above this level are shown with the progress. Default WARN. */
  logLevel?: LogLevel;
  /** Aborts the execution (status ABORTED). */
  signal?: AbortSignal;
}

export type LocalRunStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalRunResult {
  status: LocalRunStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
  outDir: string;
  executionName: string;
  runId?: string;
  datasetId?: string;
  /** Files written under outDir (relative paths). */
  files: string[];
  /** Outputs that were not in the bucket (e.g. no report after a failure). */
  missing: string[];
  uploads: { path: string; key: string; bytes: number }[];
  /** What the runner changed in the definition before running it (timeouts). */
  adjustments: string[];
  timings: {
    definitionMs: number;
    definitionSource: 'cache' | 'synth' | 'given';
    s3StartMs: number;
    uploadMs: number;
    executionMs: number;
    copyMs: number;
    totalMs: number;
  };
}

/** setTimeout's longest delay, in whole seconds (longer ones fire at once in Node.js). */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The definition as executed locally, with the same meaning as in AWS where the library differs.
 * aws-local-stepfunctions gives a Task without
 * TimeoutSeconds 60 s (AWS: 99,999,999 s) and cannot wait longer than setTimeout's 24.8 days, so
 * such values become MAX_TIMER_SECONDS; with taskTimeouts 'local', every Task's timeout does.
 */
export function localizeDefinition(
  definition: AslDefinition,
  taskTimeouts: 'local' | 'definition' = 'local',
): { definition: AslDefinition; adjustments: string[] } {
  const copy = structuredClone(definition);
  const adjustments: string[] = [];
  if (copy.TimeoutSeconds === undefined || copy.TimeoutSeconds > MAX_TIMER_SECONDS) {
    adjustments.push(`execution TimeoutSeconds ${copy.TimeoutSeconds ?? '(none)'} -> ${MAX_TIMER_SECONDS}`);
    copy.TimeoutSeconds = MAX_TIMER_SECONDS;
  }
  for (const [name, state] of Object.entries(copy.States)) {
    // ResultPath "$" is the default (the result replaces the input); aws-local-stepfunctions 3.0
    // instead stores the result under a key named "$" (processResultPath strips only "$."), so
    // "$" is written as the equivalent omission. Same for catchers.
    if (state.ResultPath === '$') {
      delete state.ResultPath;
      adjustments.push(`${name}: ResultPath "$" -> omitted (the same meaning)`);
    }
    for (const catcher of (state.Catch as { ResultPath?: string }[] | undefined) ?? []) {
      if (catcher.ResultPath === '$') {
        delete catcher.ResultPath;
        adjustments.push(`${name}: Catch ResultPath "$" -> omitted (the same meaning)`);
      }
    }
    if (state.Type !== 'Task') continue;
    const timeout = state.TimeoutSeconds as number | undefined;
    if (state.TimeoutSecondsPath !== undefined && taskTimeouts === 'definition') continue;
    if (taskTimeouts === 'local' || timeout === undefined || timeout > MAX_TIMER_SECONDS) {
      if (timeout === MAX_TIMER_SECONDS) continue;
      adjustments.push(`${name}: TimeoutSeconds ${timeout ?? state.TimeoutSecondsPath ?? '(none)'} -> ${MAX_TIMER_SECONDS}`);
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = MAX_TIMER_SECONDS;
    }
  }
  return { definition: copy, adjustments };
}

/**
 * Constructing a StateMachine validates the definition with asl-validator (~0.6 s here); a
 * StateMachine keeps no state between runs, so one per distinct definition is reused.
 */
const machines = new Map<string, StateMachine>();
function stateMachineFor(definition: AslDefinition): StateMachine {
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition as unknown as StateMachineDefinition);
    if (machines.size >= 8) machines.delete(machines.keys().next().value!);
    machines.set(key, machine);
  }
  return machine;
}

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
const levelRank = (level: string) => {
  const index = LEVELS.indexOf(level.toUpperCase());
  return index < 0 ? 1 : index;
};

export async function runWorkflowLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const started = performance.now();
  const outDir = resolve(options.outDir);
  const executionName = options.executionName ?? newRunId();
  const progressStream = options.progress === undefined ? process.stderr : options.progress;
  const printer = new ProgressPrinter(progressStream ? (line) => progressStream.write(line + '\n') : () => {});
  const say = (line: string) => progressStream && progressStream.write(line + '\n');
  const inputs = await checkInputs(options.train, options.test);

  let definitionMs = 0;
  let definitionSource: LocalRunResult['timings']['definitionSource'] = 'given';
  let synthesized = options.definition;
  if (!synthesized) {
    const loaded = await loadWorkflowDefinition({ context: options.context, cacheDir: options.definitionCacheDir });
    synthesized = loaded.definition;
    definitionMs = loaded.milliseconds;
    definitionSource = loaded.source;
  }
  const { definition, adjustments } = localizeDefinition(synthesized, options.taskTimeouts ?? 'local');

  // State the runner learns from the events: for progress lines and for copying outputs.
  const learned: { runId?: string; datasetId?: string; epochs?: number; trainState?: string } = {};
  let hooksActive = false;
  const trainHooks = options.trainHooks ? observedHooks(options.trainHooks, () => (hooksActive = true)) : undefined;
  const showLevel = levelRank(options.logLevel ?? 'WARN');
  const onLog = (record: LocalLogRecord) => {
    if (record.message === DATASET_SUMMARY_MESSAGE) {
      const { split, summary } = record.extra as { split: string; summary: DatasetSummary };
      say(formatSummary(`${split} split`, summary));
    }
    if (record.message === 'epoch finished' && !(trainHooks && hooksActive)) {
      const log = record.extra as unknown as EpochLog;
      if (typeof log.epoch === 'number') printer.note(learned.trainState ?? 'train', formatEpochLine(log, learned.epochs));
    }
    if (levelRank(record.level) >= showLevel) {
      const extra = Object.keys(record.extra).length > 0 ? ` ${JSON.stringify(record.extra)}` : '';
      say(`           [${record.service}] ${record.level} ${record.message}${extra}`);
    }
  };
  const loggers = new Map<string, LocalLogger>();
  const logger = (serviceName: string) => {
    let existing = loggers.get(serviceName);
    if (!existing) loggers.set(serviceName, (existing = new LocalLogger({ serviceName, sink: onLog })));
    return existing;
  };

  const s3Started = performance.now();
  const s3 = await startLocalS3({ directory: options.stateDir, bucket: options.bucket });
  const s3StartMs = performance.now() - s3Started;
  const inFlight = new Set<Promise<unknown>>();
  const events: ExecutionEvent[] = [];
  const timings = { definitionMs, definitionSource, s3StartMs, uploadMs: 0, executionMs: 0, copyMs: 0, totalMs: 0 };
  try {
    say(
      `local run ${executionName}: definition ${definitionSource === 'given' ? 'given' : `from ${definitionSource} in ${(definitionMs / 1000).toFixed(1)} s`}, ` +
        `S3 at ${s3.endpoint} (${s3.temporary ? 'temporary' : s3.directory})`,
    );
    const uploadStarted = performance.now();
    const uploads = await uploadInputs(s3.client, s3.bucket, inputs);
    timings.uploadMs = performance.now() - uploadStarted;
    for (const upload of uploads) say(`  ${upload.path} -> s3://${s3.bucket}/${upload.key}`);

    const defaults = defaultTaskFunctions({ s3: s3.client, bucket: s3.bucket, logger, trainHooks });
    const replaced = typeof options.handlers === 'function' ? options.handlers(defaults) : (options.handlers ?? {});
    const tokens = new LocalTaskTokens(`local-${executionName}`);
    const handlers = localTaskHandlers(
      definition,
      { ...defaults, ...replaced },
      {
        tokens,
        fargateLog: (message, extra = {}) =>
          onLog({ level: /failed/.test(message) ? 'WARN' : 'INFO', message, service: 'fmnist-train-fargate', extra }),
        track: (_state, work) => {
          inFlight.add(work);
          work.then(
            () => inFlight.delete(work),
            () => inFlight.delete(work),
          );
        },
      },
    );

    const executionInput = {
      ...options.input,
      train: uploads.filter((u) => u.split === 'train').map((u) => u.key),
      test: uploads.filter((u) => u.split === 'test').map((u) => u.key),
    };
    const machine = stateMachineFor(definition);
    const retryIntervalOverrides =
      options.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(Object.keys(definition.States).map((name) => [name, options.retryIntervalMs!]));
    const stateMachineName = 'FashionMnistLocal';
    const runOptions: RunOptions = {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
      context: {
        Execution: {
          Id: `arn:aws:states:us-east-1:123456789012:execution:${stateMachineName}:${executionName}`,
          Name: executionName,
          RoleArn: 'arn:aws:iam::123456789012:role/local',
        },
        StateMachine: { Id: `arn:aws:states:us-east-1:123456789012:stateMachine:${stateMachineName}`, Name: stateMachineName },
        Task: tokens.contextTask(),
      },
    };

    const executionStarted = performance.now();
    const execution = machine.run(executionInput as never, runOptions);
    const onAbort = () => execution.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) execution.abort();
    const consumed = (async () => {
      for await (const raw of execution.eventLogs) {
        const event = raw as unknown as ExecutionEvent;
        events.push(event);
        learn(event, learned);
        printer.event(event);
        options.onEvent?.(event);
      }
    })();

    let status: LocalRunStatus = 'SUCCEEDED';
    let output: unknown;
    let error: string | undefined;
    let cause: string | undefined;
    try {
      output = await execution.result;
    } catch (failure) {
      if (failure instanceof ExecutionError) status = 'FAILED';
      else if (failure instanceof ExecutionTimeoutError) status = 'TIMED_OUT';
      else if (failure instanceof ExecutionAbortedError) status = 'ABORTED';
      else throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    await consumed;
    timings.executionMs = performance.now() - executionStarted;
    if (status !== 'SUCCEEDED') {
      const failed = events.find((event) => event.type === 'ExecutionFailed');
      error = failed?.Error ?? (status === 'TIMED_OUT' ? 'States.Timeout' : status === 'ABORTED' ? 'ExecutionAborted' : undefined);
      cause = failed ? (typeof failed.Cause === 'string' ? failed.Cause : JSON.stringify(failed.Cause)) : undefined;
    }

    if (inFlight.size > 0) {
      // A task that timed out, or an aborted execution's current task, cannot be cancelled:
      // let it end before the S3 server goes away under it.
      say(`waiting for ${inFlight.size} abandoned task(s) still running in this process...`);
      await Promise.allSettled([...inFlight]);
    }

    const copyStarted = performance.now();
    await mkdir(outDir, { recursive: true });
    const copied = await copyOutputs(s3, learned, outDir);
    const summary = {
      status,
      executionName,
      runId: learned.runId,
      datasetId: learned.datasetId,
      ...(status === 'SUCCEEDED' ? {} : { error, cause }),
      uploads: uploads.map(({ path, key, bytes }) => ({ path, key, bytes })),
      adjustments,
      bucket: s3.bucket,
      stateDir: s3.temporary ? undefined : s3.directory,
    };
    const written = [
      await writeJsonFile(outDir, 'execution-events.json', events),
      await writeJsonFile(outDir, 'execution-output.json', status === 'SUCCEEDED' ? output : { error, cause }),
      await writeJsonFile(outDir, 'state-machine.json', synthesized),
    ];
    timings.copyMs = performance.now() - copyStarted;
    timings.totalMs = performance.now() - started;
    written.push(await writeJsonFile(outDir, 'local-run.json', { ...summary, timings }));
    for (const item of copied.missing) if (status === 'SUCCEEDED') say(`  note: ${item} was not in the bucket`);
    say(`outputs in ${outDir}`);
    return {
      status,
      output,
      error,
      cause,
      events,
      outDir,
      executionName,
      runId: learned.runId,
      datasetId: learned.datasetId,
      files: [...copied.files, ...written].sort(),
      missing: copied.missing,
      uploads: uploads.map(({ path, key, bytes }) => ({ path, key, bytes })),
      adjustments,
      timings,
    };
  } finally {
    await s3.stop();
  }
}

function observedHooks(hooks: TrainHooks, seen: () => void): TrainHooks {
  return {
    onEpochBegin: (...args) => {
      seen();
      hooks.onEpochBegin?.(...args);
    },
    onBatchEnd: (...args) => {
      seen();
      hooks.onBatchEnd?.(...args);
    },
    onEpochEnd: (...args) => {
      seen();
      hooks.onEpochEnd?.(...args);
    },
  };
}

/** Picks the run id, dataset and epochs out of the state outputs as they pass. */
function learn(event: ExecutionEvent, learned: { runId?: string; datasetId?: string; epochs?: number; trainState?: string }): void {
  if (event.type === 'StateEntered' && event.state?.type === 'Task' && /^Train/.test(event.state.name)) {
    learned.trainState = event.state.name;
  }
  if (event.type !== 'StateExited') return;
  const output = event.state?.output as
    | { plan?: { runId?: string; epochs?: number }; dataset?: { datasetId?: string }; training?: { runId?: string } }
    | undefined;
  if (typeof output?.plan?.runId === 'string') learned.runId = output.plan.runId;
  if (typeof output?.plan?.epochs === 'number') learned.epochs = output.plan.epochs;
  if (typeof output?.dataset?.datasetId === 'string') learned.datasetId = output.dataset.datasetId;
  if (typeof output?.training?.runId === 'string') learned.runId = output.training.runId;
}

interface InputFile {
  split: 'train' | 'test';
  path: string;
  bytes: number;
}

async function checkInputs(train: string[], test: string[]): Promise<InputFile[]> {
  if (train.length === 0 || test.length === 0) throw new ConfigError('the local run needs at least one train and one test file');
  const files: InputFile[] = [];
  for (const [split, paths] of [
    ['train', train],
    ['test', test],
  ] as const) {
    for (const path of paths) {
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw new ConfigError(`${path}: no such file`);
      files.push({ split, path: resolve(path), bytes: info.size });
    }
  }
  return files;
}

/** raw/<split>/<file name> (names kept: IDX files pair by name); a repeated name goes one level down. */
async function uploadInputs(s3: S3Client, bucket: string, files: InputFile[]) {
  const used = new Set<string>();
  const uploads: (InputFile & { key: string })[] = [];
  for (const file of files) {
    let key = `raw/${file.split}/${basename(file.path)}`;
    for (let n = 2; used.has(key); n++) key = `raw/${file.split}/${n}/${basename(file.path)}`;
    used.add(key);
    // Streamed: the full train CSV is ~130 MB. Works with s3rver because the client computes no
    // streaming checksum (WHEN_REQUIRED); ContentLength spares the SDK a length probe.
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file.path), ContentLength: file.bytes }),
    );
    uploads.push({ ...file, key });
  }
  return uploads;
}

/** Copies what the run produced from the bucket (whatever exists: a failed run has less). */
async function copyOutputs(
  s3: LocalS3,
  learned: { runId?: string; datasetId?: string },
  outDir: string,
): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const copyObject = async (key: string, target: string) => {
    try {
      const response = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const bytes = await response.Body!.transformToByteArray();
      await mkdir(join(outDir, target, '..'), { recursive: true });
      await writeFile(join(outDir, target), bytes);
      files.push(target);
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') missing.push(key);
      else throw error;
    }
  };
  const copyPrefix = async (prefix: string, target: string) => {
    try {
      const written = await downloadPrefix(s3.client, { bucket: s3.bucket, key: prefix }, join(outDir, target));
      files.push(...written.map((file) => `${target}/${file}`));
    } catch (error) {
      if (error instanceof ConfigError && /nothing found/.test(error.message)) missing.push(prefix);
      else throw error;
    }
  };
  if (learned.datasetId) await copyObject(datasetPrefixOf(learned.datasetId) + MANIFEST_FILE, `dataset/${MANIFEST_FILE}`);
  if (learned.runId) {
    await copyPrefix(modelPrefix(learned.runId), 'model');
    await copyPrefix(reportPrefix(learned.runId), 'report');
  }
  await copyObject(CHAMPION_KEY, 'champion.json');
  return { files, missing };
}

async function writeJsonFile(dir: string, name: string, value: unknown): Promise<string> {
  await writeFile(join(dir, name), JSON.stringify(value ?? null, null, 2) + '\n');
  return name;
}
