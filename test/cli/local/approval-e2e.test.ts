import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { runLocalWorkflow } from '../../../cli/commands.ts';
import { readLocalRunNote } from '../../../cli/local-run-note.ts';
import { answerApproval, type AnsweredApproval, type Decision } from '../../../cli/registry/approval.ts';
import { whoAmI } from '../../../cli/registry/who.ts';
import { openRegistry, type RegistryTarget } from '../../../cli/registry/target.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { championKey, modelVersionKey } from '../../../lib/workflow/layout.ts';
import { readApprovalRequest } from '../../../lib/workflow/registry/approval-request.ts';
import { newRunId } from '../../../lib/workflow/run-id.ts';
import { syntheticKaggleCsv } from '../../support/kaggle-csv.ts';
import { TINY_MODEL } from '../../support/tiny-model.ts';

/**
 * Manual approval on the local runtime, end to end: `fmnist run`'s own path (runLocalWorkflow:
 * the run's note, the local cloud) with approval "manual" waits in AwaitApproval, and the
 * approve/reject operation answers it as another process would: through the local bucket (the
 * request) and the control-plane endpoint in the run's note, with the owner's key. A tiny run
 * (100 train and 30 test rows, a 4-filter CNN, 1 epoch); two runs on one state directory.
 */
const TINY_CONFIG = { epochs: 1, batchSize: 16, model: TINY_MODEL };

let dir: string;
let stateDir: string;
let train: string;
let testCsv: string;
/** The local bucket as `fmnist models` opens it: a second S3 server on the run's state directory. */
let registry: RegistryTarget;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-approval-'));
  stateDir = join(dir, 'state');
  train = join(dir, 'train.csv');
  testCsv = join(dir, 'test.csv');
  await writeFile(train, syntheticKaggleCsv(100, 1).text);
  await writeFile(testCsv, syntheticKaggleCsv(30, 2).text);
});
after(async () => {
  await registry?.close();
  await rm(dir, { recursive: true, force: true });
});

interface ApprovedRun {
  runId: string;
  answered: AnsweredApproval;
  /** What a second answer, sent right after the first while the run still goes on, failed with. */
  second: unknown;
  /** Everything the run printed on stderr. */
  printed: string;
  controlPlane?: string;
}

/** Runs a manual-approval run and answers it with `decision` as soon as its request is filed. */
async function runAndAnswer(decision: Decision, reason: string): Promise<ApprovedRun> {
  const runId = newRunId();
  return withStderrCaptured(async (printed) => {
    const running = runLocalWorkflow({
      runId,
      executionName: runId,
      out: join(dir, runId),
      data: { files: { train: [train], test: [testCsv] } },
      // Both runs train the same data with the same config: without cache: false the second would reuse the first (step caching).
      input: { config: TINY_CONFIG, approval: 'manual', cache: false },
      stateDir,
    });
    running.catch(() => undefined);
    const answering = (async () => {
      // As another process finds the run: its note, once its cloud is up, names the control plane.
      const note = await until(async () => {
        const written = await readLocalRunNote(stateDir, runId);
        return written?.controlPlane ? written : undefined;
      }, running);
      registry ??= await openRegistry({ stateDir });
      await until(() => readApprovalRequest(registry.s3, registry.bucket, runId), running);
      const answered = await answerApproval(registry, runId, decision, { reason });
      const second = await answerApproval(registry, runId, decision, { reason }).catch((error: unknown) => error);
      return { answered, second, controlPlane: note.controlPlane };
    })();
    const [result, answer] = await Promise.all([running, answering]);
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    return { runId, printed: printed(), ...answer };
  });
}

/** Runs `work` with everything written to stderr also collected; `printed()` is what came so far. */
async function withStderrCaptured<T>(work: (printed: () => string) => Promise<T>): Promise<T> {
  let printed = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    printed += chunk.toString();
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return await work(() => printed);
  } finally {
    process.stderr.write = write;
  }
}

