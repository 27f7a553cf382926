import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { ExecutionInput } from '../../lib/workflow/execution-input.ts';
import { ConfigError } from '../../lib/errors.ts';
import { newRunId } from '../../lib/workflow/run-id.ts';
import { checkInputs, copyOutputs, type InputFile, type Upload, uploadInputs, writeJsonFile } from './bucket-io.ts';
import { OWNER_TARGETS } from './cloud/control-plane.ts';
import { checkLogPermissions, LocalCloud } from './cloud/local-cloud.ts';
import type { PublishedEvent } from './cloud/eventbridge.ts';
import type { AslDefinition, LambdaSpec } from './cloud/model.ts';
import type { Template } from './cloud/template.ts';
import { loadStackTemplate } from './definition.ts';
import type { ExecutionEvent } from './progress.ts';
import { claimOutDir } from './out-dir.ts';
import { RunDisplay, type RunDisplayOptions } from './run-display.ts';
import { statesInReachOrder } from './states/asl.ts';
import { ExecutionHistory, historyOperations } from './states/history.ts';
import { type LambdaDouble, STATE_PAYLOAD_LIMIT_BYTES, taskHandlers } from './states/integrations.ts';
import { runExecution, type ExecutionOutcome, type ExecutionStatus } from './states/execution.ts';
import { localizeDefinition, retryIntervals } from './states/localize.ts';
import { threadBounds } from './cloud/thread-bound.ts';
import type { JsonValue } from './states/task-tokens.ts';
import { TaskTokens } from './states/task-tokens.ts';

/**
 * Runs the training workflow on this machine, as strict as AWS: the stack's synthesized template
 * deployed into a local cloud (./cloud/: S3, Lambda, ECS, EventBridge and IAM as the template
 * configures them), and the state machine executed by aws-local-stepfunctions with Step
 * Functions' integrations, timeouts, heartbeats and limits (./states/). See cli/local/README.md.
 */
export type { ExecutionEvent };
export type LocalRunStatus = ExecutionStatus;

export interface LocalRunOptions extends RunDisplayOptions {
  /** Local files (Kaggle CSV, .csv.gz, IDX): uploaded to raw/<split>/<sha256, 16 hex digits>/<name>. */
  train: string[];
  test: string[];
  /**
   * Instead of train/test (give those empty): raw/ keys already in the bucket, used as they are
   * (a resumed run's inputs, `fmnist resume`). Nothing is uploaded.
   */
  storedInputs?: { train: string[]; test: string[] };
  /** The rest of the execution input (limit, runId, config, trainOn, promote); validated by ValidateInput. */
  input?: Omit<Partial<ExecutionInput>, 'train' | 'test'>;
  /** Where the run's outputs are copied (created if needed); refused if it holds another run's. */
  outDir: string;
  /** Default: a fresh run id (which ValidateInput then uses as the run id, as for triggered runs). */
  executionName?: string;
  /** The local S3 server's directory; default a temporary one. Give one to keep the bucket between runs. */
  stateDir?: string;
  bucket?: string;
  /** Deploy this template instead of synthesizing the stack (tests: variants of the stack). */
  template?: Template;
  /**
   * Run in this already started cloud (its template, bucket and time scale), and leave it
   * running: warm environments carry over between runs, as they do in AWS. Default: a cloud of
   * its own, stopped at the end.
   */
  cloud?: LocalCloud;
  /** CDK context for synthesizing, e.g. { lambdaTrainMaxImages: 50 }. */
  context?: Record<string, unknown>;
  /** See loadStackTemplate: cache directory, or false. */
  definitionCacheDir?: string | false;
  /**
   * Multiplies every duration the cloud enforces (task and execution timeouts, heartbeats, Lambda
   * timeouts, retry intervals, stop timeouts): 0.001 turns 600 s into 0.6 s. Default 1.
   */
  timeScale?: number;
  /**
   * At most this many iterations of one Map state run at once on this machine (default: its
   * cores, os.availableParallelism(): each iteration may train a model in its own process). A
   * resource bound, not a semantic difference: AWS runs up to 40 (or MaxConcurrency) at once, and
   * the results are the same; the run's `adjustments` name each Map it slows.
   */
  mapConcurrency?: number;
  /** Replaces every Retry interval (milliseconds), e.g. 0 in tests. */
  retryIntervalMs?: number;
  /** In-process stand-ins for the code behind Lambda-backed states (tests), by state name. */
  doubles?: Partial<Record<string, LambdaDouble>>;
  /** Faults the local cloud injects (tests): RunTask calls that fail to place their task. */
  faults?: { ecsPlacementFailures?: number };
  /** Every execution event as it happens. */
  onEvent?: (event: ExecutionEvent) => void;
  /**
   * Called once the cloud is up, before the execution starts, with the control plane's endpoint:
   * where another process answers the run's task tokens (`fmnist models approve`, through the
   * run's note: cli/local-run-note.ts). A failure here fails the run.
   */
  onCloudReady?: (cloud: { controlPlane: string }) => void | Promise<void>;
  /** Aborts the execution (status ABORTED). */
  signal?: AbortSignal;
}

