import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.ts';
import { newRunId } from '../../lib/workflow/run-id.ts';
import { planSweep, type SweepSpec } from '../../lib/workflow/sweep/sweep-spec.ts';
import { checkLocalRunFlags, localWorkflowRun, runLocalWorkflow, type RunFlags } from '../commands.ts';
import { readJsonFlagFile, trainConfigOverrides } from '../options.ts';

/** Human output goes to stderr so stdout stays clean for `--json`. */
const say = (line = '') => process.stderr.write(line + '\n');

export interface SweepFlags extends RunFlags {
  /** JSON: { "<config field>": [values...], ... }: every combination. */
  grid?: string;
  /** With --space: this many seeded random draws. */
  random?: number;
  /** JSON: { "<config field>": [values...] | { "min", "max", "scale"?: "log", "integer"?: true } }. */
  space?: string;
  /** Seed of the random draws (default 0); `seed` stays the training seed. */
  randomSeed?: number;
  /** JSON: [ { config overrides }, ... ]: one trial each. */
  trials?: string;
  halving?: boolean;
  eta?: number;
  maxConcurrency?: number;
}

/** The execution input's `sweep` from the flags (checked whole by planSweep before any work). */
export async function sweepSpecFromFlags(flags: SweepFlags): Promise<SweepSpec> {
  const given = [flags.grid && '--grid', flags.random !== undefined && '--random', flags.trials && '--trials'].filter(Boolean);
  if (given.length !== 1) throw new ConfigError(`give one of --grid FILE, --random N (with --space FILE) or --trials FILE (got ${given.length === 0 ? 'none' : given.join(' and ')})`);
  if ((flags.random !== undefined) !== (flags.space !== undefined)) throw new ConfigError('--random N and --space FILE go together');
  if (flags.eta !== undefined && !flags.halving) throw new ConfigError('--eta is successive halving\'s: add --halving');
  const common: Pick<SweepSpec, 'maxConcurrency' | 'halving'> = {
    ...(flags.maxConcurrency !== undefined ? { maxConcurrency: flags.maxConcurrency } : {}),
    ...(flags.halving ? { halving: flags.eta !== undefined ? { eta: flags.eta } : (true as const) } : {}),
  };
  if (flags.grid) return { grid: (await readJsonFlagFile(flags.grid, 'the grid')) as SweepSpec['grid'], ...common };
  if (flags.trials) return { trials: (await readJsonFlagFile(flags.trials, 'the trial list')) as SweepSpec['trials'], ...common };
  return { random: { count: flags.random!, ...(flags.randomSeed !== undefined ? { seed: flags.randomSeed } : {}), space: (await readJsonFlagFile(flags.space!, 'the search space')) as never }, ...common };
}

/**
 * `fmnist sweep`: many configs trained on the same ingested data as one local execution of the
 * deployed state machine (its TrainTrials Map state), every trial registered, the best promoted.
 * Locally the Map trains at most as many trials at once as this machine has cores.
 */
export async function sweepCommand(flags: SweepFlags) {
  const config = await trainConfigOverrides(flags);
  const spec = await sweepSpecFromFlags(flags);
  checkLocalRunFlags(flags);
  const runId = newRunId();
  // Refuse a bad grid here, before the local cloud starts (ValidateInput checks it again; the
  // concurrency is the stack's there, bounded by this machine's cores in the local runtime).
  const plan = planSweep(spec, runId, config, 1);
  say(`sweep ${runId}: ${plan.trials.length} trials (${plan.source.kind}), ${plan.epochBudgets.length > 1 ? `successive halving, epoch budgets ${plan.epochBudgets.join(', ')}` : 'one round'}; ${flags.datasetDescription ?? 'data from the command line'}`);
  const run = localWorkflowRun(flags, runId, { config, sweep: spec as Record<string, unknown> });
  const result = await runLocalWorkflow(run);
  const summary = (result.output as { sweep?: { best?: { trialId: string; runId: string } | null; trials: number; complete: number; stopped: number; failed: number; trainingSeconds: number } }).sweep;
  if (summary) {
    say(
      `sweep ${runId}: best ${summary.best?.trialId} (run ${summary.best?.runId}) of ${summary.trials} trials: ${summary.complete} complete, ${summary.stopped} stopped by halving, ${summary.failed} failed; ${summary.trainingSeconds.toFixed(1)} s of training in all`,
    );
    say(`the sweep's page: ${join(run.out, 'sweep', 'index.html')}`);
  }
  return result;
}
