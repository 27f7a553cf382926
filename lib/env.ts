import type { z } from 'zod';
import { ConfigError } from './errors.ts';
import { BACKEND_ENV_VAR, TRAIN_STEP_ENV_VAR } from './model/choices.ts';
import { FARGATE_ENV } from './workflow/fargate-task.ts';

/**
 * Every environment variable the project reads (or sets for someone else to read), in one place:
 * who reads it, what it means, its default. The environment is read at the edges (handlers, the
 * Fargate entry, the CLI, bin/, scripts) and passed inward as options; nothing else under lib/
 * touches process.env (test/env.test.ts checks both: every name read anywhere is listed here, and
 * lib/ has no process.env outside this file).
 *
 * Readers: `handler` (a Lambda function's code), `image` (the training container: the train
 * Lambda and the Fargate task), `cli` (fmnist and its local cloud), `stack` (read at synth or
 * set by the stack for the runtime), `script` (scripts/, npm's install hooks), `runtime` (read
 * by a library or service, not by this code: AWS, Powertools, TensorFlow).
 */
export type EnvReader = 'handler' | 'image' | 'cli' | 'stack' | 'script' | 'runtime';

export interface EnvVariable {
  readonly readBy: readonly EnvReader[];
  readonly meaning: string;
  /** What applies when it is unset; absent: it must be set where it is read, or unset means "no". */
  readonly default?: string;
}

/** A process environment, or any map shaped like one (tests). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Names the project's own code refers to (contracts elsewhere: FARGATE_ENV, RUNTIME_ENV). */
export const ENV = {
  dataBucket: 'DATA_BUCKET',
  s3Endpoint: 'AWS_ENDPOINT_URL_S3',
  backend: BACKEND_ENV_VAR,
  trainStep: TRAIN_STEP_ENV_VAR,
  fontDir: 'FMNIST_FONT_DIR',
  checkpointEvery: 'FMNIST_CHECKPOINT_EVERY_SECONDS',
  trainingCluster: 'TRAINING_CLUSTER_ARN',
  stack: 'FMNIST_STACK',
  expectNative: 'FMNIST_EXPECT_NATIVE',
  codeVersion: 'FMNIST_CODE_VERSION',
} as const;

