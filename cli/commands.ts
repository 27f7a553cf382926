import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSplit } from '../lib/data/dataset.ts';
import { ingestDataset } from '../lib/data/ingest.ts';
import { ConfigError, WorkflowFailedError } from '../lib/errors.ts';
import { localFile } from '../lib/data/input-file.ts';
import { MANIFEST_FILE, type Manifest } from '../lib/data/manifest.ts';
import { formatSummary, summarize } from '../lib/data/summary.ts';
import { DEFAULT_DATA_CHECK_THRESHOLDS, type DataCheckPolicy } from '../lib/data/data-check-policy.ts';
import { formatDataChecks } from '../lib/data/data-checks-summary.ts';
import { initBackend } from '../lib/model/backend.ts';
import { BACKEND_ENV_VAR, parseBackendChoice, trainingChoicesFrom } from '../lib/model/choices.ts';
import { classificationReport, formatClassificationReport } from '../lib/report/classification-report.ts';
import { writeReport } from '../lib/report/write-report.ts';
import { runEvaluateStep, type EvaluationMetrics } from '../lib/workflow/evaluate-step.ts';
import { newRunId } from '../lib/workflow/run-id.ts';
import { writeJson } from '../lib/json-file.ts';
import { runTrainStep, type TrainingRecord } from '../lib/workflow/train-step.ts';
import { MODEL_FILES, REPORT_FILES } from '../lib/workflow/files.ts';
import { runWorkflowLocally, type LocalRunResult } from './local/runner.ts';
import { DEFAULT_LOCAL_STATE_DIR } from './local/local-s3.ts';
import type { ApprovalMode, ExecutionInput } from '../lib/workflow/execution-input.ts';
import type { PromotionMode } from '../lib/workflow/promotion.ts';
import { STATE_NAMES } from '../lib/workflow/states.ts';
import type { ExecutionEvent } from './local/progress.ts';
import { writeLocalRunNote } from './local-run-note.ts';
import { causeMessage } from './local/progress.ts';
import { readLabelFile } from './label-file.ts';
import { formatPromotion, formatTestFigures, parseRunOutput, reusedRunLine, reusedRunOf, runRecord } from './run-summary.ts';
import { trainConfigFromFlags, trainConfigOverrides, type TrainFlags } from './options.ts';
import { trainingProgress } from './progress.ts';
import { whileInterruptible } from './signals.ts';

/** Human output goes to stderr so stdout stays clean for `--json`. */
const say = (line = '') => process.stderr.write(line + '\n');

export interface IngestFlags {
  train: string[];
  test: string[];
  out: string;
  json?: boolean;
  limit?: number;
  /** Replace another dataset already in `out`. */
  replace?: boolean;
  /** "fail": a data check over its threshold stops the ingest (default "warn"). */
  dataChecks?: DataCheckPolicy;
}

export async function ingestCommand(flags: IngestFlags): Promise<Manifest> {
  const manifest = await ingestDataset({
    train: flags.train.map(localFile),
    test: flags.test.map(localFile),
    outDir: flags.out,
    limit: flags.limit ? { train: flags.limit, test: flags.limit } : undefined,
    replace: flags.replace,
    checks: { policy: flags.dataChecks ?? 'warn', thresholds: DEFAULT_DATA_CHECK_THRESHOLDS },
  });
  say(`dataset ${manifest.datasetId} written to ${flags.out}`);
  await printDatasetSummary(flags.out, manifest);
  if (manifest.checks) say(formatDataChecks(manifest.checks));
  if (flags.json) {
    const splitSummary = (split: 'train' | 'test') => ({
      examples: manifest.splits[split].examples,
      labelHistogram: manifest.splits[split].labelHistogram,
    });
    process.stdout.write(
      JSON.stringify({
        datasetId: manifest.datasetId,
        dir: flags.out,
        train: splitSummary('train'),
        test: splitSummary('test'),
        dataCheckFindings: manifest.checks?.findings ?? [],
      }) +
        '\n',
    );
  }
  return manifest;
}

