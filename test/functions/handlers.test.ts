import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { createTrainHandler } from '../../functions/train/handler.ts';
import { createEvaluateHandler } from '../../functions/evaluate/handler.ts';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { ConfigError, DataValidationError } from '../../lib/data/errors.ts';
import type { IngestResult, TrainResult } from '../../lib/workflow/events.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
// Small enough to train in a second on any backend; the default CNN is covered in test/model.
const tinyModel = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

describe('ingest -> train -> evaluate handlers against a mocked S3', () => {
  const s3 = new FakeS3();
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent };
  const train = syntheticKaggleCsv(120, 1);
  const testSet = syntheticKaggleCsv(40, 2);
  let ingested: IngestResult;
  let trained: TrainResult;

  before(() => {
    s3.put('raw/train.csv', train.text);
    s3.put('raw/test.csv', testSet.text);
  });
  after(() => s3.restore());

  test('ingest validates, shards and uploads the manifest last', async () => {
    ingested = await createIngestHandler(deps)({ train: ['raw/train.csv'], test: ['s3://test-bucket/raw/test.csv'] });
    assert.equal(ingested.reused, false);
    assert.equal(ingested.train.examples, 120);
    assert.equal(ingested.test.examples, 40);
    const histogram = (labels: number[]) => CLASS_NAMES.map((_, label) => labels.filter((l) => l === label).length);
    assert.deepEqual(ingested.train.labelHistogram, histogram(train.labels));
    assert.deepEqual(ingested.test.labelHistogram, histogram(testSet.labels));
    assert.match(ingested.datasetPrefix, /^datasets\/[0-9a-f]+\/$/);
    const uploaded = s3.putOrder.filter((key) => key.startsWith(ingested.datasetPrefix));
    assert.ok(uploaded.length >= 3, `expected shards and a manifest, got ${uploaded}`);
    assert.equal(uploaded.at(-1), `${ingested.datasetPrefix}manifest.json`);
    const manifest = JSON.parse(s3.objects.get(`${ingested.datasetPrefix}manifest.json`)!.toString());
    assert.equal(manifest.datasetId, ingested.datasetId);
  });

  test('ingesting the same data again reuses the stored dataset', async () => {
    const putsBefore = s3.putOrder.length;
    const again = await createIngestHandler(deps)({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
    assert.equal(again.datasetId, ingested.datasetId);
    assert.equal(again.reused, true);
    assert.equal(s3.putOrder.length, putsBefore);
  });

  test('train uploads a loadable model, model.json last, and records the backend', async () => {
    trained = await createTrainHandler(deps)({
      datasetPrefix: ingested.datasetPrefix,
      runId: 'test-run-1',
      config: { epochs: 2, batchSize: 16, model: tinyModel },
    });
    assert.equal(trained.runId, 'test-run-1');
    assert.equal(trained.modelPrefix, 'runs/test-run-1/model/');
    assert.equal(trained.epochs, 2);
    const uploaded = s3.putOrder.filter((key) => key.startsWith(trained.modelPrefix));
    assert.equal(uploaded.at(-1), `${trained.modelPrefix}model.json`);
    const record = JSON.parse(s3.objects.get(`${trained.modelPrefix}training.json`)!.toString());
    assert.equal(record.backend.name, trained.backend);
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(record.backend.name));
    assert.equal(record.trainExamples + record.validationExamples, 120);
    const history = JSON.parse(s3.objects.get(`${trained.modelPrefix}history.json`)!.toString());
    assert.equal(history.length, 2);
  });

  test('evaluate writes a report whose accuracy matches its own predictions, and publishes it as a metric', async (t) => {
    const metrics = new Metrics({ namespace: 'test', serviceName: 'test' });
    const added = t.mock.method(metrics, 'addMetric', () => {});
    const published = t.mock.method(metrics, 'publishStoredMetrics', () => {});
    const evaluated = await createEvaluateHandler({ ...deps, metrics })({
      runId: trained.runId,
      datasetPrefix: trained.datasetPrefix,
      modelPrefix: trained.modelPrefix,
    });
    const prefix = evaluated.reportPrefix;
    assert.equal(prefix, 'runs/test-run-1/report/');
    for (const file of ['classification_report.json', 'classification_report.txt', 'confusion_matrix.json', 'confusion_matrix.png', 'learning_curves.png']) {
      assert.ok(s3.objects.has(prefix + file), `missing ${file}`);
    }
    assert.equal(s3.putOrder.filter((key) => key.startsWith(prefix)).at(-1), `${prefix}metrics.json`);
    const predicted = s3.objects.get(`${prefix}predictions.txt`)!.toString().trim().split('\n').map(Number);
    const correct = predicted.filter((label, i) => label === testSet.labels[i]).length;
    assert.equal(predicted.length, 40);
    assert.ok(Math.abs(evaluated.accuracy - correct / 40) < 1e-9);
    const report = JSON.parse(s3.objects.get(`${prefix}classification_report.json`)!.toString());
    assert.ok(Math.abs(report.accuracy - correct / 40) < 1e-9);
    const metric = (name: string) => added.mock.calls.find((call) => call.arguments[0] === name)?.arguments[2];
    assert.equal(metric('TestAccuracy'), evaluated.accuracy);
    assert.equal(metric('TestLoss'), evaluated.loss);
    assert.equal(published.mock.callCount(), 1);
    const png = s3.objects.get(`${prefix}confusion_matrix.png`)!;
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  });
});

describe('handlers reject bad input before doing any work', () => {
  const s3 = new FakeS3();
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent };
  after(() => s3.restore());

  test('a bad pixel names the S3 object, line and column, and nothing is stored', async () => {
    const good = syntheticKaggleCsv(5).text.split('\n');
    const fields = good[3].split(',');
    fields[10] = '256'; // column 11 is pixel10
    good[3] = fields.join(',');
    s3.put('raw/bad.csv', good.join('\n'));
    s3.put('raw/test.csv', syntheticKaggleCsv(5).text);
    await assert.rejects(createIngestHandler(deps)({ train: ['raw/bad.csv'], test: ['raw/test.csv'] }), (error: Error) => {
      assert.ok(error instanceof DataValidationError);
      assert.match(error.message, /s3:\/\/test-bucket\/raw\/bad\.csv/);
      assert.match(error.message, /line 4/);
      assert.match(error.message, /column 11/);
      return true;
    });
    assert.deepEqual(s3.keys('datasets/'), []);
  });

  test('unknown event keys and wrong types are refused with the field named', async () => {
    s3.mock.resetHistory();
    await assert.rejects(createIngestHandler(deps)({ train: ['a.csv'], test: ['b.csv'], colour: 'red' }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /colour/);
      return true;
    });
    await assert.rejects(createTrainHandler(deps)({ datasetPrefix: 'datasets/x/', config: { epochs: 0 } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /epochs/);
      return true;
    });
    await assert.rejects(createEvaluateHandler(deps)({ runId: '../etc', datasetPrefix: 'datasets/x/', modelPrefix: 'runs/x/model/' }), /runId/);
    assert.equal(s3.mock.calls().length, 0);
  });
});