export const ENVIRONMENT: Readonly<Record<string, EnvVariable>> = {
  // ---- the project's own settings -----------------------------------------------------------
  [ENV.dataBucket]: { readBy: ['handler', 'image'], meaning: 'The data bucket the steps read and write (set by the stack).' },
  [ENV.backend]: {
    readBy: ['handler', 'image', 'cli'],
    meaning: 'Forces a tfjs backend: auto, tensorflow, wasm or cpu (--backend wins on the CLI).',
    default: 'auto (native TensorFlow, else wasm with a warning, else cpu)',
  },
  [ENV.trainStep]: {
    readBy: ['handler', 'image', 'cli'],
    meaning: 'How a training step runs on native TensorFlow: graph (one TensorFlow graph per batch) or eager (op by op); for comparisons and as an escape hatch.',
    default: 'auto (graph where the backend and layers allow it, else eager)',
  },
  [ENV.codeVersion]: {
    readBy: ['handler', 'stack'],
    meaning: 'The deployed code\'s version (package.json version + git commit at synth), recorded in the registry and the report page\'s lineage, and part of the step cache key (lib/workflow/step-cache.ts); set by the stack on the ingest, evaluate and promote functions.',
    default: 'unknown',
  },
  [ENV.fontDir]: {
    readBy: ['handler'],
    meaning: 'Directory of the report font (the evaluate function\'s layer puts it at /opt/fonts).',
    default: "the repository's assets/fonts",
  },
  [ENV.checkpointEvery]: { readBy: ['image'], meaning: 'Seconds between training checkpoints in the train Lambda.', default: 'the handler\'s interval' },
  [ENV.trainingCluster]: { readBy: ['handler'], meaning: 'The ECS cluster whose training tasks the stop-training function stops (set by the stack).' },
  FMNIST_EPHEMERAL_STORAGE_MIB: { readBy: ['handler'], meaning: 'MiB of /tmp the function has (set by the stack where the work depends on it).', default: 'no limit' },
  [FARGATE_ENV.trainEventKey]: { readBy: ['image'], meaning: 'Fargate: S3 key, in DATA_BUCKET, of the TrainEvent (container override).' },
  [FARGATE_ENV.taskToken]: { readBy: ['image'], meaning: 'Fargate: the state\'s task token (container override).' },
  [FARGATE_ENV.stateEnteredTime]: { readBy: ['image'], meaning: 'Fargate: when the state started waiting ($$.State.EnteredTime; container override).' },
  [FARGATE_ENV.stateTimeoutSeconds]: { readBy: ['image'], meaning: 'Fargate: the state\'s TimeoutSeconds; the task stops itself before (container override).' },
  [FARGATE_ENV.taskCpuUnits]: { readBy: ['image'], meaning: 'Fargate: the task\'s CPU units, for the cost estimate in training.json (task definition).' },
  [FARGATE_ENV.taskMemoryMiB]: { readBy: ['image'], meaning: 'Fargate: the task\'s memory in MiB, for the cost estimate in training.json (task definition).' },
  [FARGATE_ENV.heartbeatSeconds]: { readBy: ['image'], meaning: 'Fargate: seconds between SendTaskHeartbeat calls (task definition).', default: '60' },
  [FARGATE_ENV.timeScale]: { readBy: ['image', 'cli'], meaning: 'Local runtime only: the factor for every timer of the Fargate entry (tests).', default: '1' },
  [ENV.stack]: { readBy: ['cli'], meaning: 'The CloudFormation stack fmnist start/status/resume talk to (--stack wins).', default: 'FashionMnist' },
  NO_COLOR: { readBy: ['cli'], meaning: 'Any value: no colours in fmnist status.' },
  FMNIST_DEBUG: { readBy: ['cli'], meaning: '1: fmnist shows the start-up notices it hides (the AWS SDK\'s Node.js version notice, DEP0051 from tfjs-node; in a local run, whatever the functions\' and tasks\' processes print besides their log records, e.g. TensorFlow\'s oneDNN notice).' },
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: { readBy: ['cli', 'runtime'], meaning: 'true: the AWS SDK does not print its Node.js version notice; fmnist sets it unless FMNIST_DEBUG=1.' },
  USER: { readBy: ['cli'], meaning: 'Who changed the registry by hand, where the OS has no user entry (cli/registry/who.ts).' },
  LOGNAME: { readBy: ['cli'], meaning: 'The login name, where USER is not set.' },
  USERNAME: { readBy: ['cli'], meaning: 'The login name on Windows.' },
  TERM: { readBy: ['cli'], meaning: '"dumb": no colours in fmnist status.' },
  // ---- set by AWS (or by the local cloud the same way) ------------------------------------------
  [ENV.s3Endpoint]: {
    readBy: ['handler', 'image', 'cli', 'runtime'],
    meaning: 'An S3-compatible endpoint (the local cloud sets it); the SDK reads it, and S3 clients then use path-style URLs.',
    default: 'AWS S3',
  },
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: { readBy: ['handler', 'runtime'], meaning: 'The function\'s memory (MiB); sizes ingest and training.', default: 'no limit' },
  AWS_LAMBDA_FUNCTION_NAME: { readBy: ['handler', 'runtime'], meaning: 'Set in Lambda: metrics are published only in AWS.' },
  AWS_LAMBDA_FUNCTION_VERSION: { readBy: ['runtime'], meaning: 'Set in Lambda (the local cloud passes it into the context object).' },
  AWS_LAMBDA_LOG_GROUP_NAME: { readBy: ['runtime'], meaning: 'Set in Lambda (the local cloud passes it into the context object).' },
  AWS_LAMBDA_LOG_STREAM_NAME: { readBy: ['runtime'], meaning: 'Set in Lambda (the local cloud passes it into the context object).' },
  ECS_CONTAINER_METADATA_URI_V4: { readBy: ['image', 'runtime'], meaning: 'Set on Fargate: metrics are published only in AWS.' },
  AWS_REGION: { readBy: ['runtime'], meaning: 'The region the SDK clients use (set by the stack for the Fargate task).' },
  AWS_EXECUTION_ENV: { readBy: ['runtime'], meaning: 'Set by Lambda (and by the local cloud the same way).' },
  // ---- read by libraries (Powertools, TensorFlow), set by the stack -----------------------------
  POWERTOOLS_SERVICE_NAME: { readBy: ['stack', 'runtime'], meaning: 'Powertools logger/metrics service name.' },
  POWERTOOLS_METRICS_NAMESPACE: { readBy: ['handler', 'stack', 'runtime'], meaning: 'CloudWatch namespace of the metrics.', default: 'FashionMnist' },
  LOG_LEVEL: { readBy: ['stack', 'runtime'], meaning: 'Powertools log level (stack setting logLevel).' },
  NODE_OPTIONS: { readBy: ['stack', 'runtime'], meaning: '--enable-source-maps for the zip Lambdas.' },
  TF_NUM_INTRAOP_THREADS: { readBy: ['stack', 'runtime'], meaning: 'TensorFlow intra-op threads: 1 (the stack sets it; the backend sets it if unset); the graph step runs a chain per inter-op thread.', default: '1' },
  TF_NUM_INTEROP_THREADS: { readBy: ['stack', 'runtime'], meaning: 'TensorFlow inter-op threads: the vCPUs of the function or task (unset: the CPUs); with the intra-op count, how many chains a batch runs in; both recorded in training.json.' },
  OMP_NUM_THREADS: { readBy: ['stack', 'runtime'], meaning: 'OpenMP threads: as TF_NUM_INTRAOP_THREADS.' },
  TF_CPP_MIN_LOG_LEVEL: { readBy: ['runtime'], meaning: 'TensorFlow\'s C++ log level; the backend sets 1 if unset (no info lines).', default: '1' },
  HOME: { readBy: ['stack', 'script', 'runtime'], meaning: 'The Fargate task sets it to its scratch volume; the setup script caches under it.' },
  CDK_DEFAULT_ACCOUNT: { readBy: ['stack'], meaning: 'Account of `cdk synth/deploy` (bin/app.ts).' },
  CDK_DEFAULT_REGION: { readBy: ['stack'], meaning: 'Region of `cdk synth/deploy` (bin/app.ts).' },
  // ---- scripts/native/setup-tfjs-node.mjs and the tests that depend on it -------------------------
  [ENV.expectNative]: { readBy: ['script'], meaning: '1: a native-backend setup failure fails (CI), in the setup script and the tests.' },
  FMNIST_SKIP_NATIVE: { readBy: ['script'], meaning: '1: the setup script does nothing.' },
  FMNIST_NATIVE_DEBUG: { readBy: ['script'], meaning: '1: the setup script prints stacks.' },
  FMNIST_NATIVE_CACHE: { readBy: ['script'], meaning: 'Where the setup script caches the wheel and addon builds.', default: '$XDG_CACHE_HOME/fmnist-native' },
  FMNIST_PYTHON: { readBy: ['script'], meaning: 'The python whose pip fetches the wheel.', default: 'python3, else python' },
  FMNIST_TF_WHEEL: { readBy: ['script'], meaning: 'A local tensorflow-cpu wheel instead of pip (checked against the pin).' },
  XDG_CACHE_HOME: { readBy: ['script'], meaning: 'Base of the setup script\'s cache.', default: '~/.cache' },
  PATH: { readBy: ['script'], meaning: 'Where the setup script looks for node-gyp.' },
  CXX: { readBy: ['script'], meaning: 'The C++ compiler the setup script checks for.', default: 'g++' },
  PIP_NO_INPUT: { readBy: ['runtime'], meaning: 'Set to 1 by the setup script for pip.' },
  npm_config_node_gyp: { readBy: ['script'], meaning: 'npm\'s node-gyp, used by the setup script when set.' },
  npm_config_nodedir: { readBy: ['script'], meaning: 'Node headers npm passes to node-gyp.' },
  npm_config_user_agent: { readBy: ['script'], meaning: 'npm\'s version, for the setup script\'s install hints.' },
};

