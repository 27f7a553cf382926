import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { createTrainHandler, type TrainContext } from '../../functions/train/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import type { IngestResult, TrainBudgetReached, TrainContinuation, TrainOutcome, TrainResult } from '../../lib/workflow/events.ts';
import { checkpointPrefix, modelPrefix } from '../../lib/workflow/layout.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * The train step's epoch budget (TrainEvent.epochBudget, for a sweep's successive halving): a run
 * trained to budget 2, then 5, then 10 ends where one uninterrupted 10-epoch run does.
 */

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
/** 200 examples, 160 trained in batches of 16 (validationSplit 0.2 by default): 10 batches per epoch. */
const CONFIG = { epochs: 10, batchSize: 16, model: TINY_MODEL };
const BATCHES = 10;

/** A Lambda context whose time runs out after `sliceCalls` questions (as in train-continuation.test.ts): pauses where the test decides. */
function contextPausingAfter(sliceCalls: number): TrainContext {
  let calls = 0;
  return { getRemainingTimeInMillis: () => (calls++ <= sliceCalls ? 900_000 : 1) };
}

describe('the train handler with an epoch budget', () => {
  const s3 = new FakeS3();
  const epochsBegun: number[] = [];
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent, env: {}, hooks: { onEpochBegin: (epoch: number) => void epochsBegun.push(epoch) } };
  const handler = createTrainHandler(deps);
  let ingested: IngestResult;
  let whole: TrainResult;
  let wholeHistory: EpochLog[];

  const sha256 = (key: string) => createHash('sha256').update(s3.objects.get(key)!).digest('hex');
  const weightsOf = (runId: string) => sha256(`${modelPrefix(runId)}weights.bin`);
  const historyOf = (runId: string): EpochLog[] => JSON.parse(s3.objects.get(`${modelPrefix(runId)}history.json`)!.toString());
  const withoutSeconds = (history: EpochLog[]) => history.map(({ seconds: _seconds, ...log }) => log);
  const train = (runId: string, extra: Record<string, unknown> = {}, context?: TrainContext) =>
    handler({ datasetPrefix: ingested.datasetPrefix, runId, config: CONFIG, ...extra }, context);
  const at = (epoch: number, batch = 0) => ({ epoch, batch, epochs: CONFIG.epochs, batches: BATCHES });

  /** What a budget answer must say after `epochs` epochs: the uninterrupted run's figures for that epoch (training is deterministic). */
  function assertBudgetAnswer(answer: TrainOutcome, runId: string, epochs: number, resumedFrom?: ReturnType<typeof at>): asserts answer is TrainBudgetReached {
    assert.equal(answer.status, 'budget', JSON.stringify(answer));
    const { seconds, ...rest } = answer as TrainBudgetReached;
    assert.ok(seconds >= 0 && Number.isFinite(seconds), `seconds ${seconds}`);
    const reference = wholeHistory[epochs - 1];
    assert.ok(reference.val_accuracy !== undefined && reference.val_loss !== undefined, 'the reference validated');
    assert.deepEqual(rest, {
      status: 'budget',
      runId,
      datasetPrefix: ingested.datasetPrefix,
      epochs,
      valAccuracy: reference.val_accuracy,
      valLoss: reference.val_loss,
      ...(resumedFrom ? { resumedFrom } : {}),
    });
  }

  before(async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(200, 5).text);
    s3.put('raw/test.csv', syntheticKaggleCsv(20, 6).text);
    ingested = await createIngestHandler({ s3: s3.client, bucket: s3.bucket, logger: silent })({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
    whole = (await train('whole')) as TrainResult;
    assert.equal(whole.status, 'complete');
    assert.equal(whole.epochs, CONFIG.epochs);
    wholeHistory = historyOf('whole');
  });
  after(() => s3.restore());

  test('budgets 2, then 5, then 10, each invocation resuming, end with the weights and history of one uninterrupted run', async () => {
    assertBudgetAnswer(await train('halved', { epochBudget: 2 }), 'halved', 2);
    assert.equal(s3.objects.has(`${modelPrefix('halved')}model.json`), false, 'no model before training is complete');
    assert.ok(s3.keys(checkpointPrefix('halved')).some((key) => key.includes('-e0003-b000000/')), 'checkpointed at the start of epoch 3');

    epochsBegun.length = 0;
    assertBudgetAnswer(await train('halved', { epochBudget: 5 }), 'halved', 5, at(3));
    assert.deepEqual(epochsBegun, [3, 4, 5], 'no epoch trained twice');

    epochsBegun.length = 0;
    const last = (await train('halved', { epochBudget: 10 })) as TrainResult;
    assert.equal(last.status, 'complete');
    assert.equal(last.epochs, CONFIG.epochs);
    assert.deepEqual(last.resumedFrom, at(6));
    assert.deepEqual(epochsBegun, [6, 7, 8, 9, 10]);

    assert.equal(weightsOf('halved'), weightsOf('whole'));
    assert.deepEqual(withoutSeconds(historyOf('halved')), withoutSeconds(wholeHistory));
  });

  test("the Lambda's time-budget continuation still works inside a budgeted run", async () => {
    const answers: TrainOutcome[] = [];
    for (const epochBudget of [3, 10]) {
      for (let invocation = 0; invocation < 40; invocation++) {
        const answer = await train('sliced', { epochBudget }, contextPausingAfter(7));
        answers.push(answer);
        if (answer.status !== 'continue') break;
      }
    }
    const statuses = answers.map((answer) => answer.status);
    const firstBudget = statuses.indexOf('budget');
    assert.ok(firstBudget >= 3, `continuations before the budget: ${statuses}`);
    assert.equal(statuses.lastIndexOf('budget'), firstBudget, `one budget answer: ${statuses}`);
    assert.ok(statuses.slice(firstBudget + 1, -1).length >= 3 && statuses.slice(firstBudget + 1, -1).every((status) => status === 'continue'), `${statuses}`);
    assert.equal(statuses.at(-1), 'complete');
    // Time pauses inside the budgeted part stop short of it; the budget stops at its epoch end.
    for (const answer of answers.slice(0, firstBudget) as TrainContinuation[]) assert.ok(answer.position.epoch <= 3, JSON.stringify(answer.position));
    const budgetAnswer = answers[firstBudget];
    assertBudgetAnswer(budgetAnswer, 'sliced', 3, (answers[firstBudget - 1] as TrainContinuation).position);
    // Each invocation started where the one before stopped.
    for (let i = 1; i < answers.length; i++) {
      const before = answers[i - 1];
      assert.deepEqual(answers[i].resumedFrom, before.status === 'continue' ? before.position : at(4), `invocation ${i + 1}`);
    }
    assert.equal(weightsOf('sliced'), weightsOf('whole'));
    assert.deepEqual(withoutSeconds(historyOf('sliced')), withoutSeconds(wholeHistory));
  });

  test('an invocation whose checkpoint is at or past its budget answers at once, without training or writing', async () => {
    const first = await train('retried', { epochBudget: 3 });
    assertBudgetAnswer(first, 'retried', 3);
    const puts = s3.putOrder.length;
    epochsBegun.length = 0;
    for (const epochBudget of [3, 1]) {
      const again = await train('retried', { epochBudget });
      assertBudgetAnswer(again, 'retried', 3, at(4));
      assert.equal(again.seconds, 0);
    }
    assert.deepEqual(epochsBegun, [], 'nothing trained');
    assert.equal(s3.putOrder.length, puts, 'nothing written');
  });

  test('a complete model is answered as stored, whatever the budget', async () => {
    const puts = s3.putOrder.length;
    assert.deepEqual(await train('whole', { epochBudget: 2 }), { ...whole, reused: true });
    assert.equal(s3.putOrder.length, puts, 'nothing written');
  });

  test('a budget at or above config.epochs trains to the end', async () => {
    const result = (await train('over', { epochBudget: CONFIG.epochs + 5 })) as TrainResult;
    assert.equal(result.status, 'complete');
    assert.equal(result.epochs, CONFIG.epochs);
    assert.equal(weightsOf('over'), weightsOf('whole'));
  });

  test('without a validation split the budget answer has no validation figures', async () => {
    const answer = await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'no-validation', config: { ...CONFIG, validationSplit: 0 }, epochBudget: 1 });
    assert.equal(answer.status, 'budget');
    assert.deepEqual(Object.keys(answer).sort(), ['datasetPrefix', 'epochs', 'runId', 'seconds', 'status']);
    assert.equal((answer as TrainBudgetReached).epochs, 1);
  });

  test('early stopping that ends training before the budget completes the run, resumed across a budget or not', async () => {
    // Keras' semantics: the first epoch improves on the start (Infinity), no later one by more
    // than minDelta 1000, so training stops after epoch patience + 1.
    const patience = 2;
    const config = { ...CONFIG, earlyStopping: { monitor: 'val_loss', minDelta: 1000, patience } };
    const direct = (await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'stops', config, epochBudget: 5 })) as TrainResult;
    assert.equal(direct.status, 'complete');
    assert.equal(direct.epochs, patience + 1);
    assert.ok(s3.objects.has(`${modelPrefix('stops')}model.json`), 'the model is written');
    const record = JSON.parse(s3.objects.get(`${modelPrefix('stops')}training.json`)!.toString());
    assert.equal(record.earlyStopping.stoppedEpoch, patience + 1);

    const halfway = await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'stops-later', config, epochBudget: patience });
    assert.equal(halfway.status, 'budget');
    assert.equal((halfway as TrainBudgetReached).epochs, patience);
    const resumed = (await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'stops-later', config, epochBudget: 5 })) as TrainResult;
    assert.equal(resumed.status, 'complete');
    assert.equal(resumed.epochs, patience + 1);
    assert.deepEqual(resumed.resumedFrom, at(patience + 1));
    assert.equal(weightsOf('stops-later'), weightsOf('stops'));
  });

  test('a checkpoint of finished training whose model never got uploaded completes the model, whatever the budget', async () => {
    // Runs of the tests above: 'whole' ran all its epochs, 'stops' stopped early; both left a final checkpoint.
    for (const [runId, config, epochs] of [['whole', CONFIG, CONFIG.epochs], ['stops', { ...CONFIG, earlyStopping: { monitor: 'val_loss', minDelta: 1000, patience: 2 } }, 3]] as const) {
      const weights = weightsOf(runId);
      for (const key of s3.keys(modelPrefix(runId))) s3.objects.delete(key);
      epochsBegun.length = 0;
      const result = (await handler({ datasetPrefix: ingested.datasetPrefix, runId, config, epochBudget: 1 })) as TrainResult;
      assert.equal(result.status, 'complete', runId);
      assert.equal(result.epochs, epochs, runId);
      assert.deepEqual(epochsBegun, [], `${runId}: nothing trained`);
      assert.equal(weightsOf(runId), weights, runId);
    }
  });

  test('epochBudget must be a whole number of epochs >= 1; the error names the field', async () => {
    const puts = s3.putOrder.length;
    epochsBegun.length = 0;
    for (const epochBudget of [0, -1, 1.5, '2', null]) {
      await assert.rejects(train('bad-budget', { epochBudget }), (error: Error) => {
        assert.ok(error instanceof ConfigError, `${epochBudget}: ${error}`);
        assert.match(error.message, /^invalid train event: epochBudget: /, String(epochBudget));
        return true;
      });
    }
    assert.deepEqual(epochsBegun, []);
    assert.equal(s3.putOrder.length, puts, 'nothing written');
  });
});
