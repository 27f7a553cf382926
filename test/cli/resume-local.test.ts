import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getObjectBytes } from '../../lib/aws/s3.ts';
import { startLocalS3 } from '../../cli/local/local-s3.ts';
import { localRunNotePath } from '../../cli/local-run-note.ts';
import { championKey } from '../../lib/workflow/layout.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * The crash a user has: `kill -9` of a local `fmnist run` during training, then
 * `fmnist resume <runId>` with the same --state-dir. The resumed run must end exactly where an
 * uninterrupted run of the same input and seed ends (weights.bin byte for byte, test accuracy),
 * write where the run would have, and leave the local bucket and champion consistent.
 *
 * Needs epoch checkpoints (lib/model/checkpoint), train steps that resume from them, and
 * ValidateInput accepting `resume: true` (issue 9, items 1, 2 and 4).
 */
const CLI = new URL('../../bin/fmnist.ts', import.meta.url).pathname;
const EPOCHS = 8;
const BUCKET_DIR = 'fmnist-local';
const OBJECT_SUFFIX = '._S3rver_object';

const exec = promisify(execFile);
async function fmnist(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', CLI, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** Files under a directory, recursively (paths relative to it); none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const readJson = async <T>(...path: string[]) => JSON.parse(await readFile(join(...path), 'utf8')) as T;

interface Killed {
  runId: string;
  stderr: string;
  /** Objects under runs/<runId>/ in the bucket when the process was killed. */
  stored: string[];
}

/**
 * Starts `fmnist run`, waits for its first complete checkpoint in the local bucket (a manifest
 * under runs/<runId>/checkpoint/: a checkpoint without one does not exist), and SIGKILLs it.
 */
async function runAndKill(args: string[], stateDir: string): Promise<Killed> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', ...args], {
    detached: true, // its own process group: its sandboxes are cleaned up with it below
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ended: number | null | undefined;
  void exited.then((code) => (ended = code));
  try {
    const deadline = Date.now() + 240_000;
    for (;;) {
      if (ended !== undefined) assert.fail(`run ended (exit ${ended}) before a checkpoint was seen:\n${stderr}`);
      if (Date.now() > deadline) assert.fail(`no checkpoint within 4 minutes:\n${stderr}`);
      const runId = /^run (\S+):/m.exec(stderr)?.[1];
      if (runId) {
        const runDir = join(stateDir, BUCKET_DIR, 'runs', runId);
        const checkpoint = await filesUnder(join(runDir, 'checkpoint'));
        if (checkpoint.some((file) => file.endsWith(`manifest.json${OBJECT_SUFFIX}`))) {
          child.kill('SIGKILL');
          await exited;
          return { runId, stderr, stored: (await filesUnder(runDir)).filter((file) => file.endsWith(OBJECT_SUFFIX)) };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // what the kill left behind (Lambda sandboxes)
    } catch {
      // the group is gone
    }
  }
}

describe('fmnist resume: a local run killed during training', () => {
  let dir: string;
  let common: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-resume-local-'));
    await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(1200, 11).text);
    await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(100, 12).text);
    await writeFile(join(dir, 'tiny.json'), JSON.stringify({ model: TINY_MODEL }));
    common = ['--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--config', join(dir, 'tiny.json'), '--epochs', String(EPOCHS), '--batch-size', '16', '--seed', '7'];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('resume finishes it with the weights and test accuracy of an uninterrupted run, where the run would have written', { timeout: 600_000 }, async () => {
    // The reference: the same input and seed, never interrupted, in a bucket of its own.
    const whole = await fmnist('run', ...common, '--out', join(dir, 'whole'), '--state-dir', join(dir, 'state-whole'));
    assert.equal(whole.code, 0, whole.stderr);

    const stateDir = join(dir, 'state');
    const out = join(dir, 'killed-run');
    const killed = await runAndKill([...common, '--out', out, '--state-dir', stateDir], stateDir);
    assert.match(killed.stderr.trimStart(), /^run \S+:/, '`run` prints the run id first');
    assert.ok(killed.stored.includes(`run.json${OBJECT_SUFFIX}`), 'ValidateInput claimed the run id');
    assert.ok(!killed.stored.includes(`model/model.json${OBJECT_SUFFIX}`), 'killed during training: make the run longer if this fails');
    assert.ok(existsSync(localRunNotePath(stateDir, killed.runId)), 'the local note says where the run writes');

    // No --out: the note in the state directory says where the run was writing.
    const resumed = await fmnist('resume', killed.runId, '--state-dir', stateDir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming run ${killed.runId}`));
    assert.doesNotMatch(resumed.stderr, new RegExp(`^epoch 1/${EPOCHS} `, 'm'), 'training went on from the checkpoint, not from epoch 1');
    assert.match(resumed.stderr, new RegExp(`^epoch ${EPOCHS}/${EPOCHS} `, 'm'));

    // Bit-identical to the uninterrupted run, and in the run's own output directory.
    const weights = await readFile(join(out, 'model', 'weights.bin'));
    assert.equal(sha256(weights), sha256(await readFile(join(dir, 'whole', 'model', 'weights.bin'))));
    const [mine, reference] = await Promise.all([readJson<{ accuracy: number }>(out, 'report', 'metrics.json'), readJson<{ accuracy: number }>(dir, 'whole', 'report', 'metrics.json')]);
    assert.equal(mine.accuracy, reference.accuracy);
    assert.equal((await readJson<{ runId: string; testAccuracy: number }>(out, 'run.json')).runId, killed.runId);

    // The bucket agrees: the run's model is the champion (the first in this bucket), byte for byte.
    const s3 = await startLocalS3({ directory: stateDir });
    try {
      const stored = await getObjectBytes(s3.client, { bucket: s3.bucket, key: `runs/${killed.runId}/model/weights.bin` });
      assert.equal(sha256(stored), sha256(weights));
      const copied = await readJson<{ testSetId: string }>(out, 'champion.json');
      const champion = JSON.parse((await getObjectBytes(s3.client, { bucket: s3.bucket, key: championKey(copied.testSetId) })).toString('utf8'));
      assert.equal(champion.runId, killed.runId);
      assert.equal(champion.accuracy, mine.accuracy);
      assert.deepEqual(await readJson(out, 'champion.json'), champion);
    } finally {
      await s3.stop();
    }

    // Finished now: a second resume has nothing to do.
    const again = await fmnist('resume', killed.runId, '--state-dir', stateDir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already succeeded .*nothing to resume/);
  });

  test('resume refuses what it cannot resume, in one line', async () => {
    await mkdir(join(dir, 'state-empty'));
    const none = await fmnist('resume', 'no-such-run', '--state-dir', join(dir, 'state-empty'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^fmnist: no run no-such-run in the local bucket at .*runs\/no-such-run\/run\.json does not exist/m);
    assert.doesNotMatch(none.stderr, /\n\s+at /, 'no stack trace');

    const noState = await fmnist('resume', 'some-run', '--state-dir', join(dir, 'never-created'));
    assert.equal(noState.code, 1);
    assert.match(noState.stderr, /no local bucket at .*never-created/);
  });
});
