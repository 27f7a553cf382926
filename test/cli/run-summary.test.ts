import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTestFigures, parseRunOutput, runRecord } from '../../cli/run-summary.ts';
import { ConfigError } from '../../lib/errors.ts';

/** `fmnist run` reads its figures from the execution's output: the state document (this fixture has the shape a local run's execution-output.json has), validated. */
const output = {
  plan: { runId: 'r1', epochs: 2 },
  dataset: { datasetId: 'f722f0177fbc4647', trainExamples: 6000, testExamples: 1000 },
  training: { status: 'complete', runId: 'r1', modelPrefix: 'runs/r1/model/', backend: 'tensorflow', seconds: 3.5, imagesPerSecond: 2282.1, epochs: 2 },
  evaluation: { runId: 'r1', reportPrefix: 'runs/r1/report/', accuracy: 0.743, loss: 0.71166, macroF1: 0.73075, weightedF1: 0.72779, reused: false },
  promotion: { promoted: true, reason: 'no champion yet' },
};

test('the figures and run.json come from the output', () => {
  const parsed = parseRunOutput(output);
  assert.equal(formatTestFigures(parsed), 'test loss 0.7117 - test accuracy 0.7430 - macro F1 0.7308 - weighted F1 0.7278');
  assert.deepEqual(runRecord('r1', parsed, 9), {
    runId: 'r1',
    datasetId: 'f722f0177fbc4647',
    backend: { name: 'tensorflow' },
    epochs: 2,
    trainingSeconds: 3.5,
    imagesPerSecond: 2282.1,
    totalSeconds: 9,
    testAccuracy: 0.743,
    testLoss: 0.71166,
    macroF1: 0.73075,
    promotion: { promoted: true, reason: 'no champion yet' },
  });
});

test('an output without the figures is refused, naming the field', () => {
  const { evaluation: _e, ...withoutEvaluation } = output;
  assert.throws(() => parseRunOutput(withoutEvaluation), (error: Error) => error instanceof ConfigError && /evaluation/.test(error.message));
  assert.throws(
    () => parseRunOutput({ ...output, evaluation: { ...output.evaluation, accuracy: 1.5 } }),
    (error: Error) => error instanceof ConfigError && /evaluation\.accuracy/.test(error.message),
  );
  assert.throws(() => parseRunOutput({ ...output, training: { ...output.training, seconds: 'fast' } }), /training\.seconds/);
});

