import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { formatIssues, integerIn, strictObject, unknownKeyMessage } from '../../validation.ts';
import { parseTrainConfig, TrainConfig, type TrainConfig as ParsedTrainConfig } from '../../model/config.ts';
import { trialRunId } from './sweep-record.ts';

/**
 * A hyperparameter sweep as the execution input gives it (`sweep`), and the trials it expands
 * to. Exactly one of:
 *
 *   grid:   { "learningRate": [0.001, 0.0005], "batchSize": [64, 128] }   every combination (the
 *           first field varies slowest), each merged over the input's `config`
 *   random: { "count": 8, "seed": 7, "space": { "learningRate": { "min": 1e-4, "max": 1e-2, "scale": "log" },
 *           "batchSize": [32, 64, 128] } }                                   `count` draws, seeded
 *   trials: [ { "learningRate": 0.001 }, { "model": {...} } ]               given one by one
 *
 * Fields are the training config's own (lib/model/config.ts: epochs, batchSize, learningRate,
 * seed, validationSplit, model, earlyStopping, backend). Every trial's config is checked before
 * any work; a bad one is refused naming the trial and the field.
 */

/**
 * At most this many trials per sweep. Every trial's config travels in the execution's plan
 * (Step Functions allows 256 KiB per state) and each trial is a training run of its own, with a
 * registry record; Step Functions' inline Map runs at most 40 iterations at once. 32 keeps the
 * plan small, a full grid affordable, and one round inside one Map's concurrency.
 */
export const MAX_SWEEP_TRIALS = 32;
/** The serialized trial configs may take at most this much of the plan (bytes). */
export const MAX_SWEEP_CONFIG_BYTES = 64 * 1024;
/** Step Functions runs at most 40 iterations of an inline Map at once. */
export const MAX_MAP_CONCURRENCY = 40;

const CONFIG_FIELDS = Object.keys(TrainConfig.shape) as (keyof ParsedTrainConfig)[];


const Range = strictObject({
  min: z.number(),
  max: z.number(),
  /** "log": drawn uniformly in log space (learning rates); min must then be > 0. */
  scale: z.enum(['linear', 'log']).default('linear'),
  /** Draw integers (batch sizes, epochs). */
  integer: z.boolean().default(false),
}).refine((range) => range.max >= range.min, { message: 'max must be at least min' })
  .refine((range) => range.scale !== 'log' || range.min > 0, { message: 'a log scale needs min > 0' });
type Range = z.output<typeof Range>;

const Values = z.array(z.unknown()).min(1, 'needs at least one value');

export const SweepSpec = strictObject({
  grid: z.record(z.string(), Values).optional(),
  random: strictObject({
    count: integerIn(1, MAX_SWEEP_TRIALS),
    seed: integerIn(0, 0xffffffff).default(0),
    space: z.record(z.string(), z.union([Values, Range])),
  }).optional(),
  trials: z.array(z.record(z.string(), z.unknown())).min(1, 'needs at least one trial').optional(),
  /** Trials trained at once (the Map's MaxConcurrency). Default: the stack's (setting sweepMaxConcurrency). */
  maxConcurrency: integerIn(1, MAX_MAP_CONCURRENCY).optional(),
  /** Successive halving: train all for a first budget of epochs, keep the best 1/eta, continue those, ... */
  halving: z.union([z.literal(true), strictObject({ eta: integerIn(2, 8).default(2) })]).optional(),
}).superRefine((spec, ctx) => {
  const given = (['grid', 'random', 'trials'] as const).filter((kind) => spec[kind] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `give exactly one of "grid", "random" or "trials" (got ${given.length === 0 ? 'none' : given.map((kind) => `"${kind}"`).join(' and ')})` });
  }
  for (const kind of ['grid', 'random'] as const) {
    const fields = kind === 'grid' ? spec.grid : spec.random?.space;
    if (fields && Object.keys(fields).length === 0) ctx.addIssue({ code: 'custom', path: [kind], message: 'names no config field to vary' });
    for (const field of Object.keys(fields ?? {})) {
      if (!(CONFIG_FIELDS as string[]).includes(field)) {
        ctx.addIssue({ code: 'custom', path: kind === 'grid' ? [kind, field] : [kind, 'space', field], message: unknownKeyMessage(field, CONFIG_FIELDS) });
      }
    }
  }
});
export type SweepSpec = z.input<typeof SweepSpec>;
type ParsedSweepSpec = z.output<typeof SweepSpec>;

export interface SweepTrialPlan {
  trialId: string;
  runId: string;
  /** The trial's whole config overrides: the input's `config` with the trial's values over it. */
  config: Record<string, unknown>;
  /** That config checked and with the defaults filled in (parseTrainConfig's output). */
  trainConfig: ParsedTrainConfig;
}

export interface SweepPlan {
  sweepId: string;
  source: { kind: 'grid' | 'random' | 'list'; seed?: number };
  trials: SweepTrialPlan[];
  maxConcurrency: number;
  /** Epoch budgets of the rounds (the last is the trials' epochs); one round without halving. */
  epochBudgets: number[];
  /** Successive halving's keep-1/eta; absent without halving. */
  eta?: number;
}