/** The walkthrough's `head()` / `label.unique()` check: does the data look like Fashion-MNIST? */
async function printDatasetSummary(dir: string, manifest: Manifest): Promise<void> {
  for (const split of ['train', 'test'] as const) {
    const data = await loadSplit(dir, split, manifest);
    say(formatSummary(`${split} split`, summarize(data)));
  }
}

export interface TrainCommandFlags extends TrainFlags {
  data: string;
  out: string;
  runId?: string;
}

export async function trainCommand(flags: TrainCommandFlags): Promise<TrainingRecord> {
  const config = await trainConfigFromFlags(flags);
  const choices = trainingChoicesFrom(process.env);
  const warn = (message: string) => console.warn(message);
  const backend = await initBackend(choices.backend ?? config.backend, { warn });
  say(`training on backend ${backend.name}${backend.tensorflowVersion ? ` (TensorFlow ${backend.tensorflowVersion})` : ''}`);
  const record = await runTrainStep({
    datasetDir: flags.data,
    modelDir: flags.out,
    config,
    runId: flags.runId ?? newRunId(),
    hooks: { ...choices, warn, ...trainingProgress() },
  });
  const stopping = record.earlyStopping;
  const epochs = stopping?.stoppedEpoch ? `${stopping.stoppedEpoch} of ${config.epochs} epochs (stopped early)` : `${config.epochs} epochs`;
  say(
    `trained ${record.trainExamples} images x ${epochs} in ${record.seconds.toFixed(1)} s ` +
      `(${Math.round(record.imagesPerSecond)} images/s on ${record.backend.name}); model in ${flags.out}`,
  );
  if (stopping?.restoredEpoch) say(`restored the weights of epoch ${stopping.restoredEpoch}, the best ${stopping.monitor} (${Number(stopping.best.toPrecision(6))})`);
  return record;
}

export interface EvaluateFlags {
  data: string;
  model: string;
  out: string;
}

export async function evaluateCommand(flags: EvaluateFlags): Promise<EvaluationMetrics> {
  await requireFile(join(flags.model, MODEL_FILES.model), `${flags.model}: no model here (no ${MODEL_FILES.model}): give a directory written by \`train\``);
  await requireFile(join(flags.data, MANIFEST_FILE), `${flags.data}: no dataset here (no ${MANIFEST_FILE}): give a directory written by \`ingest\``);
  await initBackend(parseBackendChoice(process.env[BACKEND_ENV_VAR], BACKEND_ENV_VAR), { warn: (message) => console.warn(message) });
  const metrics = await runEvaluateStep({ datasetDir: flags.data, modelDir: flags.model, reportDir: flags.out });
  say(`test loss ${metrics.loss.toFixed(4)} - test accuracy ${metrics.accuracy.toFixed(4)} (${metrics.examples} images)`);
  say(`report written to ${flags.out}: ${metrics.files.join(', ')}`);
  return metrics;
}

export interface ReportFlags {
  labels: string;
  predictions: string;
  out: string;
}

export async function reportCommand(flags: ReportFlags): Promise<void> {
  const [yTrue, yPred] = await Promise.all([readLabelFile(flags.labels), readLabelFile(flags.predictions)]);
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(
      `${flags.labels} has ${yTrue.length} labels but ${flags.predictions} has ${yPred.length}: they must pair line by line`,
    );
  }
  await mkdir(flags.out, { recursive: true });
  const files = await writeReport(flags.out, { yTrue, yPred });
  process.stdout.write(formatClassificationReport(classificationReport(yTrue, yPred)) + '\n');
  say(`report written to ${flags.out}: ${files.join(', ')}`);
}