export interface LocalRunResult {
  status: LocalRunStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
  outDir: string;
  executionName: string;
  executionArn: string;
  runId?: string;
  datasetId?: string;
  files: string[];
  missing: string[];
  uploads: { path: string; key: string; bytes: number }[];
  adjustments: string[];
  /** Fargate tasks still running when the execution and the rules reacting to its end were done. */
  orphanedTasks: { taskArn: string; startedAt: string }[];
  /** EventBridge deliveries the run caused (e.g. the stop-training rule; with notifyEmail, each message the topic would mail). */
  deliveries: { rule: string; target: string; kind: string; attempts: number; outcome: string; error?: string; message?: string }[];
  /** Events the run's functions put on EventBridge (the registry's Champion Promoted). */
  published: PublishedEvent[];
  /** One line per Lambda invocation: duration, peak memory, /tmp used, cold start. */
  invocations: { function: string; durationMs: number; maxMemoryUsedMiB: number; scratchUsedMiB: number; coldStart: boolean; outcome: string }[];
  /** Heartbeats received per task token (Fargate). */
  heartbeats: number[][];
  timings: { templateMs: number; templateSource: 'cache' | 'synth' | 'given'; cloudStartMs: number; uploadMs: number; executionMs: number; copyMs: number; totalMs: number };
}

const EXECUTION_STATUS_EVENT = 'Step Functions Execution Status Change';

type LoadedTemplate = { template: Template; source: 'cache' | 'synth' | 'given'; milliseconds: number };
type Timings = LocalRunResult['timings'];

