import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putObject, sha256Hex } from '../../../lib/aws/s3.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { readChampion } from '../../../lib/workflow/champion-store.ts';
import { championHistory, listModelVersions } from '../../../lib/workflow/registry/store.ts';
import { startLocalS3 } from '../../../cli/local/local-s3.ts';
import type { ModelsListing, ModelDetails } from '../../../cli/registry/models.ts';
import { LOCAL_NO_EVENT_BUS, type ChampionChangeResult } from '../../../cli/registry/models-change.ts';
import { Sink } from '../../support/sink.ts';
import { DATASET_A1, DATASET_A2, runModels, seedRegistry, TEST_SET_A, TEST_SET_B, tickingClock, weightsOf } from './seed.ts';

/**
 * `fmnist models ...` on the local bucket: a state directory seeded by the workflow's own registry
 * functions, each command run through commander as a user types it, the bucket read back after.
 */

const dirs: string[] = [];
async function stateDir(seed = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fmnist-models-'));
  dirs.push(dir);
  const local = await startLocalS3({ directory: dir });
  try {
    if (seed) await seedRegistry(local.client, local.bucket);
  } finally {
    await local.stop();
  }
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Opens the state directory's bucket to look at (or change) what the commands left. */
async function inBucket<T>(dir: string, look: (s3: import('@aws-sdk/client-s3').S3Client, bucket: string) => Promise<T>): Promise<T> {
  const local = await startLocalS3({ directory: dir });
  try {
    return await look(local.client, local.bucket);
  } finally {
    await local.stop();
  }
}

/** One clock for every command: each change is filed after the one before, as in life. */
const clock = tickingClock('2026-12-02T08:00:00.000Z');

async function models<T = unknown>(dir: string, args: string[]): Promise<{ json: T; text: string; log: string }> {
  const out = new Sink();
  const log = new Sink();
  await runModels({ out, log, now: clock }, [...args, '--state-dir', dir]);
  return { json: args.includes('--json') ? (JSON.parse(out.text) as T) : (undefined as T), text: out.text, log: log.text };
}

const BY = /^fmnist models (promote|rollback) \(user [^@\s]+@\S+\)$/;

describe('fmnist models, local bucket', () => {
  let dir: string;
  before(async () => {
    dir = await stateDir();
  });

  test('list: every test set, latest activity first, versions newest first, champions marked', async () => {
    const { json } = await models<ModelsListing>(dir, ['list', '--json']);
    assert.equal(json.where, `the local bucket at ${dir}`);
    assert.deepEqual(json.testSets.map((set) => set.testSetId), [TEST_SET_A, TEST_SET_B]);
    const [a, b] = json.testSets;
    assert.deepEqual(a.datasetIds, [DATASET_A1, DATASET_A2]);
    assert.deepEqual(a.champion, {
      runId: 'run-a3',
      accuracy: 0.9,
      macroF1: 0.89,
      since: '2026-12-01T12:00:01.000Z',
      by: 'workflow (execution exec-run-a3)',
      reason: 'accuracy beats the champion',
      change: 'promotion',
    });
    assert.deepEqual(a.versions.map((v) => [v.runId, v.champion]), [['run-a4', false], ['run-a3', true], ['run-a2', false], ['run-a1', false]]);
    assert.deepEqual(a.versions[1], {
      runId: 'run-a3',
      registeredAt: '2026-12-01T12:00:00.000Z',
      datasetId: DATASET_A2,
      accuracy: 0.9,
      macroF1: 0.89,
      trigger: 'schedule',
      approval: 'approved',
      codeVersion: 'abc1234',
      champion: true,
    });
    assert.deepEqual(b.versions.map((v) => v.runId), ['run-b1']);
    assert.equal(b.champion?.runId, 'run-b1');
  });

  test('list --dataset by a dataset id prefix: only its test set; the text marks the champion', async () => {
    const { json } = await models<ModelsListing>(dir, ['list', '--dataset', DATASET_A2.slice(0, 8), '--json']);
    assert.deepEqual(json.testSets.map((set) => set.testSetId), [TEST_SET_A]);
    const { text } = await models(dir, ['list', '--dataset', TEST_SET_B.slice(0, 10)]);
    assert.match(text, new RegExp(`^Test set ${TEST_SET_B} \\(dataset`, 'm'));
    assert.match(text, /^ {2}champion: run-b1 {2}accuracy 70\.00% {2}macro F1 0\.6900 {2}since 2026-11-30 09:00:01 UTC/m);
    assert.match(text, /^ {2}\* {2}run-b1 /m);
    assert.doesNotMatch(text, /run-a/);
  });

  test('list --dataset that names nothing: a ConfigError listing the test sets', async () => {
    await assert.rejects(models(dir, ['list', '--dataset', 'ffffffff00']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /--dataset ffffffff00: no test set or dataset/);
      assert.ok(error.message.includes(`test set ${TEST_SET_A} (dataset ${DATASET_A1}, ${DATASET_A2}; champion run-a3)`), error.message);
      return true;
    });
    await assert.rejects(models(dir, ['list', '--dataset', 'abc']), /--dataset: must be a test set id or dataset id, or a prefix of at least 8 hex digits/);
  });

  test('list on an empty registry: a clear message, no failure', async () => {
    const empty = await stateDir(false);
    const { text } = await models(empty, ['list']);
    assert.match(text, /^No models registered in the local bucket at .* yet/);
    const { json } = await models<ModelsListing>(empty, ['list', '--json']);
    assert.deepEqual(json.testSets, []);
  });

  test('show: the record, champion past and present, and the history naming the run', async () => {
    const { json } = await models<ModelDetails>(dir, ['show', 'run-a2', '--json']);
    assert.equal(json.version.runId, 'run-a2');
    assert.equal(json.version.metrics.accuracy, 0.88);
    assert.equal(json.version.model.files['weights.bin'].sha256, sha256Hex(weightsOf('run-a2')));
    assert.equal(json.version.model.files['weights.bin'].versionId, null, 'the local bucket is not versioned');
    assert.equal(json.isChampion, false);
    assert.equal(json.wasChampion, true);
    assert.equal(json.champion?.runId, 'run-a3');
    assert.deepEqual(json.history.map((record) => [record.runId, record.previous]), [['run-a2', 'run-a1'], ['run-a3', 'run-a2']]);

    const never = await models<ModelDetails>(dir, ['show', 'run-a4', '--json']);
    assert.deepEqual([never.json.isChampion, never.json.wasChampion, never.json.history], [false, false, []]);
    const { text } = await models(dir, ['show', 'run-a3']);
    assert.match(text, /^ {2}champion {5}the champion of its test set \(since 2026-12-01 12:00:01 UTC\)$/m);
    assert.match(text, /^ {2}approval {5}approved by alice at 2026-12-01 12:00:00 UTC: looks good$/m);
  });

  test('show of a run the registry does not have names the run and the state directory', async () => {
    await assert.rejects(models(dir, ['show', 'run-zz']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message.startsWith(`no model of run run-zz in the registry of the local bucket at ${dir}`), true, error.message);
      return true;
    });
  });

  test('local flags: connection flags need --aws, --state-dir refuses it', async () => {
    await assert.rejects(models(dir, ['list', '--bucket', 'b', '--region', 'eu-west-1']), /^ConfigError: --bucket, --region: for the deployed stack; add --aws$/);
    await assert.rejects(runModels({}, ['list', '--aws', '--state-dir', dir]), /--state-dir is for the local bucket: drop it, or drop --aws/);
  });
});

