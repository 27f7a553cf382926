import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { createValidateHandler } from '../../functions/validate/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import { DEFAULT_DATA_CHECK_SETTINGS } from '../../lib/data/data-check-policy.ts';
import { estimateTrainingMemory } from '../../lib/model/memory.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { planExecution } from '../../lib/workflow/execution-input.ts';
import { runRecordKey } from '../../lib/workflow/layout.ts';
import { RunRecord } from '../../lib/workflow/run-record.ts';
import { FakeS3 } from '../support/fake-s3.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
/** For the input checks: a fresh, empty bucket per call (each call claims its run id). */
const scratchBucket = new FakeS3('fmnist-data');
after(() => scratchBucket.restore());
const claimOnEmpty = createValidateHandler({ logger: silent, s3: scratchBucket.client });
const validate = async (event: unknown) => {
  scratchBucket.objects.clear();
  return claimOnEmpty(event);
};
const event = (input: unknown, executionName = 'fashion-mnist-0123456789abcdef') => ({
  input,
  executionName,
  lambdaTrainMaxImages: 780_000,
  dataBucket: BUCKET,
  trainMemoryMiB: MEMORY,
});
const BUCKET = 'fmnist-data';
/** What the stack gives the train Lambda and the Fargate task. */
const MEMORY = { lambda: 10_240, fargate: 16_384 };
const GiB = 2 ** 30;
const minimal = { train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'] };

async function rejectsWith(input: unknown, pattern: RegExp) {
  await assert.rejects(validate(event(input)), (error: Error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('validate handler (execution input -> plan)', () => {
  test('fills the defaults and names the run after the execution; the default config trains on Lambda', async () => {
    const { memory, ...plan } = await validate(event(minimal));
    assert.deepEqual(plan, {
      ingest: {
        ...minimal,
        dataChecks: { policy: 'warn', thresholds: { maxDuplicateShare: 0.01, maxLeakShare: 0.01, maxLabelConflictShare: 0.001, maxLabelDistance: 0.05, maxClassMeanShift: 20 } },
        // Step caching: Ingest looks for a completed run of the fully resolved config.
        reuse: { config: parseTrainConfig({}) },
      },
      runId: 'fashion-mnist-0123456789abcdef',
      config: {},
      trainOn: 'auto',
      promote: 'if-better',
      approval: 'auto',
      epochs: 10,
      lambdaMaxTrainExamples: 78_000,
      resume: false,
    });
    assert.equal(memory.reason, undefined);
    // Memory allows millions of examples; the 15 minutes are what bound the default config.
    assert.ok(memory.lambdaMaxTrainExamples > 1_000_000, String(memory.lambdaMaxTrainExamples));
    assert.ok(memory.modelMiB < 1024, `${memory.modelMiB} MiB`);
  });

  test('keeps explicit choices and derives the Lambda limit from the epochs', async () => {
    const plan = await validate(
      event({ ...minimal, limit: 500, runId: 'my-run', config: { epochs: 40, batchSize: 128 }, trainOn: 'fargate', promote: 'never' }),
    );
    assert.deepEqual(plan.ingest, { ...minimal, limit: 500, dataChecks: DEFAULT_DATA_CHECK_SETTINGS, reuse: { config: parseTrainConfig({ epochs: 40, batchSize: 128 }) } });
    assert.equal(plan.memory.reason, undefined);
    assert.equal(plan.runId, 'my-run');
    assert.deepEqual(plan.config, { epochs: 40, batchSize: 128 });
    assert.equal(plan.trainOn, 'fargate');
    assert.equal(plan.promote, 'never');
    assert.equal(plan.lambdaMaxTrainExamples, 19_500);
  });

  test('an execution name that is not a valid run id gets a fresh run id', () => {
    const plan = planExecution(event(minimal, 'name with spaces'), new Date('2026-11-29T14:05:12Z'));
    assert.match(plan.runId, /^20261129T140512Z-[0-9a-f]{6}$/);
  });

  test('rejects unknown keys, wrong types and out-of-range settings before any work', async () => {
    await rejectsWith({ ...minimal, epochs: 3 }, /epochs: unknown key; allowed: train, test, limit, runId, config, trainOn, promote, approval, dataChecks, dataCheckThresholds, trigger, resume/);
    await rejectsWith({ ...minimal, trainon: 'lambda' }, /trainon: unknown key \(did you mean "trainOn"\?\)/);
    await rejectsWith({ train: 'raw/train.csv', test: ['raw/test.csv'] }, /train: /);
    await rejectsWith({ test: ['raw/test.csv'] }, /train: /);
    await rejectsWith({ ...minimal, trainOn: 'gpu' }, /trainOn: must be one of "lambda", "fargate", "auto", got "gpu"/);
    await rejectsWith({ ...minimal, config: { epochs: 0 } }, /epochs: must be an integer from 1 to 1000, got 0/);
    await rejectsWith({ ...minimal, config: { epochs: 1001 } }, /epochs/);
    await rejectsWith({ ...minimal, config: { batchSize: 8193 } }, /batchSize: must be an integer from 1 to 8192/);
    await rejectsWith({ ...minimal, config: { epochs: '10' } }, /epochs/);
    await rejectsWith({ ...minimal, config: { epoch: 10 } }, /epoch: unknown key \(did you mean "epochs"\?\)/);
    await rejectsWith({ ...minimal, runId: '../escape' }, /runId/);
    await rejectsWith(null, /must be a JSON object/);
    await rejectsWith([minimal], /must be a JSON object/);
    await rejectsWith({ ...minimal, approval: 'maybe' }, /approval: must be one of "auto", "manual", got "maybe"/);
    await rejectsWith({ ...minimal, trigger: 'cron' }, /trigger: must be one of "manual", "new-data", "schedule", got "cron"/);
  });

  test('manual approval: chosen by the input, else the stack\'s default; the input wins over the default', async () => {
    assert.equal((await validate(event({ ...minimal, approval: 'manual' }))).approval, 'manual');
    assert.equal((await validate({ ...event(minimal), defaultApproval: 'manual' })).approval, 'manual');
    assert.equal((await validate({ ...event({ ...minimal, approval: 'auto' }), defaultApproval: 'manual' })).approval, 'auto');
    await assert.rejects(validate({ ...event(minimal), defaultApproval: 'sometimes' }), /defaultApproval/);
  });

  test('data checks: the policy from the input, else the stack\'s; thresholds the stack\'s with the input\'s overrides', async () => {
    const stack = { policy: 'fail', thresholds: { maxDuplicateShare: 0.05, maxLeakShare: 0, maxLabelConflictShare: 0.002, maxLabelDistance: 0.05, maxClassMeanShift: 20 } };
    assert.deepEqual((await validate({ ...event(minimal), defaultDataChecks: stack })).ingest.dataChecks, stack);
    assert.deepEqual((await validate(event({ ...minimal, dataChecks: 'fail' }))).ingest.dataChecks, { ...DEFAULT_DATA_CHECK_SETTINGS, policy: 'fail' });
    assert.deepEqual(
      (await validate({ ...event({ ...minimal, dataChecks: 'warn', dataCheckThresholds: { maxLeakShare: 0.5 } }), defaultDataChecks: stack })).ingest.dataChecks,
      { policy: 'warn', thresholds: { ...stack.thresholds, maxLeakShare: 0.5 } },
    );
    await rejectsWith({ ...minimal, dataChecks: 'strict' }, /dataChecks: must be one of "warn", "fail", got "strict"/);
    await rejectsWith({ ...minimal, dataCheckThresholds: { maxLeakShare: 2 } }, /dataCheckThresholds\.maxLeakShare/);
    await rejectsWith({ ...minimal, dataCheckThresholds: { maxLeak: 0 } }, /dataCheckThresholds.*maxLeak/);
    await assert.rejects(validate({ ...event(minimal), defaultDataChecks: { policy: 'sometimes' } }), /defaultDataChecks/);
  });

  test('rejects a malformed task payload (state machine wiring bug)', async () => {
    await assert.rejects(validate({ input: minimal }), /lambdaTrainMaxImages/);
    const { dataBucket: _b, ...noBucket } = event(minimal);
    await assert.rejects(validate(noBucket), /invalid validate event: dataBucket: /);
    const { trainMemoryMiB: _m, ...noMemory } = event(minimal);
    await assert.rejects(validate(noMemory), /invalid validate event: trainMemoryMiB: /);
    await assert.rejects(validate({ ...event(minimal), trainMemoryMiB: { lambda: 10_240 } }), /trainMemoryMiB\.fargate/);
    await assert.rejects(validate({ ...event(minimal), dataBucket: 'Not_A_Bucket' }), /dataBucket: must be an S3 bucket name/);
  });
});

describe('validate handler: source files stay under raw/ of the data bucket', () => {
  test('bare raw/ keys and s3:// URLs of the data bucket are accepted, as bare keys', async () => {
    const plan = await validate(
      event({ train: [`s3://${BUCKET}/raw/fmnist/train.csv`, 'raw/fmnist/more.csv.gz'], test: ['raw/fmnist/test.csv'] }),
    );
    assert.deepEqual(plan.ingest, {
      train: ['raw/fmnist/train.csv', 'raw/fmnist/more.csv.gz'],
      test: ['raw/fmnist/test.csv'],
      dataChecks: DEFAULT_DATA_CHECK_SETTINGS,
      reuse: { config: parseTrainConfig({}) },
    });
  });

  test('"cache": false, or a resumed run, never reuses a completed run', async () => {
    assert.equal((await validate(event({ ...minimal, cache: false }))).ingest.reuse, undefined);
    assert.equal(planExecution(event({ ...minimal, resume: true, runId: 'my-run' })).ingest.reuse, undefined, 'a resumed run finishes itself');
    assert.deepEqual(planExecution(event(minimal)).ingest.reuse, { config: parseTrainConfig({}) });
    await rejectsWith({ ...minimal, cache: 'no' }, /cache: /);
  });

  const refused: [string, unknown, RegExp][] = [
    ['another bucket', { ...minimal, train: ['s3://someone-else/raw/train.csv'] }, /train\[0\]: "s3:\/\/someone-else\/raw\/train\.csv" is in bucket "someone-else"; the workflow reads only its data bucket "fmnist-data"/],
    ['a key outside raw/', { ...minimal, test: ['datasets/0123456789abcdef/manifest.json'] }, /test\[0\]: "datasets\/0123456789abcdef\/manifest\.json" is not under raw\//],
    ['datasets/ itself', { ...minimal, train: ['datasets/'] }, /train\[0\]: "datasets\/" is not under raw\//],
    ['raw/ itself', { ...minimal, train: ['raw/'] }, /train\[0\]: "raw\/" ends in "\/": name each file/],
    ['a prefix under raw/', { ...minimal, train: [`s3://${BUCKET}/raw/fmnist/`] }, /train\[0\]: .* ends in "\/"/],
    ['a .. segment', { ...minimal, train: ['raw/../datasets/x.csv'] }, /train\[0\]: .* has a "\." or "\.\." path segment/],
    ['a . segment', { ...minimal, test: ['raw/./test.csv'] }, /test\[0\]: .* has a "\." or "\.\." path segment/],
    ['an empty segment', { ...minimal, test: ['raw//test.csv'] }, /test\[0\]: .* empty path segment/],
    ['a key over 1024 bytes', { ...minimal, train: [`raw/${'é'.repeat(511)}`] }, /train\[0\]: .* is 1026 bytes long; S3 keys are at most 1024/],
    ['a control character', { ...minimal, train: ['raw/a\nb.csv'] }, /train\[0\]: .* contains a control character/],
    ['an s3 URL without a key', { ...minimal, train: [`s3://${BUCKET}`] }, /train\[0\]: "s3:\/\/fmnist-data" is not an s3:\/\/bucket\/key URL/],
    ['no files', { ...minimal, train: [] }, /train: needs at least one file/],
    ['too many files', { ...minimal, test: Array.from({ length: 51 }, (_, i) => `raw/part-${i}.csv`) }, /test: at most 50 files per split/],
  ];
  for (const [what, input, message] of refused) {
    test(`refuses ${what}, naming the field`, () => rejectsWith(input, message));
  }

  test('the limits are inclusive: 50 files and a 1024-byte key pass', async () => {
    const long = `raw/${'x'.repeat(1020)}`;
    assert.equal(Buffer.byteLength(long), 1024);
    const plan = await validate(event({ train: [long], test: Array.from({ length: 50 }, (_, i) => `raw/part-${i}.csv`) }));
    assert.equal(plan.ingest.train[0], long);
    assert.equal(plan.ingest.test.length, 50);
  });
});

describe('validate handler: training must fit the memory where it runs', () => {
  // Two 1024-filter "same" convolutions at batch 8192 (the example): 9.45 M parameters,
  // within the 50 M cap, but every activation of the batch is 8192 x 28 x 28 x 1024 floats.
  const huge = {
    batchSize: 8192,
    model: {
      layers: [
        { type: 'conv2d', filters: 1024, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'conv2d', filters: 1024, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'maxPool2d', poolSize: 28 },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    },
  };
  // About 10.6 GiB: more than the Lambda's 10 GiB, less than Fargate's 16.
  const mid = {
    batchSize: 4096,
    model: {
      layers: [
        { type: 'conv2d', filters: 128, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'conv2d', filters: 128, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    },
  };

  test("the issue's example is refused at ValidateInput, naming the layer, the batch, the estimate and the task's memory", async () => {
    for (const trainOn of ['auto', 'fargate'] as const) {
      await rejectsWith(
        { ...minimal, config: huge, trainOn },
        /execution input "config": model\.layers\[0\] \(conv2d, 1024 filters, 3x3, same\): activations at batch 8192 need ~\d+\.\d GiB; training needs ~\d+\.\d GiB in all, and the training task has 16\.0 GiB; lower batchSize or shrink model\.layers\[0\]/,
      );
    }
    await rejectsWith({ ...minimal, config: huge, trainOn: 'lambda' }, /the train Lambda has 10\.0 GiB; lower batchSize or shrink model\.layers\[0\]$/);
  });

  test('a config that fits Fargate but not the Lambda goes to Fargate with "auto", and is refused with "lambda"', async () => {
    const estimate = estimateTrainingMemory(parseTrainConfig(mid));
    assert.ok(estimate.fixedBytes > 10 * GiB && estimate.fixedBytes < 16 * GiB, `premise: ${estimate.fixedBytes / GiB} GiB`);
    const auto = await validate(event({ ...minimal, config: mid }));
    assert.equal(auto.lambdaMaxTrainExamples, 0, 'the Choice sends every data set to Fargate');
    assert.match(auto.memory.reason!, /^model\.layers\[0\] \(conv2d, 128 filters, 3x3, same\): .* the train Lambda has 10\.0 GiB: training on Fargate$/);
    const fargate = await validate(event({ ...minimal, config: mid, trainOn: 'fargate' }));
    assert.equal(fargate.trainOn, 'fargate');
    await rejectsWith({ ...minimal, config: mid, trainOn: 'lambda' }, /the train Lambda has 10\.0 GiB; lower batchSize or shrink model\.layers\[0\], or use trainOn "auto" or "fargate"$/);
  });

  test('a limit counts the data set in; without one, the train step checks the real size', async () => {
    const plan = await validate(event({ ...minimal, config: { batchSize: 8 } }));
    const perExample = plan.memory.bytesPerTrainExample;
    const fits = Math.floor((MEMORY.lambda * 2 ** 20 - plan.memory.modelMiB * 2 ** 20) / perExample);
    // The Lambda's memory bounds the examples (within rounding of modelMiB), and the time bound is smaller still.
    assert.ok(Math.abs(plan.memory.lambdaMaxTrainExamples - fits) <= 2 ** 20 / perExample, `${plan.memory.lambdaMaxTrainExamples} vs ${fits}`);
    assert.equal(plan.lambdaMaxTrainExamples, 78_000);
    const tooMany = plan.memory.lambdaMaxTrainExamples + 1_000_000;
    const limited = await validate(event({ ...minimal, limit: tooMany, config: { batchSize: 8 } }));
    assert.equal(limited.lambdaMaxTrainExamples, 0);
    assert.match(limited.memory.reason!, new RegExp(`with ${tooMany} train examples`));
  });
});

describe('validate handler: a run id names one run (runs/<runId>/run.json, written once)', () => {
  const s3 = new FakeS3(BUCKET);
  const at = new Date('2026-11-29T14:00:00.000Z');
  const validateAt = createValidateHandler({ logger: silent, s3: s3.client, now: () => at });
  const input = { ...minimal, limit: 500, runId: 'my-run', config: { epochs: 2 } };
  const record = () => RunRecord.parse(JSON.parse(s3.objects.get(runRecordKey('my-run'))!.toString()));
  const snapshot = () => new Map([...s3.objects].map(([key, body]) => [key, Buffer.from(body)]));
  beforeEach(() => {
    s3.objects.clear();
    s3.putOrder.length = 0;
  });
  after(() => s3.restore());

  test('claims the run before any work: run.json holds the execution, the time and the validated input', async () => {
    await validateAt(event({ ...input, train: [`s3://${BUCKET}/raw/fmnist/train.csv`] }, 'exec-1'));
    assert.deepEqual(s3.putOrder, ['runs/my-run/run.json']);
    assert.deepEqual(record(), {
      runId: 'my-run',
      executionName: 'exec-1',
      createdAt: at.toISOString(),
      input: {
        ...minimal,
        limit: 500,
        config: { epochs: 2 },
        trainOn: 'auto',
        promote: 'if-better',
        approval: 'auto',
        trigger: 'manual',
        dataChecks: 'warn',
        dataCheckThresholds: DEFAULT_DATA_CHECK_SETTINGS.thresholds,
      },
    });
  });

  test('a second execution with the same run id fails at ValidateInput; nothing under the run changes', async () => {
    await validateAt(event(input, 'exec-1'));
    s3.put('runs/my-run/model/model.json', '{"the":"first run\'s model"}');
    const before = snapshot();
    await assert.rejects(validateAt(event({ ...input, config: { epochs: 3 } }, 'exec-2')), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `run id "my-run" already exists (s3://${BUCKET}/runs/my-run/run.json, created ${at.toISOString()} by execution exec-1); ` +
          'choose another runId, or resume it with resume: true',
      );
      return true;
    });
    assert.deepEqual(snapshot(), before);
    // The same input from another execution is refused too: a run belongs to one execution.
    await assert.rejects(validateAt(event(input, 'exec-3')), /run id "my-run" already exists/);
    assert.deepEqual(snapshot(), before);
  });

  test('a retried ValidateInput of the same execution keeps its own claim', async () => {
    await validateAt(event(input, 'exec-1'));
    const plan = await validateAt(event(input, 'exec-1'));
    assert.equal(plan.runId, 'my-run');
    assert.equal(record().executionName, 'exec-1');
  });

  test('resume: the run must exist, and data, limit and config must be the run\'s own', async () => {
    await assert.rejects(
      validateAt(event({ ...input, resume: true }, 'exec-2')),
      new RegExp(`cannot resume run "my-run": s3://${BUCKET}/runs/my-run/run\\.json does not exist`),
    );
    await assert.rejects(validateAt(event({ ...minimal, resume: true }, 'exec-2')), /runId: required with resume: true/);
    assert.deepEqual(s3.putOrder, []);

    await validateAt(event(input, 'exec-1'));
    const before = snapshot();
    const resumed = await validateAt(event({ ...input, resume: true, trainOn: 'fargate', promote: 'never' }, 'exec-2'));
    assert.equal(resumed.resume, true);
    assert.equal(resumed.runId, 'my-run');
    assert.equal(resumed.trainOn, 'fargate', 'where to train and whether to promote may change');
    assert.deepEqual(snapshot(), before, 'a resume writes nothing');

    const differs: [Record<string, unknown>, RegExp][] = [
      [{ config: { epochs: 3 } }, /"config" differs from the run's: the run has \{"epochs":2\}, this execution \{"epochs":3\}/],
      [{ limit: 501 }, /"limit" differs from the run's: the run has 500, this execution 501/],
      [{ train: ['raw/fmnist/other.csv'] }, /"train" differs from the run's: the run has \["raw\/fmnist\/train\.csv"\], this execution \["raw\/fmnist\/other\.csv"\]/],
      [{ test: ['raw/fmnist/other.csv'] }, /"test" differs/],
    ];
    for (const [change, message] of differs) {
      await assert.rejects(validateAt(event({ ...input, ...change, resume: true }, 'exec-2')), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^cannot resume run "my-run": /);
        assert.match(error.message, message);
        return true;
      });
    }
    const { limit: _limit, ...noLimit } = input;
    await assert.rejects(validateAt(event({ ...noLimit, resume: true }, 'exec-2')), /"limit" differs from the run's: the run has 500, this execution none/);
    assert.deepEqual(snapshot(), before);
  });

  test('an s3:// source and its bare key are the same input for a resume', async () => {
    await validateAt(event(input, 'exec-1'));
    const plan = await validateAt(event({ ...input, test: [`s3://${BUCKET}/raw/fmnist/test.csv`], resume: true }, 'exec-2'));
    assert.equal(plan.resume, true);
  });

  test('a malformed run.json is named, not overwritten', async () => {
    s3.put(runRecordKey('my-run'), '{"runId":"my-run"}');
    await assert.rejects(validateAt(event({ ...input, resume: true }, 'exec-2')), /runs\/my-run\/run\.json is not a run record: createdAt/);
    assert.equal(s3.objects.get(runRecordKey('my-run'))!.toString(), '{"runId":"my-run"}');
    s3.put(runRecordKey('my-run'), '{"runId":');
    await assert.rejects(validateAt(event({ ...input, resume: true }, 'exec-2')), /runs\/my-run\/run\.json is not a run record: not valid JSON/);
  });

  test('a run.json that names another run is refused, naming both', async () => {
    await validateAt(event(input, 'exec-1'));
    s3.put(runRecordKey('copied-run'), s3.objects.get(runRecordKey('my-run'))!.toString());
    await assert.rejects(
      validateAt(event({ ...input, runId: 'copied-run', resume: true }, 'exec-2')),
      /runs\/copied-run\/run\.json names run my-run, not copied-run/,
    );
  });
});

describe('validate handler: a sweep', () => {
  const s3 = new FakeS3(BUCKET);
  after(() => s3.restore());
  const validateAt = createValidateHandler({ logger: silent, s3: s3.client, now: () => new Date('2026-12-03T10:00:00Z') });
  beforeEach(() => s3.objects.clear());
  const sweepInput = { ...minimal, runId: 'sw', config: { epochs: 4 }, sweep: { grid: { learningRate: [0.001, 0.002], batchSize: [32, 64] }, halving: true, maxConcurrency: 2 } };

  test('plans every trial with its own config and Lambda limit, and claims the sweep and each trial as runs', async () => {
    const plan = await validateAt(event(sweepInput, 'exec-1'));
    const sweep = plan.sweep!;
    assert.deepEqual(sweep.trials.map((trial) => [trial.trialId, trial.runId, trial.config]), [
      ['t01', 'sw-t01', { epochs: 4, learningRate: 0.001, batchSize: 32 }],
      ['t02', 'sw-t02', { epochs: 4, learningRate: 0.001, batchSize: 64 }],
      ['t03', 'sw-t03', { epochs: 4, learningRate: 0.002, batchSize: 32 }],
      ['t04', 'sw-t04', { epochs: 4, learningRate: 0.002, batchSize: 64 }],
    ]);
    for (const trial of sweep.trials) assert.equal(trial.lambdaMaxTrainExamples, Math.floor(780_000 / 4));
    assert.deepEqual(sweep.epochBudgets, [1, 2, 4]);
    assert.equal(sweep.eta, 2);
    assert.equal(sweep.maxConcurrency, 2);
    const claimed = [...s3.objects.keys()].filter((key) => key.endsWith('/run.json')).sort();
    assert.deepEqual(claimed, ['sw', 'sw-t01', 'sw-t02', 'sw-t03', 'sw-t04'].map(runRecordKey).sort());
    const trialRecord = RunRecord.parse(JSON.parse(s3.objects.get(runRecordKey('sw-t03'))!.toString()));
    assert.deepEqual(trialRecord.input.trialOf, { sweepId: 'sw', trialId: 't03' });
    assert.deepEqual(trialRecord.input.config, { epochs: 4, learningRate: 0.002, batchSize: 32 });
    assert.equal(trialRecord.input.sweep, undefined);
    const sweepRecord = RunRecord.parse(JSON.parse(s3.objects.get(runRecordKey('sw'))!.toString()));
    assert.deepEqual(sweepRecord.input.sweep, sweepInput.sweep);
  });

  test('the stack\'s concurrency when the input does not choose', async () => {
    const { maxConcurrency: _m, ...noConcurrency } = sweepInput.sweep;
    const plan = await validateAt({ ...event({ ...sweepInput, sweep: noConcurrency }, 'exec-1'), defaultSweepConcurrency: 3 });
    assert.equal(plan.sweep!.maxConcurrency, 3);
  });

  test('a bad sweep is refused before anything is claimed, naming the trial and the field', async () => {
    await assert.rejects(validateAt(event({ ...sweepInput, sweep: { trials: [{ seed: 1 }, { learningRate: 7 }] } }, 'exec-1')), /sweep trial t02 .*learningRate/);
    await assert.rejects(validateAt(event({ ...sweepInput, resume: true }, 'exec-1')), /a sweep cannot be resumed/);
    await assert.rejects(validateAt(event({ ...sweepInput, runId: 'r'.repeat(78) }, 'exec-1')), /too long for a sweep/);
    assert.equal(s3.objects.size, 0);
  });

  test('a trial whose run id is taken fails the sweep at ValidateInput, naming it', async () => {
    s3.put(runRecordKey('sw-t02'), JSON.stringify({ runId: 'sw-t02', createdAt: '2026-12-01T00:00:00.000Z', input: { ...minimal, trainOn: 'auto', promote: 'if-better' } }));
    await assert.rejects(validateAt(event(sweepInput, 'exec-1')), /run id "sw-t02" already exists/);
  });
});
