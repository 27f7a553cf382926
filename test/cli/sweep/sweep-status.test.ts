import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { ConfigError } from '../../../lib/errors.ts';
import { sweepPageKey, sweepRecordKey, type SweepRecord } from '../../../lib/workflow/sweep/sweep-record.ts';
import { registerSweepCommands, sweepStatusCommand } from '../../../cli/sweep/sweep-commands.ts';
import type { SweepStatus } from '../../../cli/sweep/sweep-status.ts';
import type { RegistryDeps } from '../../../cli/registry/target.ts';
import { localStateDir, type Objects } from '../registry/runs-fixtures.ts';
import { BUCKET, deployedStack, sinks } from '../registry/runs-support.ts';
import { renderSweepPage } from '../../../lib/report/sweep-page.ts';
import { halvingHistories, halvingSweep, learningRateSweep, SWEEP_ID } from '../../report/sweep-fixture.ts';

/** `fmnist <args>` through commander, as bin/fmnist.ts parses it (errors thrown, not exiting). */
async function fmnist(args: string[], deps: RegistryDeps): Promise<void> {
  const program = new Command('fmnist').exitOverride();
  registerSweepCommands(program, deps);
  await program.parseAsync(args, { from: 'user' });
}

const json = (value: unknown) => JSON.stringify(value, null, 2);
const f4 = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(4));

/**
 * The halving sweep (page written; histories of t01 and t03, t05's damaged) and the
 * learning-rate sweep (page not written yet, no histories).
 */
const RECORD = halvingSweep();
const HISTORIES = halvingHistories(RECORD);
const historyKey = (trialId: string) => `runs/${SWEEP_ID}-${trialId}/model/history.json`;
const OBJECTS: Objects = new Map([
  [historyKey('t01'), json(HISTORIES.t01)],
  [historyKey('t03'), json(HISTORIES.t03)],
  [historyKey('t05'), json([{ epoch: 0, loss: 1, accuracy: 0.5, seconds: 1 }])],
  [sweepRecordKey(SWEEP_ID), json(RECORD)],
  [sweepPageKey(SWEEP_ID), '<!DOCTYPE html>'],
  [sweepRecordKey('lr-sweep'), json(learningRateSweep())],
  [sweepRecordKey('broken'), json({ ...learningRateSweep(), sweepId: 'broken', trials: learningRateSweep().trials.map((t, i) => (i === 1 ? { ...t, status: 'done' } : t)) })],
  [sweepRecordKey('not-json'), '{"sweepId": "not-json",'],
  [sweepRecordKey('misfiled'), json(learningRateSweep())],
]);

/** What the text output must say of RECORD, wherever the bucket is. */
function assertStatusText(text: string, record: SweepRecord) {
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], `sweep ${SWEEP_ID}: complete, 6 trials (3 complete, 2 stopped, 1 failed) on dataset ${record.datasetId} (test set ${'c'.repeat(12)})`);
  assert.equal(lines[1], 'trials made by grid; successive halving: keep the best 1/2 after each round, epoch budgets 1, 3; 2 rounds recorded');
  assert.equal(lines[2], `ranking: ${record.ranking}`);
  const header = lines.find((line) => line.startsWith('TRIAL'))!;
  assert.deepEqual(header.split(/\s{2,}/), ['TRIAL', 'learningRate', 'batchSize', 'model.preset', 'STATUS', 'VAL ACC', 'TEST ACC', 'SECONDS']);
  for (const trial of record.trials) {
    const line = lines.find((l) => l.startsWith(`${trial.trialId} `) && !l.includes(':'))!;
    const config = trial.config as { learningRate: number; batchSize: number; model?: { preset: string } };
    const cells = line.split(/\s{2,}/);
    assert.deepEqual(cells.slice(1, 4), [String(config.learningRate), String(config.batchSize), config.model?.preset ?? 'default'], trial.trialId);
    assert.deepEqual(cells.slice(5), [f4(trial.valAccuracy), f4(trial.evaluation?.accuracy), trial.seconds === undefined ? '-' : trial.seconds.toFixed(1)], trial.trialId);
    assert.equal(cells[0], trial.trialId === record.best!.trialId ? `${trial.trialId} *` : trial.trialId);
  }
  assert.equal(lines.find((l) => l.startsWith('t02 '))!.split(/\s{2,}/)[4], 'stopped after round 1 of 2');
  assert.ok(lines.includes('t04 failed in round 1 of 2: States.TaskFailed: loss became NaN after epoch 1 <diverged>'), text);
  const best = record.trials.find((t) => t.trialId === record.best!.trialId)!;
  assert.ok(lines.includes(`best: t05 * (run ${best.runId}): validation accuracy ${f4(best.valAccuracy)}, test accuracy ${f4(best.evaluation!.accuracy)}`), text);
  const seconds = record.rounds.flatMap((round) => round.results).reduce((sum, r) => sum + (r.seconds ?? 0), 0);
  assert.ok(lines.includes(`training: ${seconds.toFixed(1)} s over every trial and round`), text);
}

