import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Candidate, type Champion, CHAMPION_KEY, championFrom, decide } from '../../lib/workflow/promotion.ts';

const candidate = (overrides: Partial<Candidate> = {}): Candidate => ({
  runId: 'run-new',
  datasetId: 'ds-a',
  accuracy: 0.91,
  macroF1: 0.905,
  modelPrefix: 'runs/run-new/model/',
  reportPrefix: 'runs/run-new/report/',
  ...overrides,
});
const champion = (overrides: Partial<Champion> = {}): Champion => ({
  runId: 'run-old',
  datasetId: 'ds-a',
  accuracy: 0.9,
  macroF1: 0.89,
  modelPrefix: 'runs/run-old/model/',
  reportPrefix: 'runs/run-old/report/',
  promotedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('promotion decision', () => {
  test('the champion pointer lives under models/', () => {
    assert.equal(CHAMPION_KEY, 'models/champion.json');
  });

  test('the first evaluated model becomes champion', () => {
    const decision = decide(undefined, candidate());
    assert.equal(decision.promote, true);
    assert.match(decision.reason, /no champion/);
  });

  test('higher accuracy on the same test set wins', () => {
    const decision = decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.9001 }));
    assert.equal(decision.promote, true);
    assert.match(decision.reason, /90\.01% beats the champion's 90\.00%/);
  });

  test('a tie or a lower accuracy keeps the champion', () => {
    assert.equal(decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.9 })).promote, false);
    const lower = decide(champion({ accuracy: 0.9 }), candidate({ accuracy: 0.85, macroF1: 0.99 }));
    assert.equal(lower.promote, false);
    assert.match(lower.reason, /does not beat/);
  });

  test('metrics from a different test set are not comparable', () => {
    const decision = decide(champion({ datasetId: 'ds-a', accuracy: 0.5 }), candidate({ datasetId: 'ds-b', accuracy: 0.99 }));
    assert.equal(decision.promote, false);
    assert.match(decision.reason, /not comparable.*ds-a.*ds-b.*promote: "always"/);
  });

  test('mode "always" adopts the candidate even on other data; "never" never does', () => {
    assert.equal(decide(champion({ datasetId: 'ds-a' }), candidate({ datasetId: 'ds-b', accuracy: 0.1 }), 'always').promote, true);
    assert.equal(decide(undefined, candidate(), 'never').promote, false);
    assert.equal(decide(champion({ accuracy: 0.1 }), candidate({ accuracy: 0.99 }), 'never').promote, false);
  });

  test('re-running the step for the current champion changes nothing', () => {
    const decision = decide(champion({ runId: 'run-new' }), candidate({ runId: 'run-new' }), 'always');
    assert.equal(decision.promote, false);
    assert.match(decision.reason, /already the champion/);
  });

  test('championFrom records the candidate with a timestamp', () => {
    const at = new Date('2026-11-29T14:00:00Z');
    assert.deepEqual(championFrom(candidate(), at), {
      runId: 'run-new',
      datasetId: 'ds-a',
      accuracy: 0.91,
      macroF1: 0.905,
      modelPrefix: 'runs/run-new/model/',
      reportPrefix: 'runs/run-new/report/',
      promotedAt: '2026-11-29T14:00:00.000Z',
    });
  });
});