/** Polls `probe` until it returns something; fails if `running` ends first. */
async function until<T>(probe: () => Promise<T | undefined>, running: Promise<unknown>): Promise<T> {
  let ended = false;
  void running.finally(() => (ended = true)).catch(() => undefined);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (ended) assert.fail('the run ended before it was found waiting');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function readJson<T = Record<string, unknown>>(key: string): Promise<T | undefined> {
  try {
    const object = await registry.s3.send(new GetObjectCommand({ Bucket: registry.bucket, Key: key }));
    return JSON.parse(await object.Body!.transformToString()) as T;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** `cause`: what Step Functions (the local control plane) answered, named in the message. */
const noLongerWaiting = (error: unknown, runId: string, cause = /TaskTimedOut: Task Timed Out/) => {
  assert.ok(error instanceof ConfigError, String(error));
  assert.match(error.message, new RegExp(`run ${runId} is no longer waiting \\(answered already, timed out or stopped\\)`));
  assert.match(error.message, cause);
};

describe('manual approval of a local run', () => {
  let rejected: ApprovedRun;

  test('rejected: the execution succeeds, the run is registered with the rejection and is not the champion', async () => {
    rejected = await runAndAnswer('rejected', 'first try');
    const { runId, answered } = rejected;
    assert.match(rejected.controlPlane ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'the note carried the control plane while the run waited');
    assert.ok(rejected.printed.includes(`fmnist models approve ${runId} --state-dir ${stateDir}`), 'the run printed the command that answers it');
    const testSetId = answered.request.testSetId;
    const version = await readJson<{ approval?: Record<string, unknown> }>(modelVersionKey(testSetId, runId));
    assert.deepEqual(version?.approval, { decision: 'rejected', by: whoAmI(), at: answered.approval.at, reason: 'first try' });
    // The first run on a test split becomes its champion under the promotion rule: the rejection kept it out.
    assert.equal(await readJson(championKey(testSetId)), undefined);
    noLongerWaiting(rejected.second, runId);
  });

  test('approved: the execution succeeds and the run is the champion, its record carrying who approved it', async () => {
    const { runId, answered, second } = await runAndAnswer('approved', 'ship it');
    const testSetId = answered.request.testSetId;
    assert.equal(testSetId, rejected.answered.request.testSetId);
    const champion = await readJson<{ runId: string }>(championKey(testSetId));
    assert.equal(champion?.runId, runId);
    const version = await readJson<{ approval?: Record<string, unknown> }>(modelVersionKey(testSetId, runId));
    assert.deepEqual(version?.approval, { decision: 'approved', by: whoAmI(), at: answered.approval.at, reason: 'ship it' });
    noLongerWaiting(second, runId);
    // The run is over (its control plane closed): a late answer is refused the same way.
    await assert.rejects(answerApproval(registry, runId, 'approved'), (error: unknown) => (noLongerWaiting(error, runId, /ECONNREFUSED/), true));
  });

  test('a sweep waits for approval of its best trial: the command printed names the trial, and answering it reaches the sweep\'s process', async () => {
    const sweepId = newRunId();
    const trials = [`${sweepId}-t01`, `${sweepId}-t02`];
    await withStderrCaptured(async (printed) => {
      const running = runLocalWorkflow({
        runId: sweepId,
        executionName: sweepId,
        out: join(dir, sweepId),
        data: { files: { train: [train], test: [testCsv] } },
        input: { config: TINY_CONFIG, approval: 'manual', sweep: { trials: [{ seed: 1 }, { seed: 2 }] } },
        stateDir,
      });
      running.catch(() => undefined);
      const answering = (async () => {
        registry ??= await openRegistry({ stateDir });
        const waiting = await until(async () => {
          for (const trial of trials) if (await readApprovalRequest(registry.s3, registry.bucket, trial)) return trial;
          return undefined;
        }, running);
        return { waiting, answered: await answerApproval(registry, waiting, 'approved', { reason: 'best of the sweep' }) };
      })();
      const [result, { waiting, answered }] = await Promise.all([running, answering]);
      assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
      const output = result.output as { sweep: { best: { runId: string } } };
      assert.equal(waiting, output.sweep.best.runId, 'the best trial is the one waiting');
      assert.ok(printed().includes(`fmnist models approve ${waiting} --state-dir ${stateDir}`), 'the run printed the command that answers the trial');
      const champion = await readJson<{ runId: string }>(championKey(answered.request.testSetId));
      assert.equal(champion?.runId, waiting);
    });
  });
});
