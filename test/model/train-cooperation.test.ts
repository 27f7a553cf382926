import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import { CooperativeLoop, TrainingAbortedError } from '../../lib/model/cooperative.ts';
import { progressWanted, subscribeToTrainingProgress, type TrainingProgress } from '../../lib/model/progress-channel.ts';
import { trainModel, type TrainHooks } from '../../lib/model/train.ts';
import { nativeAddonLoads, squaresDataset } from './helpers.ts';

const TINY = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

function tinyConfig(overrides: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({ epochs: 3, batchSize: 16, validationSplit: 0.25, learningRate: 0.01, model: TINY, backend: 'wasm', ...overrides });
}

/** Longer than any gap between timer ticks we accept while training (the machine may be loaded). */
const GAP_BOUND_MS = 500;

/** Runs `work` under a 20 ms interval timer: the longest time no tick came, counting from the start to the end of `work`. */
async function longestTimerGap(work: () => Promise<unknown>): Promise<{ gapMs: number; workMs: number }> {
  const ticks: number[] = [];
  const timer = setInterval(() => ticks.push(performance.now()), 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const points = [started, ...ticks, performance.now()];
  const gapMs = Math.max(...points.slice(1).map((t, i) => t - points[i]));
  return { gapMs, workMs: points.at(-1)! - started };
}

describe('CooperativeLoop', () => {
  it('yields to the event loop once the interval has passed, and throws once aborted', async () => {
    const controller = new AbortController();
    const loop = new CooperativeLoop(controller.signal, 0);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await loop.checkpoint();
    assert.ok(immediateRan, 'a checkpoint after the interval lets setImmediate callbacks run');

    const never = new CooperativeLoop(undefined, Infinity);
    let ran = false;
    setImmediate(() => (ran = true));
    await never.checkpoint();
    assert.equal(ran, false, 'with Infinity it never yields');

    controller.abort(new Error('stop now'));
    await assert.rejects(loop.checkpoint(), (error: unknown) => {
      assert.ok(error instanceof TrainingAbortedError);
      assert.equal(error.name, 'TrainingAborted');
      assert.match(error.message, /stop now/);
      assert.equal((error.cause as Error).message, 'stop now');
      return true;
    });
    assert.throws(() => new CooperativeLoop(undefined, Number.NaN), RangeError);
  });
});

describe('trainModel, aborted', () => {
  it('stops between batches when the signal fires from a timer, releasing every tensor', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let epochsEnded = 0;
    const hooks: TrainHooks = {
      signal: controller.signal,
      // Once training is surely under way, a timer (as a deadline or a signal handler would) aborts it.
      onEpochEnd: () => {
        epochsEnded++;
        timer ??= setTimeout(() => controller.abort(new Error('the deadline passed')), 30);
      },
    };
    try {
      await assert.rejects(trainModel(squaresDataset(200), tinyConfig({ epochs: 200 }), hooks), (error: unknown) => {
        assert.ok(error instanceof TrainingAbortedError, String(error));
        assert.equal(error.name, 'TrainingAborted');
        assert.match(error.message, /the deadline passed/);
        return true;
      });
    } finally {
      clearTimeout(timer);
    }
    assert.ok(epochsEnded >= 1 && epochsEnded < 200, `stopped after ${epochsEnded} of 200 epochs`);
    assert.equal(tf.memory().numTensors, before, 'the model, its optimiser and the running totals are disposed');
  });

  it('does not start when the signal has already fired', async () => {
    const before = tf.memory().numTensors;
    let epochs = 0;
    await assert.rejects(
      trainModel(squaresDataset(40), tinyConfig(), { signal: AbortSignal.abort(new Error('stopped')), onEpochBegin: () => epochs++ }),
      { name: 'TrainingAborted' },
    );
    assert.equal(epochs, 0);
    assert.equal(tf.memory().numTensors, before);
  });

  it('stops during validation too', async () => {
    const controller = new AbortController();
    let epochsEnded = 0;
    // Validation of 1,000 examples runs in chunks of 256, with checkpoints between them.
    const data = squaresDataset(1040);
    const hooks: TrainHooks = {
      signal: controller.signal,
      yieldEveryMs: 0,
      onBatchEnd: (_epoch, batch, batches) => {
        if (batch === batches) controller.abort(new Error('stop in validation'));
      },
      onEpochEnd: () => epochsEnded++,
    };
    await assert.rejects(trainModel(data, tinyConfig({ epochs: 1, validationSplit: 1000 / 1040, batchSize: 40 }), hooks), {
      name: 'TrainingAborted',
    });
    assert.equal(epochsEnded, 0, 'the epoch never ended');
  });
});

