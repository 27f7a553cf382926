import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ConfigError } from '../../../lib/errors.ts';
import { runsListCommand } from '../../../cli/registry/runs-commands.ts';
import type { RunList } from '../../../cli/registry/runs.ts';
import { championKey, runRecordKey } from '../../../lib/workflow/layout.ts';
import { runArtifactKeys } from '../../../lib/workflow/run-artifacts.ts';
import { championRecord, evaluatedRun, localStateDir, MATRIX_A, MATRIX_B, merge, OTHER_TEST_SET, registryRecord, runRecord, TEST_SET, type Objects } from './runs-fixtures.ts';
import { BUCKET, deployedStack, fmnist, sinks } from './runs-support.ts';

// Macro F1 worked out by hand (F1 = 2·tp / (row sum + column sum); every row sums to 10).
const ACCURACY_A = 23 / 30;
const MACRO_F1_A = (16 / 19 + 12 / 19 + 18 / 22) / 3;
const ACCURACY_B = 25 / 30;
const MACRO_F1_B = (18 / 22 + 16 / 18 + 16 / 20) / 3;

/**
 * Five runs (created out of name order, so the sort is by time) and two damaged records:
 * old-run is the champion of TEST_SET, mid-run registered on it, a-new-run evaluated but not
 * registered, z-started only claimed (no report), legacy-run champion of another test set.
 */
const OBJECTS: Objects = merge(
  evaluatedRun('old-run', '2026-12-01T10:00:00.000Z', MATRIX_A, { trigger: 'manual', config: { epochs: 3 } }),
  registryRecord('old-run', TEST_SET, MATRIX_A),
  championRecord('old-run', TEST_SET, ACCURACY_A, MACRO_F1_A),
  evaluatedRun('mid-run', '2026-12-02T10:00:00.000Z', MATRIX_B, { trigger: 'schedule' }),
  registryRecord('mid-run', TEST_SET, MATRIX_B),
  // Champion of another test set since before the registry existed: no registry record.
  evaluatedRun('legacy-run', '2026-11-30T10:00:00.000Z', MATRIX_B),
  championRecord('legacy-run', OTHER_TEST_SET, ACCURACY_B, MACRO_F1_B),
  evaluatedRun('a-new-run', '2026-12-03T09:00:00.000Z', MATRIX_B, { trigger: 'new-data', limit: 600, config: { epochs: 5, model: { preset: 'small' } }, seconds: 42.25, costUsd: 0.0123 }),
  new Map([
    [runRecordKey('z-started'), runRecord('z-started', '2026-12-02T12:00:00.000Z')],
    [runRecordKey('broken-json'), '{"runId": "broken-json",'],
    [runRecordKey('no-date'), JSON.stringify({ runId: 'no-date', input: { train: [], test: [], trainOn: 'lambda', promote: 'never' } })],
    // Not a run record's key: ignored, never read.
    ['runs/old-run/report/run.json', 'not json'],
  ]),
);

const close = (actual: number | undefined, expected: number) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

/** What every listing of OBJECTS must hold, newest first. */
function assertListed(list: RunList) {
  assert.deepEqual(list.runs.map((run) => [run.runId, run.state, run.trigger, run.testSetId]), [
    ['a-new-run', 'evaluated', 'new-data', undefined],
    ['z-started', 'started', undefined, undefined],
    ['mid-run', 'registered', 'schedule', TEST_SET],
    ['old-run', 'champion', 'manual', TEST_SET],
    ['legacy-run', 'champion', undefined, OTHER_TEST_SET],
  ]);
  assert.equal(list.total, 5);
  const [newest, started, mid, old] = list.runs;
  close(newest.accuracy, ACCURACY_B);
  close(newest.macroF1, MACRO_F1_B);
  close(mid.accuracy, ACCURACY_B);
  close(old.accuracy, ACCURACY_A);
  close(old.macroF1, MACRO_F1_A);
  assert.equal(started.accuracy, undefined);
  assert.equal(started.macroF1, undefined);
  assert.deepEqual([newest.trainingSeconds, newest.costUsd], [42.25, 0.0123]);
  assert.deepEqual([old.trainingSeconds, old.costUsd, started.trainingSeconds], [100, undefined, undefined], 'a run trained off AWS has no cost; one not trained no time');
  assert.equal(newest.limit, 600);
  assert.deepEqual(newest.config, { epochs: 5, model: { preset: 'small' } });
  assert.deepEqual(newest.train, ['raw/train/0123456789abcdef/fashion-mnist_train.csv.gz']);
  assert.equal(newest.createdAt, '2026-12-03T09:00:00.000Z');
  assert.equal(newest.executionName, 'exec-a-new-run');
  assert.deepEqual(mid.config, {});
  assert.equal(list.warnings.length, 2, list.warnings.join('\n'));
  assert.match(list.warnings.find((w) => w.includes('broken-json'))!, /\/runs\/broken-json\/run\.json is not a run record \(not valid JSON: .*\); skipped$/);
  assert.match(list.warnings.find((w) => w.includes('no-date'))!, /\/runs\/no-date\/run\.json is not a run record \(createdAt: .*\); skipped$/);
}

