import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { createValidateHandler } from '../../functions/validate/handler.ts';
import { ConfigError } from '../../lib/data/errors.ts';
import { planExecution } from '../../lib/workflow/execution-input.ts';

const validate = createValidateHandler({ logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }) });
const event = (input: unknown, executionName = 'fashion-mnist-0123456789abcdef') => ({
  input,
  executionName,
  lambdaTrainMaxImages: 780_000,
});
const minimal = { train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'] };

async function rejectsWith(input: unknown, pattern: RegExp) {
  await assert.rejects(validate(event(input)), (error: Error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('validate handler (execution input -> plan)', () => {
  test('fills the defaults and names the run after the execution', async () => {
    const plan = await validate(event(minimal));
    assert.deepEqual(plan, {
      ingest: minimal,
      runId: 'fashion-mnist-0123456789abcdef',
      config: {},
      trainOn: 'auto',
      promote: 'if-better',
      epochs: 10,
      lambdaMaxTrainExamples: 78_000,
    });
  });

  test('keeps explicit choices and derives the Lambda limit from the epochs', async () => {
    const plan = await validate(
      event({ ...minimal, limit: 500, runId: 'my-run', config: { epochs: 40, batchSize: 128 }, trainOn: 'fargate', promote: 'never' }),
    );
    assert.deepEqual(plan.ingest, { ...minimal, limit: 500 });
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
    await rejectsWith({ ...minimal, epochs: 3 }, /Unrecognized key.*epochs/);
    await rejectsWith({ train: 'raw/train.csv', test: ['raw/test.csv'] }, /train: /);
    await rejectsWith({ test: ['raw/test.csv'] }, /train: /);
    await rejectsWith({ ...minimal, trainOn: 'gpu' }, /trainOn/);
    await rejectsWith({ ...minimal, config: { epochs: 0 } }, /epochs: must be an integer from 1 to 1000, got 0/);
    await rejectsWith({ ...minimal, config: { epochs: 1001 } }, /epochs/);
    await rejectsWith({ ...minimal, config: { batchSize: 8193 } }, /batchSize: must be an integer from 1 to 8192/);
    await rejectsWith({ ...minimal, config: { epochs: '10' } }, /epochs/);
    await rejectsWith({ ...minimal, config: { epoch: 10 } }, /epoch: unknown key \(did you mean "epochs"\?\)/);
    await rejectsWith({ ...minimal, runId: '../escape' }, /runId/);
    await rejectsWith(null, /must be a JSON object/);
    await rejectsWith([minimal], /must be a JSON object/);
  });

  test('rejects a malformed task payload (state machine wiring bug)', async () => {
    await assert.rejects(validate({ input: minimal }), /lambdaTrainMaxImages/);
  });
});