export async function runWorkflowLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const started = performance.now();
  const outDir = resolve(options.outDir);
  const executionName = options.executionName ?? newRunId();
  const display = new RunDisplay(options);
  const inputs = await checkOptions(options);
  // Refused before any work: another run's outputs are never written over (a resume of the same
  // run id may write into its own directory).
  await claimOutDir(outDir, typeof options.input?.runId === 'string' ? options.input.runId : executionName);
  const loaded = await templateOf(options);

  const cloudStarted = performance.now();
  const cloud =
    options.cloud ??
    (await LocalCloud.start({ template: loaded.template, bucket: options.bucket, stateDir: options.stateDir, timeScale: options.timeScale ?? 1 }));
  Object.assign(cloud.observers, display.observers);
  const firstInvocation = cloud.lambda.reports.length;
  const firstDelivery = cloud.events.deliveries.length;
  const firstPublished = cloud.events.published.length;
  const timings: Timings = { templateMs: loaded.milliseconds, templateSource: loaded.source, cloudStartMs: performance.now() - cloudStarted, uploadMs: 0, executionMs: 0, copyMs: 0, totalMs: 0 };
  try {
    await checkLogPermissions(cloud.model, cloud.authorizer);
    await options.onCloudReady?.({ controlPlane: cloud.control.endpoint });
    // One start per core at a time, in the order the execution reaches the functions (a start is
    // seconds of CPU: all at once, the first state waited for the last function's start).
    cloud.lambda.prewarm(functionsOf(cloud.model.stateMachine.definition, cloud.model.functions), { concurrency: availableParallelism() });
    cloud.ecs.placementFailures = options.faults?.ecsPlacementFailures ?? 0;
    const machine = cloud.model.stateMachine;
    const executionArn = machine.arn.replace(':stateMachine:', ':execution:') + `:${executionName}`;
    display.started(executionName, loaded, cloud);

    const uploadStarted = performance.now();
    const uploads = await uploadInputs(cloud.s3.client, cloud.bucket, inputs);
    timings.uploadMs = performance.now() - uploadStarted;
    display.uploaded(cloud.bucket, uploads);

    const executionStarted = performance.now();
    const facts: RunFacts = {};
    const execution = await execute(cloud, options, {
      executionArn,
      executionName,
      input: executionInput(options, uploads),
      onEvent: (event) => {
        learn(event, facts);
        display.event(event);
        options.onEvent?.(event);
      },
    });
    timings.executionMs = performance.now() - executionStarted;
    const { outcome } = execution;
    const orphanedTasks = await afterExecution(cloud, execution, display);

    const copyStarted = performance.now();
    await mkdir(outDir, { recursive: true });
    const copied = await copyOutputs(cloud.s3.client, cloud.bucket, facts, outDir);
    const result: LocalRunResult = {
      status: outcome.status,
      output: outcome.output,
      error: outcome.error,
      cause: outcome.cause,
      events: outcome.events,
      outDir,
      executionName,
      executionArn,
      runId: facts.runId,
      datasetId: facts.datasetId,
      files: [],
      missing: copied.missing,
      uploads: uploads.map(({ path, key, bytes }) => ({ path, key, bytes })),
      adjustments: [...execution.adjustments, ...threadBounds(cloud.model)],
      orphanedTasks,
      deliveries: cloud.events.deliveries.slice(firstDelivery).map((delivery) => ({ ...delivery })),
      published: cloud.events.published.slice(firstPublished).map((event) => ({ ...event })),
      invocations: cloud.lambda.reports.slice(firstInvocation).map(({ requestId: _id, ...report }) => report),
      heartbeats: execution.tokens.tokens().map((token) => execution.tokens.heartbeats(token)),
      timings,
    };
    const written = await writeRunFiles(cloud, result, outcome, () => {
      timings.copyMs = performance.now() - copyStarted;
      timings.totalMs = performance.now() - started;
    });
    result.files = [...copied.files, ...written].sort();
    display.finished(outDir, outcome.status === 'SUCCEEDED', copied.missing);
    return result;
  } finally {
    cloud.observers.onLog = undefined;
    cloud.observers.onProgress = undefined;
    if (!options.cloud) await cloud.stop();
  }
}

/** Refuses contradictory options before any work; the local input files, checked and digested. */
async function checkOptions(options: LocalRunOptions): Promise<InputFile[]> {
  const stored = options.storedInputs;
  if (stored && (options.train.length > 0 || options.test.length > 0)) throw new ConfigError('give local files or stored inputs, not both');
  if (options.mapConcurrency !== undefined && !(Number.isInteger(options.mapConcurrency) && options.mapConcurrency >= 1)) {
    throw new ConfigError(`mapConcurrency must be a positive integer, got ${options.mapConcurrency}`);
  }
  const inputs = stored ? [] : await checkInputs(options.train, options.test);
  if (options.cloud && (options.template || options.context || options.stateDir || options.bucket || options.timeScale !== undefined)) {
    throw new ConfigError('a given cloud has its own template, bucket, state directory and time scale: pass either the cloud or those options');
  }
  return inputs;
}

async function templateOf(options: LocalRunOptions): Promise<LoadedTemplate> {
  if (options.cloud) return { template: options.cloud.model.resolver.template, source: 'given', milliseconds: 0 };
  if (options.template) return { template: options.template, source: 'given', milliseconds: 0 };
  return loadStackTemplate({ context: options.context, cacheDir: options.definitionCacheDir });
}