describe('fmnist runs list, local bucket', () => {
  let stateDir: string;
  before(async () => {
    stateDir = await localStateDir(OBJECTS);
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  test('--json: every run with a run.json, newest first, with its state and scores; malformed records skipped with a warning', async () => {
    const streams = sinks();
    await fmnist(['runs', 'list', '--state-dir', stateDir, '--json'], streams);
    const list = JSON.parse(streams.out.text) as RunList;
    assertListed(list);
    assert.equal(list.bucket, 'fmnist-local');
    assert.match(list.where, /^the local bucket at /);
    // Warnings go to stderr too, each naming the object.
    assert.match(streams.log.text, /^warning: s3:\/\/fmnist-local\/runs\/(broken-json|no-date)\/run\.json is not a run record/m);
    assert.equal(streams.log.text.trim().split('\n').length, 2);
  });

  test('the table: one line a run, newest first, figures as percentages and 4 decimals', async () => {
    const streams = sinks();
    await fmnist(['runs', 'list', '--state-dir', stateDir], streams);
    const lines = streams.out.text.trimEnd().split('\n');
    assert.match(lines[0], /^RUN\s+CREATED \(UTC\)\s+TRIGGER\s+DATA\s+CONFIG\s+ACCURACY\s+MACRO F1\s+TRAINING\s+COST\s+STATE$/);
    const cells = (runId: string) => lines.find((line) => line.startsWith(`${runId} `))!.split(/\s{2,}/);
    assert.deepEqual(cells('a-new-run'), [
      'a-new-run',
      '2026-12-03 09:00:00',
      'new-data',
      'fashion-mnist_train.csv.gz / fashion-mnist_test.csv.gz (limit 600)',
      'epochs=5 model={"preset":"small"}',
      '83.33%',
      (MACRO_F1_B).toFixed(4),
      '42.3 s',
      '~$0.0123',
      'evaluated, not registered',
    ]);
    assert.deepEqual(cells('z-started').slice(2), ['-', 'fashion-mnist_train.csv.gz / fashion-mnist_test.csv.gz', 'defaults', '-', '-', '-', '-', 'no report']);
    assert.deepEqual(cells('old-run').slice(5), ['76.67%', MACRO_F1_A.toFixed(4), '100.0 s', '-', `champion (test set ${'c'.repeat(12)})`]);
    assert.deepEqual(cells('mid-run').slice(9), [`registered (test set ${'c'.repeat(12)})`]);
    assert.deepEqual(lines.slice(1, 6).map((line) => line.split(' ')[0]), ['a-new-run', 'z-started', 'mid-run', 'old-run', 'legacy-run']);
    assert.match(lines[6], /^5 runs in the local bucket at /);
  });

  test('--limit keeps the newest n and says how many there are', async () => {
    const streams = sinks();
    const list = await runsListCommand({ stateDir, limit: 2 }, streams);
    assert.deepEqual(list.runs.map((run) => run.runId), ['a-new-run', 'z-started']);
    assert.equal(list.total, 5);
    assert.match(streams.out.text, /\nnewest 2 of 5 runs \(--limit\) in the local bucket at /);
  });

  test('connection flags of the deployed stack are refused without --aws', async () => {
    await assert.rejects(
      fmnist(['runs', 'list', '--state-dir', stateDir, '--bucket', 'somebody-else'], sinks()),
      (error: unknown) => error instanceof ConfigError && error.message === '--bucket: for the deployed stack; add --aws',
    );
  });

  test('a state directory that does not exist is a ConfigError naming it', async () => {
    await assert.rejects(runsListCommand({ stateDir: `${stateDir}-missing` }, sinks()), (error: unknown) => error instanceof ConfigError && error.message.includes(`${stateDir}-missing`));
  });
});

describe('fmnist runs list --aws', () => {
  test('lists the deployed stack\'s bucket the same way', async () => {
    const stack = deployedStack(OBJECTS);
    await fmnist(['runs', 'list', '--aws', '--json'], stack.deps);
    const list = JSON.parse(stack.out.text) as RunList;
    assertListed(list);
    assert.equal(list.bucket, BUCKET);
    assert.equal(list.where, `s3://${BUCKET}`);
    assert.equal(stack.cfnMock.commandCalls(DescribeStacksCommand)[0].args[0].input.StackName, 'FashionMnist');
    assert.match(stack.log.text, new RegExp(`warning: s3://${BUCKET}/runs/broken-json/run\\.json is not a run record`));
  });

  test('--state-dir with --aws is refused', async () => {
    const stack = deployedStack(OBJECTS);
    await assert.rejects(fmnist(['runs', 'list', '--aws', '--state-dir', 'x'], stack.deps), (error: unknown) => error instanceof ConfigError && /--state-dir is for the local bucket/.test(error.message));
  });

  test('a damaged report or champion record is a warning naming it; the runs are still listed', async () => {
    const objects = new Map(OBJECTS);
    objects.set(runArtifactKeys('mid-run').classificationReport, '{"accuracy": 2}');
    objects.set(championKey(TEST_SET), '{"runId": "old-run"}');
    const stack = deployedStack(objects);
    const list = await runsListCommand({ aws: true, json: true }, stack.deps);
    assert.deepEqual(list.runs.map((run) => [run.runId, run.state, run.accuracy === undefined]), [
      ['a-new-run', 'evaluated', false],
      ['z-started', 'started', true],
      ['mid-run', 'registered', true],
      ['old-run', 'registered', false],
      // listChampions reads all champion records or none: with one damaged, no run is shown as champion.
      ['legacy-run', 'evaluated', false],
    ]);
    assert.ok(list.warnings.some((w) => w.startsWith(`s3://${BUCKET}/runs/mid-run/report/classification_report.json: `) && w.endsWith('; scores of run mid-run not shown')), list.warnings.join('\n'));
    assert.ok(list.warnings.some((w) => w.startsWith(`s3://${BUCKET}/${championKey(TEST_SET)}`) && w.endsWith('; champions not shown')), list.warnings.join('\n'));
  });

  test('an empty bucket lists no runs', async () => {
    const stack = deployedStack(new Map());
    const list = await runsListCommand({ aws: true }, stack.deps);
    assert.deepEqual(list.runs, []);
    assert.equal(stack.out.text, `no runs in s3://${BUCKET} (nothing under runs/ has a run.json)\n`);
  });
});
