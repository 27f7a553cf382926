import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../lib/errors.ts';
import type { Champion } from '../../../lib/workflow/promotion.ts';
import { rollbackTarget } from '../../../cli/registry/champion-moves.ts';
import { indexTestSets, onlyChampionTestSet, resolveTestSet } from '../../../cli/registry/test-sets.ts';

/** Which champion a rollback returns to, and how --dataset names a test set: the pure parts. */

const TEST_SET = 'a'.repeat(64);
let minute = 0;
function record(runId: string, previous: string | null, change: 'promotion' | 'rollback' = 'promotion', testSetId = TEST_SET): Champion {
  minute++;
  const sha = (c: string) => c.repeat(64);
  return {
    runId,
    datasetId: `ds-${runId}`,
    testSetId,
    accuracy: 0.9,
    macroF1: 0.9,
    modelPrefix: `runs/${runId}/model/`,
    reportPrefix: `runs/${runId}/report/`,
    promotedAt: new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString(),
    files: { 'model.json': { versionId: null, sha256: sha('1') }, 'weights.bin': { versionId: null, sha256: sha('2') } },
    previous,
    reason: 'r',
    change,
  };
}

/** Applies a rollback to the history as the command does, returning the run it went back to. */
function rollBack(history: Champion[]): string | undefined {
  const current = history.at(-1)!;
  const back = rollbackTarget(history, current);
  if (back) history.push(record(back.runId, current.runId, 'rollback'));
  return back?.runId;
}

describe('rollbackTarget', () => {
  test('A → B → C: back to B, then A, then nothing', () => {
    const history = [record('A', null), record('B', 'A'), record('C', 'B')];
    assert.equal(rollBack(history), 'B');
    assert.equal(rollBack(history), 'A');
    assert.equal(rollBack(history), undefined);
  });

  test('a model rolled back from is never brought back by a rollback', () => {
    // A, C, B, C: rolling back from C goes to B, and from B past C's earlier reign to A.
    const history = [record('A', null), record('C', 'A'), record('B', 'C'), record('C', 'B')];
    assert.equal(rollBack(history), 'B');
    assert.equal(rollBack(history), 'A');
    assert.equal(rollBack(history), undefined);
  });

  test('a model promoted again by a person after a rollback counts again', () => {
    const history = [record('A', null), record('B', 'A'), record('C', 'B')];
    assert.equal(rollBack(history), 'B');
    history.push(record('C', 'B'));
    assert.equal(rollBack(history), 'B');
    assert.equal(rollBack(history), 'A');
  });

  test('a first champion has nothing before it; a champion missing from the history still counts as current', () => {
    assert.equal(rollbackTarget([record('A', null)], record('A', null)), undefined);
    const history = [record('A', null), record('B', 'A')];
    assert.equal(rollbackTarget(history, record('C', 'B'))?.runId, 'B');
  });
});

describe('--dataset', () => {
  const one = '0123456789abcdef'.repeat(4);
  const two = '0123456789abcdee'.repeat(4);
  const version = (testSetId: string, datasetId: string) => ({ testSetId, datasetId }) as never;
  const index = indexTestSets([version(one, 'feedbeef00000001'), version(two, 'feedbeef00000002')], [record('X', null, 'promotion', one)]);

  test('a test set id, a dataset id, or a unique prefix of either names its test set', () => {
    assert.equal(resolveTestSet(one, index), one);
    assert.equal(resolveTestSet('feedbeef00000002', index), two);
    assert.equal(resolveTestSet('0123456789abcdef0', index), one);
    assert.equal(resolveTestSet('feedbeef00000001', index), one);
  });

  test('an ambiguous prefix lists what it matches', () => {
    assert.throws(() => resolveTestSet('01234567', index), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `--dataset 01234567 is ambiguous: it names test set ${one} (dataset feedbeef00000001, ds-X; champion X); test set ${two} (dataset feedbeef00000002; champion none); give more digits`,
      );
      return true;
    });
    assert.throws(() => resolveTestSet('feedbeef', index), /--dataset feedbeef is ambiguous/);
  });

  test('not hex, too short: refused before any lookup', () => {
    assert.throws(() => resolveTestSet('0123456', index), /--dataset: must be a test set id or dataset id, or a prefix of at least 8 hex digits/);
    assert.throws(() => resolveTestSet('ABCDEF0123', index), /--dataset: must be a test set id or dataset id \(lowercase hex digits\)/);
  });

  test('rollback without --dataset: the only test set with a champion', () => {
    assert.equal(onlyChampionTestSet(index), one);
    assert.throws(() => onlyChampionTestSet(indexTestSets([version(one, 'feedbeef00000001')], [])), /no test set has a champion: nothing to roll back/);
  });
});