export interface RunFlags extends TrainFlags {
  train: string[];
  test: string[];
  /** Default: runs/<run id> under the working directory. */
  out?: string;
  limit?: number;
  /** The embedded S3 server's storage; kept between runs so the champion carries over. */
  stateDir?: string;
  /** Use a throw-away bucket instead of stateDir. */
  fresh?: boolean;
  promote?: PromotionMode;
  /** "manual": wait after Evaluate for `fmnist models approve`/`reject` (default: the stack's setting). */
  approval?: ApprovalMode;
  /** "fail": a data check over its threshold stops the run at Ingest (default: the stack's setting, "warn"). */
  dataChecks?: DataCheckPolicy;
  /** false (--no-cache): train even when a completed run with the same dataset, config and code version could be reused. */
  cache?: boolean;
  datasetDescription?: string;
}

/**
 * Ingest, train, evaluate and promote end to end on this machine: the deployed workflow's own
 * state machine definition, run in-process against an embedded S3 server (cli/local/).
 */
export async function runCommand(flags: RunFlags): Promise<LocalRunResult> {
  const config = await trainConfigOverrides(flags); // refuse bad settings before any work
  checkLocalRunFlags(flags);
  const runId = newRunId();
  say(`run ${runId}: ${flags.datasetDescription ?? 'data from the command line'}`);
  return runLocalWorkflow(localWorkflowRun(flags, runId, { config }));
}

/** Refuses flags that cannot work together on this machine (`run`, `sweep`). */
export function checkLocalRunFlags(flags: RunFlags): void {
  if (flags.approval === 'manual' && flags.fresh) {
    // The answer comes from another process, which finds the run through its state directory.
    throw new ConfigError('--approval manual waits for `fmnist models approve`, which finds the run in its state directory: drop --fresh');
  }
}

/** The local execution `run` and `sweep` start from their shared flags, with `input` (config, sweep) on top. */
export function localWorkflowRun(flags: RunFlags, runId: string, input: LocalWorkflowRun['input']): LocalWorkflowRun {
  return {
    runId,
    executionName: runId,
    out: resolve(flags.out ?? join('runs', runId)),
    data: { files: { train: flags.train, test: flags.test } },
    input: {
      ...input,
      ...(flags.limit ? { limit: flags.limit } : {}),
      ...(flags.promote ? { promote: flags.promote } : {}),
      ...(flags.approval ? { approval: flags.approval } : {}),
      ...(flags.dataChecks ? { dataChecks: flags.dataChecks } : {}),
      ...(flags.cache === false ? { cache: false } : {}),
    },
    stateDir: flags.fresh ? undefined : resolve(flags.stateDir ?? DEFAULT_LOCAL_STATE_DIR),
  };
}

/** One local execution of a run: a new one (`run`) or a resumed one (`resume`, cli/resume.ts). */
export interface LocalWorkflowRun {
  runId: string;
  executionName: string;
  /** Absolute output directory. */
  out: string;
  /** Local files to upload, or raw/ keys already in the local bucket (a resumed run's). */
  data: { files: { train: string[]; test: string[] } } | { keys: { train: string[]; test: string[] } };
  /** The execution input besides train and test. */
  input: Omit<Partial<ExecutionInput>, 'train' | 'test'>;
  /** Undefined: a throw-away bucket. */
  stateDir?: string;
}

