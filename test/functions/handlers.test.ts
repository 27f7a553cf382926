import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { createTrainHandler } from '../../functions/train/handler.ts';
import { createEvaluateHandler } from '../../functions/evaluate/handler.ts';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { ConfigError, DataValidationError } from '../../lib/errors.ts';
import { PRICE_TABLE } from '../../lib/workflow/cost.ts';
import type { IngestResult, TrainResult } from '../../lib/workflow/events.ts';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { testSetIdOf } from '../../lib/data/test-set-id.ts';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

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
    trained = (await createTrainHandler(deps)({
      datasetPrefix: ingested.datasetPrefix,
      runId: 'test-run-1',
      config: { epochs: 2, batchSize: 16, model: TINY_MODEL },
    })) as TrainResult;
    assert.equal(trained.status, 'complete');
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

  test('train records its cost estimate in training.json, from its recorded seconds and its configured size', async () => {
    const trainAt = async (runId: string, env: Record<string, string>) => {
      await withEnv(env, () => createTrainHandler(deps)({ datasetPrefix: ingested.datasetPrefix, runId, config: { epochs: 1, batchSize: 16, model: TINY_MODEL } }));
      return JSON.parse(s3.objects.get(`runs/${runId}/model/training.json`)!.toString());
    };
    const onLambda = await trainAt('test-run-cost-lambda', { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' });
    const gbSeconds = (3008 / 1024) * onLambda.seconds;
    assert.ok(onLambda.seconds > 0);
    assert.deepEqual(Object.keys(onLambda.cost).sort(), ['basis', 'lambdaGbSeconds', 'lambdaRequests', 'priceTable', 'usd']);
    assert.deepEqual(onLambda.cost.priceTable, { date: PRICE_TABLE.date, region: 'us-east-1' });
    assert.equal(onLambda.cost.basis, 'estimate');
    assert.ok(Math.abs(onLambda.cost.lambdaGbSeconds - gbSeconds) < 1e-9, `${onLambda.cost.lambdaGbSeconds} GB-s`);
    assert.ok(Math.abs(onLambda.cost.usd - (gbSeconds * 0.0000166667 + 0.0000002)) < 1e-12, `$${onLambda.cost.usd}`);

    // The Fargate entry runs this same handler in a task whose definition gives its size.
    const onFargate = await trainAt('test-run-cost-fargate', { FMNIST_TASK_CPU_UNITS: '4096', FMNIST_TASK_MEMORY_MIB: '16384' });
    assert.deepEqual(Object.keys(onFargate.cost).sort(), ['basis', 'fargateGbSeconds', 'fargateVcpuSeconds', 'priceTable', 'usd']);
    assert.ok(Math.abs(onFargate.cost.fargateVcpuSeconds - 4 * onFargate.seconds) < 1e-9);
    assert.ok(Math.abs(onFargate.cost.fargateGbSeconds - 16 * onFargate.seconds) < 1e-9);
    assert.ok(Math.abs(onFargate.cost.usd - (onFargate.seconds / 3600) * (4 * 0.04048 + 16 * 0.004445)) < 1e-12, `$${onFargate.cost.usd}`);
  });

  test('a stored training.json with a malformed cost is refused when the run is answered from it', async () => {
    const key = 'runs/test-run-cost-lambda/model/training.json';
    const record = JSON.parse(s3.objects.get(key)!.toString());
    s3.put(key, JSON.stringify({ ...record, cost: { ...record.cost, usd: 'cheap' } }));
    await assert.rejects(
      createTrainHandler(deps)({ datasetPrefix: ingested.datasetPrefix, runId: 'test-run-cost-lambda', config: { epochs: 1, batchSize: 16, model: TINY_MODEL } }),
      (error: Error) => error instanceof ConfigError && /s3:\/\/test-bucket\/runs\/test-run-cost-lambda\/model\/training\.json: "cost" is not a cost estimate \(usd: /.test(error.message),
    );
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
    for (const file of ['classification_report.json', 'classification_report.txt', 'confusion_matrix.json', 'confusion_matrix.png', 'learning_curves.png', 'index.html', 'model_card.md']) {
      assert.ok(s3.objects.has(prefix + file), `missing ${file}`);
    }
    // The page reads the run's training.json and the dataset's manifest: their run id and source checksums.
    const page = s3.objects.get(`${prefix}index.html`)!.toString();
    const manifest = JSON.parse(s3.objects.get(`${trained.datasetPrefix}manifest.json`)!.toString());
    assert.ok(page.includes(`<title>Run ${trained.runId}: evaluation report</title>`));
    for (const source of [...manifest.splits.train.sources, ...manifest.splits.test.sources]) assert.ok(page.includes(`<code>${source.sha256}</code>`), source.name);
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

  test('evaluate compares the run with the champion of its test split on the report page, and names the code version', async () => {
    const testSetId = ingested.testSetId;
    const sha = 'c'.repeat(64);
    const champion = {
      runId: 'the-champion',
      datasetId: 'ds-champion',
      testSetId,
      accuracy: 0.875,
      macroF1: 0.8125,
      modelPrefix: 'runs/the-champion/model/',
      reportPrefix: 'runs/the-champion/report/',
      promotedAt: '2026-12-01T00:00:00.000Z',
      files: { 'model.json': { versionId: null, sha256: sha }, 'weights.bin': { versionId: null, sha256: sha } },
      previous: null,
      reason: 'no champion yet',
    };
    s3.put(`models/champions/${testSetId}.json`, JSON.stringify(champion));
    try {
      const evaluated = await withEnv({ FMNIST_CODE_VERSION: '0.1.0+feedbee' }, () =>
        createEvaluateHandler(deps)({ runId: 'test-run-cost-lambda', datasetPrefix: trained.datasetPrefix, modelPrefix: 'runs/test-run-cost-lambda/model/' }),
      );
      const page = s3.objects.get(`${evaluated.reportPrefix}index.html`)!.toString();
      assert.match(page, /<h2 id="champion">Against the champion<\/h2>/);
      assert.match(page, /This run against champion <code class="run-id">the-champion<\/code>/);
      assert.match(page, /<th scope="row">Accuracy<\/th><td>[^<]+<\/td><td>0\.8750<\/td>/);
      assert.match(page, /<th scope="row">Macro F1<\/th><td>[^<]+<\/td><td>0\.8125<\/td>/);
      assert.ok(page.includes('0.1.0+feedbee'), 'the code version in the lineage');
    } finally {
      s3.objects.delete(`models/champions/${testSetId}.json`);
    }
    // Without a champion the page has no such section (test-run-1's page, evaluated above).
    assert.doesNotMatch(s3.objects.get('runs/test-run-1/report/index.html')!.toString(), /Against the champion/);
  });

  test('ingest names the test split by its content; evaluate records the sha256 of the model it evaluated', async () => {
    const manifest = JSON.parse(s3.objects.get(`${ingested.datasetPrefix}manifest.json`)!.toString());
    assert.equal(ingested.testSetId, testSetIdOf(manifest));
    const metrics = JSON.parse(s3.objects.get('runs/test-run-1/report/metrics.json')!.toString());
    const sha = (key: string) => createHash('sha256').update(s3.objects.get(key)!).digest('hex');
    assert.deepEqual(metrics.modelSha256, {
      'model.json': sha(`${trained.modelPrefix}model.json`),
      'weights.bin': sha(`${trained.modelPrefix}weights.bin`),
    });
  });

  test('evaluate on a complete report (a resumed run) returns it as stored and writes nothing', async () => {
    const stored = JSON.parse(s3.objects.get('runs/test-run-1/report/metrics.json')!.toString());
    const puts = s3.putOrder.length;
    const again = await createEvaluateHandler(deps)({ runId: trained.runId, datasetPrefix: trained.datasetPrefix, modelPrefix: trained.modelPrefix });
    assert.equal(s3.putOrder.length, puts);
    assert.equal(again.reused, true);
    assert.deepEqual(
      [again.accuracy, again.loss, again.macroF1, again.weightedF1, again.modelSha256],
      [stored.accuracy, stored.loss, stored.macroF1, stored.weightedF1, stored.modelSha256],
    );
  });

  test('report files are write-once: a retried evaluate rewrites identical files, a different one is refused and kept', async () => {
    const prefix = 'runs/test-run-1/report/';
    const metrics = s3.objects.get(`${prefix}metrics.json`)!;
    // An evaluate that died before its last file: the retry writes the same bytes again.
    s3.objects.delete(`${prefix}metrics.json`);
    const retried = await createEvaluateHandler(deps)({ runId: trained.runId, datasetPrefix: trained.datasetPrefix, modelPrefix: trained.modelPrefix });
    assert.equal(retried.reused, false);
    assert.deepEqual(s3.objects.get(`${prefix}metrics.json`), metrics);
    // Some other content under the run's report: refused, named, not replaced.
    s3.objects.delete(`${prefix}metrics.json`);
    s3.put(`${prefix}predictions.txt`, 'not these predictions\n');
    await assert.rejects(
      createEvaluateHandler(deps)({ runId: trained.runId, datasetPrefix: trained.datasetPrefix, modelPrefix: trained.modelPrefix }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^s3:\/\/test-bucket\/runs\/test-run-1\/report\/predictions\.txt already exists with different content \(sha256 [0-9a-f]{64}, this write [0-9a-f]{64}\): run outputs are write-once$/);
        return true;
      },
    );
    assert.equal(s3.objects.get(`${prefix}predictions.txt`)!.toString(), 'not these predictions\n');
    assert.equal(s3.objects.has(`${prefix}metrics.json`), false);
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
    await assert.rejects(createTrainHandler(deps)({ datasetPrefix: 'datasets/0123456789abcdef/', config: { epochs: 0 } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /epochs/);
      return true;
    });
    await assert.rejects(
      createEvaluateHandler(deps)({ runId: '../etc', datasetPrefix: 'datasets/0123456789abcdef/', modelPrefix: 'runs/x/model/' }),
      /runId/,
    );
    assert.equal(s3.mock.calls().length, 0);
  });

  test('ingest reads only raw/ of its own bucket: keys elsewhere are refused before any S3 call', async () => {
    s3.mock.resetHistory();
    const refused: [unknown, RegExp][] = [
      [{ train: ['datasets/'], test: ['raw/test.csv'] }, /train\[0\]: "datasets\/" is not under raw\//],
      [{ train: ['raw/train.csv'], test: ['s3://other-bucket/raw/test.csv'] }, /test\[0\]: .* is in bucket "other-bucket"; the workflow reads only its data bucket "test-bucket"/],
      [{ train: ['raw/folder/'], test: ['raw/test.csv'] }, /train\[0\]: .* ends in "\/"/],
      [{ train: ['raw/../runs/x/model.json'], test: ['raw/test.csv'] }, /train\[0\]: .* "\.\." path segment/],
    ];
    for (const [event, message] of refused) {
      await assert.rejects(createIngestHandler(deps)(event), (error: Error) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /^invalid ingest event: /);
        assert.match(error.message, message);
        return true;
      });
    }
    assert.equal(s3.mock.calls().length, 0);
  });

  test('train and evaluate take exactly datasets/<datasetId>/ and their own run\'s model prefix', async () => {
    s3.mock.resetHistory();
    for (const datasetPrefix of ['datasets/', 'datasets/0123456789abcdef/shard/', 'datasets/../runs/', 'datasets/0123456789ABCDEF/', 'raw/']) {
      await assert.rejects(createTrainHandler(deps)({ datasetPrefix }), /invalid train event: datasetPrefix: must be "datasets\/<datasetId>\/" \(16 lowercase hex digits\)/);
      await assert.rejects(
        createEvaluateHandler(deps)({ runId: 'run-1', datasetPrefix, modelPrefix: 'runs/run-1/model/' }),
        /invalid evaluate event: datasetPrefix: must be "datasets\/<datasetId>\/"/,
      );
    }
    for (const modelPrefix of ['runs/run-2/model/', 'runs/', 'runs/run-1/', 'runs/run-1/report/']) {
      await assert.rejects(
        createEvaluateHandler(deps)({ runId: 'run-1', datasetPrefix: 'datasets/0123456789abcdef/', modelPrefix }),
        new RegExp(`invalid evaluate event: modelPrefix: must be "runs/run-1/model/" \\(the prefix of run run-1\\), got "${modelPrefix}"`),
      );
    }
    assert.equal(s3.mock.calls().length, 0);
  });
});

/** Runs `work` with these environment variables set, as Lambda (or the local runtime) would. */
async function withEnv<T>(vars: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('handlers stay within the memory and /tmp of their function', () => {
  const s3 = new FakeS3();
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent };
  after(() => s3.restore());

  test('ingest stops a .csv.gz bomb at the limits of its function, and stores nothing', async () => {
    const header = ['label', ...Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => `pixel${i + 1}`)].join(',');
    const row = [3, ...new Array(PIXELS_PER_IMAGE).fill(0)].join(',') + '\n';
    const bomb = gzipSync(header + '\n' + row.repeat(20_000)); // 31 MB of rows in ~30 KB
    s3.put('raw/bomb.csv.gz', bomb);
    s3.put('raw/test.csv', syntheticKaggleCsv(5).text);
    s3.mock.resetHistory();
    // 257 MiB: 1 MiB above the ingest runtime's own share, room for 1,334 examples.
    const env = { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '257', FMNIST_EPHEMERAL_STORAGE_MIB: '2048' };
    await withEnv(env, () =>
      assert.rejects(createIngestHandler(deps)({ train: ['raw/bomb.csv.gz'], test: ['raw/test.csv'] }), (error: Error) => {
        assert.ok(error instanceof DataValidationError, String(error));
        assert.match(
          error.message,
          /^s3:\/\/test-bucket\/raw\/bomb\.csv\.gz: too large to ingest here: more than [\d,]+ (examples|bytes of content after decompression) \(train and test together\), the most this ingest's 257 MiB of memory and 2048 MiB of \/tmp can hold; stopped after/,
        );
        return true;
      }),
    );
    assert.deepEqual(s3.keys('datasets/'), []);
    assert.equal(s3.mock.commandCalls(PutObjectCommand).length, 0);
    // The same data within the limits of the deployed function (2048 MiB each) is accepted.
    const ingested = await withEnv({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048', FMNIST_EPHEMERAL_STORAGE_MIB: '2048' }, () =>
      createIngestHandler(deps)({ train: ['raw/bomb.csv.gz'], test: ['raw/test.csv'], limit: 100 }),
    );
    assert.equal(ingested.train.examples, 100);
  });

  test('train refuses, before loading the data, a run its function cannot hold', async () => {
    s3.put('raw/train.csv', syntheticKaggleCsv(50, 3).text);
    const ingested = await createIngestHandler(deps)({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
    s3.mock.resetHistory();
    await withEnv({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' }, () =>
      assert.rejects(createTrainHandler(deps)({ datasetPrefix: ingested.datasetPrefix, runId: 'too-small', config: { epochs: 1, model: TINY_MODEL } }), (error: Error) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, new RegExp(`^training ${ingested.datasetId}: model\\.layers\\[0\\] \\(conv2d, 4 filters, 3x3, valid\\): .* with 50 train examples, and this function has 512 MiB$`));
        return true;
      }),
    );
    assert.deepEqual(s3.keys('runs/'), []);
  });
});