/** The execution input: the given one with the uploaded (or stored) raw/ keys; refused over Step Functions' limit, as StartExecution refuses it. */
function executionInput(options: LocalRunOptions, uploads: Upload[]): JsonValue {
  const stored = options.storedInputs;
  const input = {
    ...options.input,
    train: stored?.train ?? uploads.filter((u) => u.split === 'train').map((u) => u.key),
    test: stored?.test ?? uploads.filter((u) => u.split === 'test').map((u) => u.key),
  } as JsonValue;
  const inputBytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (inputBytes > STATE_PAYLOAD_LIMIT_BYTES) {
    // What StartExecution answers: the execution never starts.
    throw Object.assign(new Error(`the execution input is ${inputBytes} bytes, over Step Functions' limit of ${STATE_PAYLOAD_LIMIT_BYTES}`), {
      name: 'InvalidExecutionInput',
    });
  }
  return input;
}

interface Execution {
  outcome: ExecutionOutcome;
  tokens: TaskTokens;
  /** Task work whose state gave up on it (a timeout, a caught error) but that still runs. */
  inFlight: Set<Promise<unknown>>;
  adjustments: string[];
  executionArn: string;
  executionName: string;
}

/** The state machine's definition, localized, executed with the cloud's integrations behind its Task states. */
async function execute(
  cloud: LocalCloud,
  options: LocalRunOptions,
  run: { executionArn: string; executionName: string; input: JsonValue; onEvent: (event: ExecutionEvent) => void },
): Promise<Execution> {
  const machine = cloud.model.stateMachine;
  const roleArn = cloud.model.roles.get(machine.role)!.arn;
  const tokens = new TaskTokens(machine.arn);
  const history = new ExecutionHistory(run.executionArn, roleArn);
  const tokenOperations = tokens.operations(cloud.authorizer);
  Object.assign(cloud.operations, tokenOperations, historyOperations(cloud.authorizer, () => [history]));
  for (const target of OWNER_TARGETS) cloud.ownerOperations[target] = tokenOperations[target];
  const inFlight = new Set<Promise<unknown>>();
  const handlers = taskHandlers(machine.definition, {
    cloud,
    tokens,
    history,
    stateMachine: cloud.callerFor(machine.role, run.executionName),
    doubles: options.doubles ?? {},
    track: (work) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
  });
  const mapConcurrency = options.mapConcurrency ?? availableParallelism();
  const { definition, adjustments } = localizeDefinition(machine.definition, cloud.timeScale, { mapConcurrency });
  // With time scaled, a process start inside a state would eat a scaled timeout: everything is
  // started first. At real time, an invocation waits for its own function's start only (a start
  // is seconds, a state's timeout minutes), so the first states run while later functions start.
  if (cloud.timeScale < 1) await cloud.lambda.warm();
  const outcome = await runExecution({
    definition,
    input: run.input,
    handlers,
    executionArn: run.executionArn,
    executionName: run.executionName,
    stateMachine: { arn: machine.arn, name: machine.name, roleArn },
    tokens,
    history,
    retryIntervalOverrides: retryIntervals(machine.definition, cloud.timeScale, options.retryIntervalMs),
    mapConcurrency,
    signal: options.signal,
    onEvent: run.onEvent,
  });
  return { outcome, tokens, inFlight, adjustments, executionArn: run.executionArn, executionName: run.executionName };
}

/**
 * What happens in AWS after an execution ends: its status change goes to EventBridge's rules
 * (the stop-training rule), work its states gave up on finishes, and tasks still running then
 * are orphaned. Returns those.
 */
async function afterExecution(cloud: LocalCloud, execution: Execution, display: RunDisplay): Promise<LocalRunResult['orphanedTasks']> {
  const { executionArn, executionName, outcome } = execution;
  cloud.events.put({
    source: 'aws.states',
    'detail-type': EXECUTION_STATUS_EVENT,
    resources: [executionArn],
    detail: { executionArn, stateMachineArn: cloud.model.stateMachine.arn, name: executionName, status: outcome.status, startDate: Date.now(), stopDate: Date.now() },
  });
  await cloud.events.drain();
  if (execution.inFlight.size > 0) {
    display.waitingFor(execution.inFlight.size);
    await Promise.allSettled([...execution.inFlight]);
  }
  const orphanedTasks = await settleTasks(cloud);
  display.orphaned(orphanedTasks);
  return orphanedTasks;
}