/** The trials' config overrides before merging, in order. */
function expand(spec: ParsedSweepSpec): { overrides: Record<string, unknown>[]; source: SweepPlan['source'] } {
  if (spec.trials) return { overrides: spec.trials, source: { kind: 'list' } };
  if (spec.grid) {
    let combos: Record<string, unknown>[] = [{}];
    for (const [field, values] of Object.entries(spec.grid)) {
      const next = combos.length * values!.length;
      if (next > MAX_SWEEP_TRIALS) {
        const sizes = Object.values(spec.grid).map((list) => list!.length);
        throw new ConfigError(`invalid execution input: sweep.grid: makes ${sizes.reduce((a, b) => a * b, 1)} trials (${sizes.join(' x ')}); at most ${MAX_SWEEP_TRIALS} per sweep`);
      }
      combos = combos.flatMap((combo) => values!.map((value) => ({ ...combo, [field]: value })));
    }
    return { overrides: combos, source: { kind: 'grid' } };
  }
  const random = spec.random!;
  const draw = mulberry32(random.seed);
  const overrides = Array.from({ length: random.count }, () => {
    const trial: Record<string, unknown> = {};
    for (const [field, domain] of Object.entries(random.space)) trial[field] = Array.isArray(domain) ? domain[Math.floor(draw() * domain.length)] : sample(domain as Range, draw);
    return trial;
  });
  return { overrides, source: { kind: 'random', seed: random.seed } };
}

function sample(range: Range, draw: () => number): number {
  const u = draw();
  const value = range.scale === 'log' ? Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min))) : range.min + u * (range.max - range.min);
  if (range.integer) return Math.min(Math.floor(range.max), Math.max(Math.ceil(range.min), Math.round(value)));
  // Six significant digits: readable in tables and identical on every platform.
  return Number(value.toPrecision(6));
}

/**
 * A small seeded PRNG (mulberry32): the draws must be the same on every machine and in every
 * Node version, which Math.random cannot promise; one function does not justify a dependency.
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Successive halving's epoch budgets for `trials` trials of `epochs` epochs, keeping 1/eta after
 * each round: one round per halving until one trial is left, the last at `epochs`, each before
 * it eta times shorter (at least one epoch); rounds that would repeat a budget are merged.
 */
export function halvingBudgets(trials: number, epochs: number, eta: number): number[] {
  let rounds = 0;
  while (Math.ceil(trials / eta ** rounds) > 1) rounds++;
  const budgets: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const budget = Math.max(1, Math.floor(epochs / eta ** (rounds - round)));
    if (budgets.at(-1) !== budget) budgets.push(budget);
  }
  return budgets;
}

/** How many trials go on after a round of `count`: the best ceil(count / eta). */
export const survivorsOf = (count: number, eta: number) => Math.ceil(count / eta);

/**
 * The sweep's trials, each config checked (parseTrainConfig, named "sweep trial t03"), and its
 * rounds. `baseConfig` is the execution input's `config`; `defaultConcurrency` the stack's.
 */
export function planSweep(input: unknown, sweepId: string, baseConfig: Record<string, unknown>, defaultConcurrency: number): SweepPlan {
  const parsed = SweepSpec.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ ...issue, path: ['sweep', ...issue.path] }));
    throw new ConfigError(`invalid execution input: ${formatIssues(issues).join('; ')}`);
  }
  const spec = parsed.data;
  const { overrides, source } = expand(spec);
  if (overrides.length > MAX_SWEEP_TRIALS) throw new ConfigError(`invalid execution input: sweep: ${overrides.length} trials; at most ${MAX_SWEEP_TRIALS} per sweep`);
  const width = 2;
  const trials = overrides.map((override, index) => {
    const trialId = `t${String(index + 1).padStart(width, '0')}`;
    const config = { ...baseConfig, ...override };
    const checked = parseTrainConfig(config, `sweep trial ${trialId} (config ${JSON.stringify(override)})`);
    const runId = trialRunId(sweepId, trialId);
    return { trialId, runId, config, trainConfig: checked };
  });
  const bytes = Buffer.byteLength(JSON.stringify(trials.map((trial) => trial.config)), 'utf8');
  if (bytes > MAX_SWEEP_CONFIG_BYTES) {
    throw new ConfigError(`invalid execution input: sweep: the trials' configs take ${bytes} bytes; at most ${MAX_SWEEP_CONFIG_BYTES} (they travel in the execution's state, 256 KiB at most)`);
  }
  const maxConcurrency = spec.maxConcurrency ?? defaultConcurrency;
  const epochsOf = (trial: SweepTrialPlan) => trial.trainConfig.epochs;
  const maxEpochs = Math.max(...trials.map(epochsOf));
  if (!spec.halving) return { sweepId, source, trials, maxConcurrency, epochBudgets: [maxEpochs] };
  const eta = spec.halving === true ? 2 : spec.halving.eta;
  const odd = trials.find((trial) => epochsOf(trial) !== epochsOf(trials[0]));
  if (odd) {
    throw new ConfigError(
      `invalid execution input: sweep.halving: every trial must train the same number of epochs (the last round's budget); ${trials[0].trialId} has ${epochsOf(trials[0])}, ${odd.trialId} ${epochsOf(odd)}: vary epochs without halving, or not at all`,
    );
  }
  if (trials.some((trial) => trial.trainConfig.earlyStopping)) {
    // Early stopping ends trials at different epochs: later rounds would compare unequal budgets.
    throw new ConfigError('invalid execution input: sweep.halving: earlyStopping and successive halving do not combine (trials would stop at different epochs); drop one');
  }
  return { sweepId, source, trials, maxConcurrency, epochBudgets: halvingBudgets(trials.length, maxEpochs, eta), eta };
}