/** Runs the local workflow, then prints and records the run's results (runs/<id>/run.json of `out`). */
export async function runLocalWorkflow(run: LocalWorkflowRun): Promise<LocalRunResult> {
  const started = performance.now();
  const { runId, out, stateDir } = run;
  // Where the outputs go and who runs it, for `fmnist resume` after a crash (cli/local-run-note.ts);
  // once the cloud is up, also where `fmnist models approve` answers the run's task tokens.
  const note = stateDir ? await writeLocalRunNote(stateDir, { runId, outDir: out }) : undefined;
  const onCloudReady = note
    ? async ({ controlPlane }: { controlPlane: string }) => {
        await writeLocalRunNote(stateDir!, { runId, outDir: out, startedAt: note.startedAt, controlPlane });
      }
    : undefined;

  // Ctrl-C or SIGTERM aborts the execution, which stops its tasks and its cloud (a temporary
  // bucket included); the process then exits with the signal's code (bin/fmnist.ts).
  const abort = new AbortController();
  const result = await whileInterruptible(
    () => abort.abort(),
    () =>
      runWorkflowLocally({
        ...('files' in run.data ? run.data.files : { train: [], test: [], storedInputs: run.data.keys }),
        input: { ...run.input, runId },
        executionName: run.executionName,
        outDir: out,
        stateDir,
        trainHooks: trainingProgress(),
        // What the functions' and tasks' processes print besides their log records (TensorFlow's
        // start-up notice, Node's warnings) stays hidden like the CLI's own notices (quiet-start.ts).
        showNotices: process.env.FMNIST_DEBUG === '1',
        signal: abort.signal,
        onCloudReady,
        onEvent: (event) => sayHowToAnswer(event, runId, stateDir),
      }),
  );
  if (result.status !== 'SUCCEEDED') {
    throw new WorkflowFailedError(
      `local workflow ${result.status}: ${result.error ?? 'unknown error'}: ${causeMessage(result.cause)} (event log in ${out})`,
    );
  }

  const reused = reusedRunOf(result.output);
  if (reused) {
    say(`\n${reusedRunLine(reused)}; its outputs are under ${out}`);
    await writeJson(join(out, 'run.json'), { runId, reusedRun: reused, totalSeconds: (performance.now() - started) / 1000 });
    return result;
  }
  const output = parseRunOutput(result.output);
  say(`\n${formatTestFigures(output)}`);
  const promotion = formatPromotion(output);
  say(promotion ? `${promotion}\n` : '');
  // The per-class table is a document for people (the output carries no per-class figures): shown if the run copied it.
  const report = await readFile(join(out, 'report', REPORT_FILES.classificationReportText), 'utf8').catch(() => undefined);
  if (report !== undefined) say(report);
  const seconds = (performance.now() - started) / 1000;
  await writeJson(join(out, 'run.json'), runRecord(runId, output, seconds));
  const { training } = output;
  say(`done in ${seconds.toFixed(1)} s (training ${training.seconds.toFixed(1)} s on ${training.backend}, ${Math.round(training.imagesPerSecond)} images/s); everything is under ${out}`);
  return result;
}

/** When the run starts waiting for a person: the commands that answer it. */
function sayHowToAnswer(event: ExecutionEvent, executionRunId: string, stateDir: string | undefined): void {
  if (event.type !== 'StateEntered' || event.state?.name !== STATE_NAMES.awaitApproval) return;
  // The run that waits is the evaluated one: a sweep's best trial, not the sweep.
  const evaluated = (event.state.input as { evaluation?: { runId?: unknown } } | undefined)?.evaluation?.runId;
  const runId = typeof evaluated === 'string' ? evaluated : executionRunId;
  if (!stateDir) {
    // The stack's default approval is "manual" and the bucket is temporary: no note, nobody can answer.
    say(`\nrun ${runId} is waiting for approval, but a --fresh run cannot be answered: it goes on unpromoted when the wait expires (Ctrl-C stops it)\n`);
    return;
  }
  const where = ` --state-dir ${shellWord(stateDir)}`;
  say(`\nrun ${runId} is waiting for approval; answer it from another terminal:`);
  say(`  fmnist models approve ${runId}${where} [--reason <text>]`);
  say(`  fmnist models reject ${runId}${where} [--reason <text>]\n`);
}

/** A path as one shell word (quoted when it has anything but safe characters). */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** Refuses with `message` unless `path` is a file (a missing directory says the same). */
async function requireFile(path: string, message: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new ConfigError(message);
}