/** execution-events.json, execution-output.json, state-machine.json, then local-run.json (the result without events and output). */
async function writeRunFiles(cloud: LocalCloud, result: LocalRunResult, outcome: ExecutionOutcome, beforeSummary: () => void): Promise<string[]> {
  const { outDir } = result;
  const written = [
    await writeJsonFile(outDir, 'execution-events.json', outcome.events),
    await writeJsonFile(outDir, 'execution-output.json', outcome.status === 'SUCCEEDED' ? outcome.output : { error: outcome.error, cause: outcome.cause }),
    await writeJsonFile(outDir, 'state-machine.json', cloud.model.stateMachine.definition),
  ];
  beforeSummary();
  const { events: _events, output: _output, files: _files, outDir: _outDir, ...summary } = result;
  written.push(await writeJsonFile(outDir, 'local-run.json', { ...summary, bucket: cloud.bucket, stateDir: cloud.s3.temporary ? undefined : cloud.s3.directory }));
  return written;
}

/** How long a container may take to exit on its own after the execution (it may just have called back). */
const TASK_EXIT_GRACE_MS = 5000;

/**
 * Gives tasks that are being stopped their stop timeout, and the others a few seconds, to exit;
 * what still runs then is orphaned: nothing in AWS would stop it.
 */
async function settleTasks(cloud: LocalCloud): Promise<{ taskArn: string; startedAt: string }[]> {
  const stopping = cloud.ecs.running().filter((task) => task.desiredStatus === 'STOPPED');
  await Promise.all(stopping.map((task) => task.process.exited));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(cloud.ecs.running().map((task) => task.process.exited)),
    new Promise((resolve) => (timer = setTimeout(resolve, TASK_EXIT_GRACE_MS))),
  ]);
  clearTimeout(timer);
  return cloud.ecs.running().map((task) => ({ taskArn: task.taskArn, startedAt: new Date(task.startedAt).toISOString() }));
}

/** The functions the definition's states call, in the order an execution first reaches them. */
function functionsOf(definition: AslDefinition, functions: LambdaSpec[]): LambdaSpec[] {
  const byArn = new Map(functions.map((fn) => [fn.arn, fn]));
  const ordered = new Set<LambdaSpec>();
  for (const { state } of statesInReachOrder(definition)) {
    const fn = byArn.get(String(state.Resource ?? ''));
    if (fn) ordered.add(fn);
  }
  return [...ordered];
}

/** What the outputs are copied by: the run id and the dataset, as the state outputs name them. */
interface RunFacts {
  runId?: string;
  datasetId?: string;
  /** A sweep's id: its record and page are copied too. */
  sweepId?: string;
}

/**
 * Picks the run id and dataset out of the state outputs as they pass (the workflow's state
 * document: plan, dataset, training); top-level states only (an iteration's state, e.g. a sweep
 * trial's, may carry a run id of its own). An execution that reused a completed run (step
 * caching) copies that run's model and report.
 */
function learn(event: ExecutionEvent, facts: RunFacts): void {
  if (event.type !== 'StateExited' || event.parentState !== undefined) return;
  const output = event.state?.output as
    | { plan?: { runId?: unknown; sweep?: { sweepId?: unknown } }; dataset?: { datasetId?: unknown }; training?: { runId?: unknown }; reusedRun?: unknown }
    | undefined;
  if (typeof output?.plan?.runId === 'string') facts.runId = output.plan.runId;
  if (typeof output?.plan?.sweep?.sweepId === 'string') facts.sweepId = output.plan.sweep.sweepId;
  if (typeof output?.dataset?.datasetId === 'string') facts.datasetId = output.dataset.datasetId;
  if (typeof output?.training?.runId === 'string') facts.runId = output.training.runId;
  if (typeof output?.reusedRun === 'string') facts.runId = output.reusedRun;
}
