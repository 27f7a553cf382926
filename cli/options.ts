import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../lib/errors.ts';
import { parseTrainConfig, type TrainConfig } from '../lib/model/config.ts';
import { LEARNING_RATE_SCHEDULES } from '../lib/model/learning-rate.ts';
import { PRECISIONS } from '../lib/model/precision.ts';
import { PRESET_NAMES, presetFields, type PresetName } from '../lib/model/presets.ts';
import { DATA_CHECK_POLICIES } from '../lib/data/data-check-policy.ts';
import { APPROVAL_MODES } from '../lib/workflow/execution-input.ts';
import { PROMOTION_MODES } from '../lib/workflow/promotion.ts';

/** Commander argument parser for whole numbers >= 1; the message names the flag's value. */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  }
  return Number(value);
}

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  }
  return Number(value);
}

export function finiteNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`expected a number, got "${value}"`);
  }
  return number;
}

export interface TrainFlags {
  /** A named config (lib/model/presets.ts) under the file and the other flags. */
  preset?: PresetName;
  config?: string;
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  learningRate?: number;
  learningRateSchedule?: string;
  precision?: string;
  seed?: number;
  backend?: string;
  /** Turns early stopping on (config.earlyStopping, its other fields from the file or Keras' defaults). */
  earlyStoppingPatience?: number;
}

/** The JSON in a file a flag names (a config, a sweep's grid); errors name the file and `what` it is. */
export async function readJsonFlagFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read ${what}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

/** A config file (JSON) with command-line flags on top; validated as a whole. */
export async function trainConfigFromFlags(flags: TrainFlags): Promise<TrainConfig> {
  return (await readTrainFlags(flags)).config;
}

/**
 * The user's overrides only (config file, then flags), validated but without the defaults
 * filled in: what a workflow execution input carries, so it stays small and readable.
 */
export async function trainConfigOverrides(flags: TrainFlags): Promise<Record<string, unknown>> {
  return (await readTrainFlags(flags)).overrides;
}

/** The overrides and the config they make, validated once. */
async function readTrainFlags(flags: TrainFlags): Promise<{ overrides: Record<string, unknown>; config: TrainConfig }> {
  let fromFile: Record<string, unknown> = {};
  if (flags.config) {
    fromFile = (await readJsonFlagFile(flags.config, 'config file')) as Record<string, unknown>;
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`${flags.config}: expected a JSON object`);
    }
  }
  const fromFlags = Object.fromEntries(
    Object.entries({
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      validationSplit: flags.validationSplit,
      learningRate: flags.learningRate,
      learningRateSchedule: flags.learningRateSchedule,
      precision: flags.precision,
      seed: flags.seed,
      backend: flags.backend,
    }).filter(([, value]) => value !== undefined),
  );
  const fromPreset = flags.preset === undefined ? {} : presetFields(flags.preset);
  const overrides = { ...fromPreset, ...fromFile, ...fromFlags };
  if (flags.earlyStoppingPatience !== undefined) overrides.earlyStopping = withPatience(fromFile.earlyStopping, flags.earlyStoppingPatience);
  const source = flags.config ?? (flags.preset !== undefined ? `preset ${flags.preset}` : 'command line');
  return { overrides, config: parseTrainConfig(overrides, source) };
}

/** The file's earlyStopping with the flag's patience; a file's non-object is kept, for validation to name it. */
function withPatience(fromFile: unknown, patience: number): unknown {
  if (fromFile === undefined) return { patience };
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) return fromFile;
  return { ...fromFile, patience };
}

/** The training flags shared by `train`, `run` and `start`; `backend` only where training runs here. */
export function addTrainingOptions(command: Command, { backend }: { backend: boolean }): Command {
  command
    .addOption(new Option('--preset <name>', 'a named training config to start from (strong: a stronger model and recipe, see README); --config and flags override its fields').choices(PRESET_NAMES))
    .option('--config <file>', 'JSON training config (epochs, batchSize, validationSplit, learningRate, learningRateSchedule, precision, seed, model.layers, earlyStopping)')
    .option('--epochs <n>', 'passes over the training data (default 10)', positiveInteger)
    .option('--batch-size <n>', 'images per gradient step (default 64)', positiveInteger)
    .option('--validation-split <fraction>', 'share of training data held out for validation (default 0.2)', finiteNumber)
    .option('--learning-rate <rate>', 'Adam learning rate (default 0.001)', finiteNumber)
    .addOption(new Option('--learning-rate-schedule <name>', 'constant (default), or cosine: decays the rate to 0 over the run (Keras CosineDecay)').choices(LEARNING_RATE_SCHEDULES))
    .addOption(new Option('--precision <type>', 'float32 (default), or bfloat16: convolutions in bfloat16, faster on CPUs with AMX/AVX512-BF16 (graph step only)').choices(PRECISIONS))
    .option('--seed <n>', 'seed for weights, dropout and shuffling (default 42)', wholeNumber)
    .option('--early-stopping-patience <n>', 'stop after n epochs without improvement of val_loss (Keras EarlyStopping; more settings in the config file)', wholeNumber);
  if (backend) {
    command.addOption(
      new Option('--backend <name>', 'tfjs backend (default auto: tensorflow > wasm > cpu)').choices(['auto', 'tensorflow', 'wasm', 'cpu']),
    );
  }
  return command;
}

/**
 * The execution-input choices `run` (locally) and `start` (deployed) share, described once:
 * promotion, approval and the data-check policy. Unset, the stack's settings decide.
 */
export function addWorkflowOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--promote <mode>', 'if-better: champion of its test set when more accurate (and above the floor); always; never').choices(PROMOTION_MODES),
    )
    .addOption(
      new Option('--approval <mode>', 'manual: after Evaluate, wait for `fmnist models approve`/`reject` before Promote (default: the stack\'s setting approval)').choices(
        APPROVAL_MODES,
      ),
    )
    .addOption(
      new Option(
        '--data-checks <policy>',
        'fail: a data check over its threshold (duplicates, a train/test leak, label conflicts, a file given twice, drift from the champion\'s data) stops the run at Ingest, before training (default: the stack\'s setting dataChecks, warn)',
      ).choices(DATA_CHECK_POLICIES),
    )
    .option('--no-cache', 'train even when a run completed with the same dataset, training config and code version (by default that run is reused: step caching)');
}
