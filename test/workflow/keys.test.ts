import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetIdFor } from '../../lib/data/dataset-id.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { ExecutionInput } from '../../lib/workflow/execution-input.ts';
import { DatasetPrefix, MAX_SOURCES_PER_SPLIT, sourceKeyProblem, sourceKeys } from '../../lib/workflow/keys.ts';
import { datasetPrefix } from '../../lib/workflow/layout.ts';
import { Candidate } from '../../lib/workflow/promotion.ts';

describe('event keys', () => {
  test('a real dataset id makes a valid dataset prefix; anything above, beside or below it does not', () => {
    const id = datasetIdFor({ train: [{ sha256: 'a'.repeat(64) }], test: [{ sha256: 'b'.repeat(64) }] });
    assert.equal(DatasetPrefix.safeParse(datasetPrefix(id)).success, true);
    for (const bad of ['datasets/', `datasets/${id}`, `datasets/${id}/train-00000.bin`, `datasets/${id}/x/`, `datasets/${id.toUpperCase()}/`, `raw/${id}/`, `datasets/${id.slice(1)}/`]) {
      assert.equal(DatasetPrefix.safeParse(bad).success, false, bad);
    }
  });

  test('source keys: the rule alone, without a bucket (what `fmnist start` checks before it knows the bucket)', () => {
    assert.equal(sourceKeyProblem('raw/fmnist/train.csv'), undefined);
    assert.equal(sourceKeyProblem('raw/a..b.csv'), undefined, '".." inside a name is not a path segment');
    assert.match(sourceKeyProblem('runs/x/model.json')!, /not under raw\//);
    const parsed = sourceKeys().parse(['s3://any-bucket/raw/a.csv', 'raw/b.csv']);
    assert.deepEqual(parsed, ['s3://any-bucket/raw/a.csv', 'raw/b.csv'], 'kept as given');
    assert.equal(ExecutionInput.safeParse({ train: ['s3://any-bucket/datasets/x'], test: ['raw/t.csv'] }).success, false);
  });

  test('with the bucket: its URLs become bare keys, and the list length is bounded', () => {
    assert.deepEqual(sourceKeys('data-bucket').parse(['s3://data-bucket/raw/a.csv', 'raw/b.csv']), ['raw/a.csv', 'raw/b.csv']);
    const many = Array.from({ length: MAX_SOURCES_PER_SPLIT + 1 }, (_, i) => `raw/${i}.csv`);
    assert.equal(sourceKeys('data-bucket').safeParse(many).success, false);
    assert.equal(sourceKeys('data-bucket').safeParse(many.slice(1)).success, true);
  });
});

describe('promotion candidate', () => {
  const candidate = {
    runId: 'run-1',
    datasetId: 'ds',
    testSetId: 'e'.repeat(64),
    accuracy: 0.9,
    macroF1: 0.9,
    modelPrefix: 'runs/run-1/model/',
    reportPrefix: 'runs/run-1/report/',
    modelSha256: { 'model.json': '1'.repeat(64), 'weights.bin': '2'.repeat(64) },
  };

  test("accepts the run's own prefixes", () => {
    assert.deepEqual(Candidate.parse(candidate), candidate);
  });

  test("refuses another run's prefixes, or anything broader, naming the field", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ modelPrefix: 'runs/run-2/model/' }, /ConfigError: invalid promote event: modelPrefix: must be "runs\/run-1\/model\/" \(the prefix of run run-1\), got "runs\/run-2\/model\/"$/],
      [{ modelPrefix: 'runs/' }, /modelPrefix: must be "runs\/run-1\/model\/"/],
      [{ reportPrefix: 'runs/run-1/model/' }, /reportPrefix: must be "runs\/run-1\/report\/"/],
      [{ reportPrefix: 'models/' }, /reportPrefix: must be "runs\/run-1\/report\/"/],
    ];
    for (const [change, message] of cases) {
      assert.throws(() => parseEvent(Candidate, { ...candidate, ...change }, 'promote'), message);
    }
  });
});
