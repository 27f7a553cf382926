import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { ConfigError } from '../../lib/errors.ts';
import { computeSizeFrom, estimateCost, parseTrainingCost, PRICE_TABLE, stepFunctionsUsd } from '../../lib/workflow/cost.ts';

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual}, expected ${expected}`);

describe('cost estimates: measured seconds x configured size x list prices', () => {
  test('Lambda: 3008 MiB for 10 s is 29.375 GB-s at $0.0000166667, plus one request at $0.20 per million', () => {
    const cost = estimateCost({ runtime: 'lambda', memoryMiB: 3008 }, 10);
    assert.equal(cost.lambdaGbSeconds, 29.375);
    assert.equal(cost.lambdaRequests, 1);
    close(cost.usd, 29.375 * 0.0000166667 + 0.0000002, 'usd');
    assert.deepEqual(cost.priceTable, { date: '2026-12-01', region: 'us-east-1' });
    assert.equal(cost.basis, 'estimate');
    // infra/README.md's figure: 10,240 MB for an hour is $0.60.
    assert.equal(estimateCost({ runtime: 'lambda', memoryMiB: 10_240 }, 3600).usd.toFixed(2), '0.60');
  });

  test('Fargate: 4 vCPU / 16 GB for an hour is 4 x $0.04048 + 16 x $0.004445 = $0.23304 (infra/README.md: $0.233)', () => {
    const cost = estimateCost({ runtime: 'fargate', cpuUnits: 4096, memoryMiB: 16_384 }, 3600);
    assert.deepEqual([cost.fargateVcpuSeconds, cost.fargateGbSeconds], [4 * 3600, 16 * 3600]);
    close(cost.usd, 0.23304, 'usd');
    assert.equal(cost.lambdaGbSeconds, undefined);
    close(estimateCost({ runtime: 'fargate', cpuUnits: 1024, memoryMiB: 2048 }, 90).usd, (90 / 3600) * (0.04048 + 2 * 0.004445), '1 vCPU / 2 GB, 90 s');
  });

  test('Step Functions standard: $0.025 per 1,000 state transitions; a negative duration is refused', () => {
    close(stepFunctionsUsd(12), 12 * 0.000025, '12 transitions');
    assert.throws(() => estimateCost({ runtime: 'lambda', memoryMiB: 128 }, -1), RangeError);
    assert.throws(() => estimateCost({ runtime: 'lambda', memoryMiB: 128 }, Number.NaN), RangeError);
  });

  test('the table is the one infra/README.md quotes (one source of truth)', async () => {
    const readme = await readFile(new URL('../../infra/README.md', import.meta.url), 'utf8');
    for (const price of [PRICE_TABLE.lambda.usdPerGbSecond, PRICE_TABLE.fargate.usdPerVcpuHour, PRICE_TABLE.fargate.usdPerGbHour]) {
      assert.ok(readme.includes(`$${price} per`), `infra/README.md quotes $${price}`);
    }
    assert.ok(readme.includes(`$${PRICE_TABLE.stepFunctions.usdPerStateTransition * 1000} per 1,000 state transitions`), 'the Step Functions price');
    assert.match(readme, new RegExp(`${PRICE_TABLE.region} list prices[^.]*${PRICE_TABLE.date}`));
  });

  test('computeSizeFrom: the Fargate task definition\'s sizes, else the Lambda memory, else none; malformed values name the variable', () => {
    assert.deepEqual(computeSizeFrom({ FMNIST_TASK_CPU_UNITS: '4096', FMNIST_TASK_MEMORY_MIB: '16384' }), { runtime: 'fargate', cpuUnits: 4096, memoryMiB: 16_384 });
    assert.deepEqual(computeSizeFrom({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' }), { runtime: 'lambda', memoryMiB: 3008 });
    assert.equal(computeSizeFrom({}), undefined);
    assert.throws(() => computeSizeFrom({ FMNIST_TASK_CPU_UNITS: '4096' }), (error: Error) => error instanceof ConfigError && /FMNIST_TASK_MEMORY_MIB: .*got undefined/.test(error.message));
    assert.throws(() => computeSizeFrom({ FMNIST_TASK_CPU_UNITS: '4 vCPU', FMNIST_TASK_MEMORY_MIB: '16384' }), /FMNIST_TASK_CPU_UNITS: must be a whole number of CPU units, got "4 vCPU"/);
  });

  test('parseTrainingCost: a stored estimate reads back; a wrong field is named', () => {
    const cost = estimateCost({ runtime: 'lambda', memoryMiB: 3008 }, 10);
    assert.deepEqual(parseTrainingCost(JSON.parse(JSON.stringify(cost)), 'training.json'), cost);
    assert.throws(() => parseTrainingCost({ ...cost, basis: 'bill' }, 'training.json'), /training\.json: "cost" is not a cost estimate \(basis: /);
    assert.throws(() => parseTrainingCost({ ...cost, usd: -1 }, 'training.json'), /usd/);
  });
});