describe('fmnist models promote and rollback, local bucket', () => {
  test('promote: the champion replaced by compare-and-swap, the history filed, no event (no bus locally)', async () => {
    const dir = await stateDir();
    const { json } = await models<ChampionChangeResult>(dir, ['promote', 'run-a1', '--reason', 'better calibrated', '--json']);
    assert.equal(json.action, 'promote');
    assert.equal(json.testSetId, TEST_SET_A);
    assert.equal(json.previous, 'run-a3');
    assert.deepEqual(json.event, { detailType: 'Champion Promoted', published: false, reason: LOCAL_NO_EVENT_BUS });
    const { champion, history, versions } = await inBucket(dir, async (s3, bucket) => ({
      champion: (await readChampion(s3, bucket, TEST_SET_A)).champion!,
      history: await championHistory(s3, bucket, TEST_SET_A),
      versions: await listModelVersions(s3, bucket),
    }));
    assert.equal(champion.runId, 'run-a1');
    assert.equal(champion.change, 'promotion');
    assert.equal(champion.previous, 'run-a3');
    assert.equal(champion.reason, 'manual: better calibrated');
    assert.match(champion.by!, BY);
    assert.equal(champion.by!.startsWith('fmnist models promote'), true);
    assert.equal(champion.accuracy, 0.85, 'the registered figures, not held to any floor');
    assert.deepEqual(champion.files, versions.find((v) => v.runId === 'run-a1')!.model.files);
    assert.deepEqual(champion, json.champion);
    assert.deepEqual(history.map((record) => record.runId), ['run-a1', 'run-a2', 'run-a3', 'run-a1']);
    assert.deepEqual(history.at(-1), champion);
  });

  test('promote prints what changed and that no event went out', async () => {
    const dir = await stateDir();
    const { text } = await models(dir, ['promote', 'run-a4', '--reason', 'ops request']);
    assert.match(text, new RegExp(`^Run run-a4 is now the champion of test set ${TEST_SET_A}, replacing run-a3\\.$`, 'm'));
    assert.match(text, /^ {2}reason: manual: ops request$/m);
    assert.match(text, /^ {2}no Champion Promoted event: local bucket: there is no event bus outside a running workflow/m);
  });

  test('promote refuses an unknown run, the champion itself, a changed model file, and a missing --reason', async () => {
    const dir = await stateDir();
    await assert.rejects(models(dir, ['promote', 'run-zz', '--reason', 'x']), /no model of run run-zz in the registry of the local bucket at/);
    await assert.rejects(models(dir, ['promote', 'run-a3', '--reason', 'x']), new RegExp(`^ConfigError: run run-a3 is already the champion of test set ${TEST_SET_A}`));
    await assert.rejects(models(dir, ['promote', 'run-a4', '--reason', '  ']), /--reason: must say why/);
    await assert.rejects(models(dir, ['promote', 'run-a4']), /required option '--reason <text>' not specified/);
    await inBucket(dir, (s3, bucket) => putObject(s3, { bucket, key: 'runs/run-a4/model/weights.bin' }, Buffer.from('retrained in place')));
    await assert.rejects(models(dir, ['promote', 'run-a4', '--reason', 'x']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^cannot make run run-a4 champion: s3:\/\/fmnist-local\/runs\/run-a4\/model\/weights\.bin has sha256 [0-9a-f]{64} \(version none\), the registry pins [0-9a-f]{64}/);
      return true;
    });
    const champion = await inBucket(dir, async (s3, bucket) => (await readChampion(s3, bucket, TEST_SET_A)).champion!);
    assert.equal(champion.runId, 'run-a3', 'nothing refused changed the champion');
  });

  test('rollback twice walks back (C → B → A), then there is no previous champion', async () => {
    const dir = await stateDir();
    const prefix = TEST_SET_A.slice(0, 8);
    await assert.rejects(models(dir, ['rollback']), /2 test sets have a champion; choose one with --dataset: .*champion run-a3.*champion run-b1/);
    const first = await models<ChampionChangeResult>(dir, ['rollback', '--dataset', prefix, '--reason', 'regression in prod', '--json']);
    assert.equal(first.json.champion.runId, 'run-a2');
    assert.equal(first.json.champion.change, 'rollback');
    assert.equal(first.json.champion.previous, 'run-a3');
    assert.equal(first.json.champion.reason, 'rolled back from run-a3: regression in prod');
    assert.match(first.json.champion.by!, /^fmnist models rollback \(user /);
    assert.equal(first.json.event.detailType, 'Champion Rolled Back');
    assert.equal(first.json.event.published, false);
    const second = await models(dir, ['rollback', '--dataset', DATASET_A1]);
    assert.match(second.text, new RegExp(`^Run run-a1 is the champion again of test set ${TEST_SET_A}, rolled back from run-a2\\.$`, 'm'));
    assert.match(second.text, /^ {2}reason: rolled back from run-a2: no reason given$/m);
    await assert.rejects(models(dir, ['rollback', '--dataset', prefix]), new RegExp(`^ConfigError: no previous champion of test set ${TEST_SET_A} to roll back to: run-a1`));
    const { champion, history } = await inBucket(dir, async (s3, bucket) => ({
      champion: (await readChampion(s3, bucket, TEST_SET_A)).champion!,
      history: await championHistory(s3, bucket, TEST_SET_A),
    }));
    assert.equal(champion.runId, 'run-a1');
    assert.deepEqual(history.map((record) => [record.runId, record.change]), [
      ['run-a1', 'promotion'],
      ['run-a2', 'promotion'],
      ['run-a3', 'promotion'],
      ['run-a2', 'rollback'],
      ['run-a1', 'rollback'],
    ]);
    const b = await inBucket(dir, async (s3, bucket) => (await readChampion(s3, bucket, TEST_SET_B)).champion!);
    assert.equal(b.runId, 'run-b1', 'the other test set is untouched');
  });
});
