import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { objectExists, s3Url } from '../lib/aws/s3.ts';
import { ConfigError } from '../lib/errors.ts';
import { startLocalS3 } from './local/local-s3.ts';
import type { LocalRunResult } from './local/runner.ts';
import type { RunRecord } from '../lib/workflow/run-record.ts';
import { executionNameFor, validateRunId } from '../lib/workflow/run-id.ts';
import { runLocalWorkflow } from './commands.ts';
import { DEFAULT_LOCAL_STATE_DIR } from './local/local-s3.ts';
import { isRunning, readLocalRunNote } from './local-run-note.ts';
import { resumeInput, storedRun } from './stored-run.ts';

const say = (line = '') => process.stderr.write(line + '\n');

export interface LocalResumeFlags {
  /** The state directory the run used (default runs/.local-s3). */
  stateDir?: string;
  /** Default: where the run wrote (its note in the state directory), else runs/<run id>. */
  out?: string;
}

/**
 * `fmnist resume <runId>` on this machine: a new local execution of a run that did not finish
 * (killed, failed), with the input stored in the local bucket's runs/<runId>/run.json and
 * `resume: true`. It reuses what the run stored: the dataset (by id), the training checkpoint,
 * a finished model or report; it writes its outputs where the run would have.
 */
export async function resumeCommand(runId: string, flags: LocalResumeFlags = {}): Promise<LocalRunResult> {
  validateRunId(runId);
  const stateDir = resolve(flags.stateDir ?? DEFAULT_LOCAL_STATE_DIR);
  if (!existsSync(stateDir)) {
    throw new ConfigError(`no local bucket at ${stateDir}: pass the --state-dir the run used (runs with --fresh keep nothing to resume)`);
  }
  const note = await readLocalRunNote(stateDir, runId);
  if (note && isRunning(note)) {
    throw new ConfigError(`run ${runId} is still running (process ${note.pid}, started ${note.startedAt}): wait for it, or stop it first`);
  }
  const record = await readStoredRun(stateDir, runId);
  const out = resolve(flags.out ?? note?.outDir ?? join('runs', runId));
  const finished = await finishedRun(out, runId);
  if (finished) throw new ConfigError(`run ${runId} already succeeded (outputs in ${out}): nothing to resume`);

  const executionName = executionNameFor(runId, new Date());
  say(`resuming run ${runId} (created ${record.createdAt}) as execution ${executionName}; outputs in ${out}`);
  const { train, test, ...input } = resumeInput(record);
  return runLocalWorkflow({
    runId,
    executionName,
    out,
    data: { keys: { train, test } },
    input,
    stateDir,
  });
}

/** run.json from the local bucket, and the check that the raw inputs it names are still there. */
async function readStoredRun(stateDir: string, runId: string): Promise<RunRecord> {
  const s3 = await startLocalS3({ directory: stateDir });
  try {
    const record = await storedRun(s3.client, s3.bucket, runId, `the local bucket at ${stateDir}`);
    for (const key of [...record.input.train, ...record.input.test]) {
      const location = { bucket: s3.bucket, key };
      if (!(await objectExists(s3.client, location))) {
        throw new ConfigError(`run ${runId} read ${s3Url(location)}, which is no longer in the local bucket at ${stateDir}: it cannot be resumed`);
      }
    }
    return record;
  } finally {
    await s3.stop();
  }
}

/** The part of local-run.json (written by cli/local/runner.ts) that says how a local execution ended. */
const LocalRunSummary = z.object({ status: z.string(), runId: z.string() });

/**
 * Whether the output directory holds a successful local execution of this run. A missing,
 * unreadable or other-shaped local-run.json is not one: resuming then redoes what is not stored.
 */
async function finishedRun(out: string, runId: string): Promise<boolean> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(join(out, 'local-run.json'), 'utf8'));
  } catch {
    return false;
  }
  const summary = LocalRunSummary.safeParse(json);
  return summary.success && summary.data.status === 'SUCCEEDED' && summary.data.runId === runId;
}