/** A variable's value, undefined when unset or empty. */
export function optionalEnv(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A variable that must be set where it is read (a ConfigError naming it otherwise). */
export function requiredEnv(env: Env, name: string): string {
  const value = optionalEnv(env, name);
  if (value === undefined) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}

/**
 * A variable parsed by its schema: undefined when unset (unless `required`, when an unset one
 * fails too); a malformed value is a ConfigError naming the variable and what it held.
 */
export function envSetting<S extends z.ZodType>(env: Env, name: string, schema: S, options: { required: true }): z.output<S>;
export function envSetting<S extends z.ZodType>(env: Env, name: string, schema: S, options?: { required?: boolean }): z.output<S> | undefined;
export function envSetting<S extends z.ZodType>(env: Env, name: string, schema: S, options: { required?: boolean } = {}): z.output<S> | undefined {
  const value = env[name];
  if (value === undefined && !options.required) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`environment variable ${name}: ${parsed.error.issues[0]?.message}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/**
 * The process environment. The one read of process.env under lib/: for the defaults of the
 * process-wide S3 client (the SDK reads the same variables itself) and of handlers whose caller
 * passes none. Edges read process.env themselves.
 */
export function processEnv(): Env {
  return process.env;
}

/**
 * Sets a variable for a native library that reads it when it loads (TensorFlow's log level), unless
 * the user set it: the one write lib/ makes to the process environment, kept here with the reads.
 */
/**
 * A setting the native library reads from the environment itself (TensorFlow's thread counts):
 * read here only to record what it will use.
 */
export function nativeLibrarySetting(name: keyof typeof ENVIRONMENT): string | undefined {
  return process.env[name];
}

export function defaultForNativeLibrary(name: keyof typeof ENVIRONMENT, value: string): void {
  process.env[name] ??= value;
}
