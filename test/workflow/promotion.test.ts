import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WEIGHTS_BIN } from '../../lib/model/io.ts';
import { type Candidate, type Champion, CHAMPION_FILES, championFrom, championKey, decide } from '../../lib/workflow/promotion.ts';

const SPLIT = 'a'.repeat(64);
const sha = (c: string) => c.repeat(64);
const candidate = (overrides: Partial<Candidate> = {}): Candidate => ({
  runId: 'run-new',
  datasetId: 'ds-a',
  testSetId: SPLIT,
  accuracy: 0.91,
  macroF1: 0.905,
  modelPrefix: 'runs/run-new/model/',
  reportPrefix: 'runs/run-new/report/',
  modelSha256: { 'model.json': sha('1'), 'weights.bin': sha('2') },
  ...overrides,
});
const files = { 'model.json': { versionId: null, sha256: sha('3') }, 'weights.bin': { versionId: 'v1', sha256: sha('4') } };
const champion = (overrides: Partial<Champion> = {}): Champion => ({
  runId: 'run-old',
  datasetId: 'ds-a',
  testSetId: SPLIT,
  accuracy: 0.9,
  macroF1: 0.89,
  modelPrefix: 'runs/run-old/model/',
  reportPrefix: 'runs/run-old/report/',
  promotedAt: '2026-01-01T00:00:00.000Z',
  files,
  previous: null,
  reason: 'no champion yet',
  ...overrides,
});

describe('promotion decision', () => {
  test('one champion per test split, under models/champions/; it pins the two files a model is loaded from', () => {
    assert.equal(championKey(SPLIT), `models/champions/${SPLIT}.json`);
    assert.deepEqual([...CHAMPION_FILES].sort(), ['model.json', WEIGHTS_BIN].sort());
  });

  test('the first evaluated model becomes champion', () => {
    const decision = decide(undefined, candidate());
    assert.equal(decision.promote, true);
    assert.match(decision.reason, /no champion/);
  });

  test('higher accuracy on the same test split wins', () => {
    const decision = decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.9001 }));
    assert.equal(decision.promote, true);
    assert.match(decision.reason, /90\.01% beats the champion's 90\.00% \(run-old\)/);
  });

  test('a model trained on other data but judged on the same test split is compared (and wins when better)', () => {
    const decision = decide(champion({ datasetId: 'ds-a', accuracy: 0.5 }), candidate({ datasetId: 'ds-b', accuracy: 0.99 }));
    assert.equal(decision.promote, true);
    assert.equal(decide(champion({ datasetId: 'ds-a', accuracy: 0.99 }), candidate({ datasetId: 'ds-b', accuracy: 0.5 })).promote, false);
  });

  test('a tie or a lower accuracy keeps the champion', () => {
    assert.equal(decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.9 })).promote, false);
    const lower = decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.85, macroF1: 0.99 }));
    assert.equal(lower.promote, false);
    assert.match(lower.reason, /does not beat/);
  });

  test('a champion record of another test split is never compared', () => {
    assert.throws(() => decide(champion({ testSetId: 'b'.repeat(64) }), candidate()), /is for test set b{64}/);
  });

  test('mode "always" adopts the candidate even when worse; "never" never does', () => {
    assert.equal(decide(champion(), candidate({ accuracy: 0.1 }), 'always').promote, true);
    assert.equal(decide(undefined, candidate(), 'never').promote, false);
    assert.equal(decide(champion({ accuracy: 0.1 }), candidate({ accuracy: 0.99 }), 'never').promote, false);
  });

  test('re-running the step for the current champion changes nothing', () => {
    const decision = decide(champion({ runId: 'run-new' }), candidate({ runId: 'run-new' }), 'always');
    assert.equal(decision.promote, false);
    assert.match(decision.reason, /already the champion/);
  });

  test('the promotion floor holds the accuracy rule, the first champion included; "always" is not held to it', () => {
    const policy = { minAccuracy: 0.5, minMacroF1: 0.6 };
    const weak = decide(undefined, candidate({ accuracy: 0.49, macroF1: 0.9 }), 'if-better', policy);
    assert.equal(weak.promote, false);
    assert.match(weak.reason, /accuracy 49\.00% is below the promotion floor 50\.00%/);
    const lowF1 = decide(champion({ accuracy: 0.5 }), candidate({ accuracy: 0.9, macroF1: 0.59 }), 'if-better', policy);
    assert.equal(lowF1.promote, false);
    assert.match(lowF1.reason, /macro F1 0\.5900 is below the promotion floor 0\.6000/);
    assert.equal(decide(undefined, candidate({ accuracy: 0.5, macroF1: 0.6 }), 'if-better', policy).promote, true, 'the floor itself passes');
    assert.equal(decide(undefined, candidate({ accuracy: 0.1 }), 'always', policy).promote, true);
  });

  test('championFrom records the candidate, its pinned files, the champion it replaced and why', () => {
    const at = new Date('2026-11-29T14:00:00Z');
    assert.deepEqual(championFrom(candidate(), files, champion(), 'better', at, 'workflow (execution e-1)'), {
      runId: 'run-new',
      datasetId: 'ds-a',
      testSetId: SPLIT,
      accuracy: 0.91,
      macroF1: 0.905,
      modelPrefix: 'runs/run-new/model/',
      reportPrefix: 'runs/run-new/report/',
      promotedAt: '2026-11-29T14:00:00.000Z',
      files,
      previous: 'run-old',
      reason: 'better',
      by: 'workflow (execution e-1)',
      change: 'promotion',
    });
    assert.equal(championFrom(candidate(), files, undefined, 'first', at).previous, null);
    assert.equal('by' in championFrom(candidate(), files, undefined, 'first', at), false, 'no "by" when nobody is named');
  });
});
