import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { CHECKPOINT_EVERY_ENV, createTrainHandler, type TrainContext } from '../../functions/train/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { IngestResult, TrainContinuation, TrainOutcome, TrainResult } from '../../lib/workflow/events.ts';
import { checkpointPrefix, modelPrefix } from '../../lib/workflow/layout.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
/** 200 examples, 160 trained in batches of 16: 10 batches per epoch, 3 epochs. */
const CONFIG = { epochs: 3, batchSize: 16, model: TINY_MODEL };

/**
 * A Lambda context whose clock runs out after `sliceCalls` questions: what getRemainingTimeInMillis
 * answers is the whole budget until then, nothing after, so the handler pauses at a point the
 * test controls rather than one the machine's speed decides.
 */
function contextPausingAfter(sliceCalls: number): TrainContext {
  let calls = 0;
  return { getRemainingTimeInMillis: () => (calls++ <= sliceCalls ? 900_000 : 1) };
}

describe('the train handler resumes from its run’s checkpoints (S3) and answers "continue" when out of time', () => {
  const s3 = new FakeS3();
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent, env: {} };
  let ingested: IngestResult;
  const sha256 = (key: string) => createHash('sha256').update(s3.objects.get(key)!).digest('hex');

  before(async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(200, 5).text);
    s3.put('raw/test.csv', syntheticKaggleCsv(20, 6).text);
    ingested = await createIngestHandler({ ...deps })({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
  });
  after(() => s3.restore());

  test('invocations that run short of time continue one another to the same weights as one uninterrupted run', async () => {
    const handler = createTrainHandler(deps);
    const whole = (await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'whole', config: CONFIG })) as TrainResult;
    assert.equal(whole.status, 'complete');
    assert.equal(whole.resumedFrom, undefined);

    const answers: TrainOutcome[] = [];
    for (let invocation = 0; invocation < 20; invocation++) {
      const answer = await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'sliced', config: CONFIG }, contextPausingAfter(7));
      answers.push(answer);
      if (answer.status === 'complete') break;
    }
    const continued = answers.filter((answer): answer is TrainContinuation => answer.status === 'continue');
    assert.ok(continued.length >= 3, `${continued.length} continuations`);
    const last = answers.at(-1) as TrainResult;
    assert.equal(last.status, 'complete');
    // Each invocation started where the one before stopped.
    for (let i = 1; i < answers.length; i++) assert.deepEqual(answers[i].resumedFrom, continued[i - 1].position);
    assert.equal(continued[0].resumedFrom, undefined, 'the first invocation started from scratch');
    assert.deepEqual(Object.keys(continued[1]).sort(), ['datasetPrefix', 'position', 'resumedFrom', 'runId', 'seconds', 'status']);
    assert.ok(JSON.stringify(continued[0]).length < 1024, 'a small state payload');

    assert.equal(sha256(`${modelPrefix('sliced')}weights.bin`), sha256(`${modelPrefix('whole')}weights.bin`));
    const history = (runId: string) => JSON.parse(s3.objects.get(`${modelPrefix(runId)}history.json`)!.toString()).map(({ seconds: _s, ...log }: { seconds: number }) => log);
    assert.deepEqual(history('sliced'), history('whole'));
    assert.ok(s3.keys(checkpointPrefix('sliced')).length > 0, 'checkpoints are kept for a later resume');
  });

  test('a run whose model is there is answered from its training.json without training', async () => {
    const handler = createTrainHandler(deps);
    const first = (await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'twice', config: { ...CONFIG, epochs: 1 } })) as TrainResult;
    const puts = s3.putOrder.length;
    const again = await handler({ datasetPrefix: ingested.datasetPrefix, runId: 'twice', config: { ...CONFIG, epochs: 1 } });
    assert.deepEqual(again, { ...first, reused: true });
    assert.equal(s3.putOrder.length, puts, 'nothing written');
  });

  test('a run whose model was trained on other data or with another config is refused by name', async () => {
    const handler = createTrainHandler(deps);
    await assert.rejects(handler({ datasetPrefix: 'datasets/0123456789abcdef/', runId: 'twice', config: { ...CONFIG, epochs: 1 } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^run "twice" already has a model, trained on ${ingested.datasetPrefix}, not datasets/0123456789abcdef/: choose another run id$`));
      return true;
    });
    await assert.rejects(handler({ datasetPrefix: ingested.datasetPrefix, runId: 'twice', config: { ...CONFIG, epochs: 2 } }), /run "twice" already has a model, trained with another config/);
  });

  test(`${CHECKPOINT_EVERY_ENV} must be a positive number of seconds`, async () => {
    const handler = createTrainHandler({ ...deps, env: { [CHECKPOINT_EVERY_ENV]: 'soon' } });
    await assert.rejects(handler({ datasetPrefix: ingested.datasetPrefix, runId: 'bad-env', config: CONFIG }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, `${CHECKPOINT_EVERY_ENV}: must be a positive number of seconds, got "soon"`);
      return true;
    });
  });
});