describe('trainModel on the progress channel', () => {
  it('publishes epochs and batches while subscribed, as the hooks see them', async () => {
    assert.equal(progressWanted(), false, 'nobody listens by default');
    const messages: TrainingProgress[] = [];
    const hookCalls: TrainingProgress[] = [];
    const unsubscribe = subscribeToTrainingProgress((message) => messages.push(message));
    let result;
    try {
      assert.equal(progressWanted(), true);
      result = await trainModel(squaresDataset(100), tinyConfig({ epochs: 2, batchSize: 10, validationSplit: 0.2 }), {
        onEpochBegin: (epoch, epochs, batches) => hookCalls.push({ kind: 'epochBegin', epoch, epochs, batches }),
        onBatchEnd: (epoch, batch, batches, logs) => hookCalls.push({ kind: 'batchEnd', epoch, batch, batches, ...logs }),
        onEpochEnd: (log) => hookCalls.push({ kind: 'epochEnd', log }),
        onModelSummary: (summary) => hookCalls.push({ kind: 'modelSummary', summary }),
      });
    } finally {
      unsubscribe();
    }
    assert.equal(progressWanted(), false);
    assert.deepEqual(messages, hookCalls);
    const kinds = messages.map((m) =>
      m.kind === 'batchEnd' ? `batch ${m.epoch} ${m.batch}/${m.batches}` : m.kind === 'modelSummary' ? m.kind : `${m.kind} ${'log' in m ? m.log.epoch : m.epoch}`,
    );
    assert.equal(kinds[0], 'modelSummary');
    assert.ok(kinds.includes('batch 1 8/8') && kinds.includes('batch 2 8/8'), kinds.join(', '));
    assert.deepEqual(
      kinds.filter((k) => !k.startsWith('batch')),
      ['modelSummary', 'epochBegin 1', 'epochEnd 1', 'epochBegin 2', 'epochEnd 2'],
    );
    const ends = messages.filter((m) => m.kind === 'epochEnd');
    assert.deepEqual(
      ends.map((m) => m.log),
      result.history,
    );
    const lastBatch = messages.findLast((m) => m.kind === 'batchEnd' && m.epoch === 2)!;
    assert.ok(lastBatch.kind === 'batchEnd' && Math.abs(lastBatch.loss - result.history[1].loss) < 1e-6, 'the last batch shows the epoch mean');
    result.model.dispose();
  });

  it('publishes nothing to a listener that unsubscribed', async () => {
    const messages: TrainingProgress[] = [];
    subscribeToTrainingProgress((message) => messages.push(message))();
    const result = await trainModel(squaresDataset(40), tinyConfig({ epochs: 1 }));
    result.model.dispose();
    assert.deepEqual(messages, []);
  });
});

describe('trainModel lets timers run while it trains', { skip: nativeAddonLoads() ? false : 'tfjs-node is not installed' }, () => {
  // The walkthrough CNN (default model) on native TensorFlow: long enough (> GAP_BOUND_MS per
  // epoch here) that never yielding shows as one long gap.
  // warmUp: the graph predicts in chunks of 512 rows, the eager path in chunks of 256; each
  // warm-up validates on at least one whole chunk so those kernels exist too.
  const cases = [
    { step: 'graph', examples: 6000, warmUp: 2600 },
    { step: 'eager', examples: 2500, warmUp: 1300 },
  ] as const;
  const config = parseTrainConfig({ epochs: 1, validationSplit: 0.2, backend: 'tensorflow' });

  // A process's first steps and predictions on native TensorFlow block for up to a second
  // inside single native calls (loading the library, creating kernels), which no yield can
  // split; every later run reuses them. Pay those costs before measuring.
  before(async () => {
    for (const { step, warmUp } of cases) {
      (await trainModel(squaresDataset(warmUp), config, { trainStep: step })).model.dispose();
    }
  });

  for (const { step, examples } of cases) {
    it(`fires a 20 ms interval timer throughout training (${step} step), and would not without yielding`, async (t) => {
      const data = squaresDataset(examples);
      const trainAndDispose = (hooks: TrainHooks) => async () => {
        const result = await trainModel(data, config, { ...hooks, trainStep: step });
        assert.equal(result.backend.trainingStep, step);
        result.model.dispose();
      };
      const yielding = await longestTimerGap(trainAndDispose({}));
      const never = await longestTimerGap(trainAndDispose({ yieldEveryMs: Infinity }));
      t.diagnostic(`longest gap: yielding ${yielding.gapMs.toFixed(0)} ms of ${yielding.workMs.toFixed(0)} ms, never ${never.gapMs.toFixed(0)} ms of ${never.workMs.toFixed(0)} ms`);
      // Without yields the timer starves for (nearly) the whole run: what this test detects.
      assert.ok(never.gapMs >= GAP_BOUND_MS, `never yielding: longest gap ${never.gapMs.toFixed(0)} ms of ${never.workMs.toFixed(0)} ms: make the run longer`);
      assert.ok(
        yielding.gapMs < GAP_BOUND_MS,
        `yielding: longest gap between ticks ${yielding.gapMs.toFixed(0)} ms (training ${yielding.workMs.toFixed(0)} ms)`,
      );
    });
  }
});