describe('fmnist sweep status, local bucket', () => {
  let stateDir: string;
  before(async () => {
    stateDir = await localStateDir(OBJECTS);
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  test('prints the status, ranking, one line a trial over the varying fields, the best and where the page is', async () => {
    const streams = sinks();
    await fmnist(['sweep', 'status', SWEEP_ID, '--state-dir', stateDir], streams);
    assertStatusText(streams.out.text, RECORD);
    assert.equal(streams.out.text.trimEnd().split('\n').at(-1), `page: s3://fmnist-local/sweeps/${SWEEP_ID}/index.html in the local bucket at ${stateDir}`);
    assert.equal(streams.log.text, '');
  });

  test('--json: the record as stored, the varying fields and the page', async () => {
    const streams = sinks();
    await fmnist(['sweep', 'status', SWEEP_ID, '--state-dir', stateDir, '--json'], streams);
    const status = JSON.parse(streams.out.text) as SweepStatus;
    assert.deepEqual(status.record, RECORD);
    assert.deepEqual(status.varyingFields, ['learningRate', 'batchSize', 'model.preset']);
    assert.deepEqual(status.page, { url: `s3://fmnist-local/sweeps/${SWEEP_ID}/index.html`, written: true });
    assert.equal(status.recordUrl, `s3://fmnist-local/sweeps/${SWEEP_ID}/sweep.json`);
    assert.match(status.where, /^the local bucket at /);
  });

  test('a page not written yet is said so; one varying field is one column', async () => {
    const streams = sinks();
    const status = await sweepStatusCommand('lr-sweep', { stateDir }, streams);
    assert.equal(status.page.written, false);
    const lines = streams.out.text.trimEnd().split('\n');
    assert.equal(lines.at(-1), `page: not written yet (s3://fmnist-local/sweeps/lr-sweep/index.html in the local bucket at ${stateDir})`);
    assert.equal(lines[1], 'trials made by random, seed 42; one round; 1 round recorded');
    assert.deepEqual(lines.find((line) => line.startsWith('TRIAL'))!.split(/\s{2,}/), ['TRIAL', 'learningRate', 'STATUS', 'VAL ACC', 'TEST ACC', 'SECONDS']);
  });

  test('--html renders the page from the bucket: the record and the histories there; an unreadable history is a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fmnist-sweep-html-'));
    try {
      const streams = sinks();
      const file = join(dir, 'pages', 'sweep.html');
      await fmnist(['sweep', 'status', SWEEP_ID, '--state-dir', stateDir, '--json', '--html', file], streams);
      // t05's history does not fit its schema: its curve comes from its rounds' figures.
      assert.equal(await readFile(file, 'utf8'), renderSweepPage(RECORD, { t01: HISTORIES.t01, t03: HISTORIES.t03 }));
      assert.deepEqual(JSON.parse(streams.out.text).record, RECORD);
      const log = streams.log.text.trimEnd().split('\n');
      assert.match(log[0], new RegExp(`^warning: s3://fmnist-local/${historyKey('t05').replace(/[.]/g, '\\.')}: \\[0\\]\\.epoch: .*; trial t05 is drawn from its rounds' figures$`));
      assert.equal(log[1], `sweep page written to ${file} (its links to the trials' pages are relative to the bucket's layout)`);
      assert.equal(log.length, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing sweep names the id and where it looked', async () => {
    await assert.rejects(
      sweepStatusCommand('no-such-sweep', { stateDir }, sinks()),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `no sweep no-such-sweep in the local bucket at ${stateDir}: s3://fmnist-local/sweeps/no-such-sweep/sweep.json does not exist (was it started with another --state-dir, or on the other side of --aws?)`,
    );
  });

  test('a malformed sweep.json names the object and the field', async () => {
    await assert.rejects(sweepStatusCommand('broken', { stateDir }, sinks()), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^s3:\/\/fmnist-local\/sweeps\/broken\/sweep\.json: trials\[1\]\.status: /);
      return true;
    });
    await assert.rejects(sweepStatusCommand('not-json', { stateDir }, sinks()), (error: unknown) => error instanceof ConfigError && /^s3:\/\/fmnist-local\/sweeps\/not-json\/sweep\.json: not valid JSON/.test(error.message));
    await assert.rejects(
      sweepStatusCommand('misfiled', { stateDir }, sinks()),
      (error: unknown) => error instanceof ConfigError && error.message === 's3://fmnist-local/sweeps/misfiled/sweep.json: sweepId: names sweep lr-sweep, not misfiled',
    );
  });

  test('a sweep id that could not be one is refused before any read', async () => {
    await assert.rejects(fmnist(['sweep', 'status', '../runs', '--state-dir', stateDir], sinks()), (error: unknown) => error instanceof ConfigError && /"\.\.\/runs" is not a sweep id/.test(error.message));
  });

  test('connection flags of the deployed stack are refused without --aws', async () => {
    await assert.rejects(fmnist(['sweep', 'status', SWEEP_ID, '--state-dir', stateDir, '--region', 'eu-west-1'], sinks()), (error: unknown) => error instanceof ConfigError && error.message === '--region: for the deployed stack; add --aws');
  });
});

describe('fmnist sweep status --aws', () => {
  test('reads the deployed stack\'s bucket the same way; the page is an s3:// URL', async () => {
    const stack = deployedStack(OBJECTS);
    await fmnist(['sweep', 'status', SWEEP_ID, '--aws'], stack.deps);
    assertStatusText(stack.out.text, RECORD);
    assert.equal(stack.out.text.trimEnd().split('\n').at(-1), `page: s3://${BUCKET}/sweeps/${SWEEP_ID}/index.html`);
  });

  test('--json, and a missing sweep names the bucket', async () => {
    const stack = deployedStack(OBJECTS);
    const status = await sweepStatusCommand(SWEEP_ID, { aws: true, json: true }, stack.deps);
    assert.deepEqual(JSON.parse(stack.out.text), JSON.parse(JSON.stringify(status)));
    assert.equal(status.where, `s3://${BUCKET}`);
    await assert.rejects(sweepStatusCommand('gone', { aws: true }, deployedStack(new Map()).deps), (error: unknown) => error instanceof ConfigError && error.message.startsWith(`no sweep gone in s3://${BUCKET}: s3://${BUCKET}/sweeps/gone/sweep.json does not exist`));
  });
});
