import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3OperationError } from '../lib/aws/s3-errors.ts';
import { CheckpointMismatchError, ConfigError, DataValidationError, UserError, WorkflowFailedError } from '../lib/errors.ts';
import { definitionFromTemplate, synthesizeStack, type AslDefinition, type SynthesizedStack } from '../infra/synthesized-definition.ts';
import { CheckpointCorruptError } from '../lib/model/checkpoint/format.ts';
import { TrainingAbortedError } from '../lib/model/cooperative.ts';
import { UnsupportedLayerError } from '../lib/model/graph/train-graph.ts';
import { errorLines, fmnist } from './cli/support/spawn-cli.ts';
import { syntheticKaggleCsv } from './support/kaggle-csv.ts';

/**
 * Every user-facing error, with the name Lambda reports as its errorType and Step Functions as
 * the state's Error: the CLI (`fmnist status`, the local runner's result) and the tests read
 * these names back, so they are a contract.
 */
const USER_ERRORS: [UserError, string][] = [
  [new ConfigError('bad flag'), 'ConfigError'],
  [new DataValidationError('train.csv', 'not a number', 6, 2), 'DataValidationError'],
  [new CheckpointMismatchError('another run', ['seed']), 'ConfigError'],
  [new WorkflowFailedError('the workflow failed'), 'WorkflowFailedError'],
];

/** Errors that are not the user's to fix: the CLI keeps their stack trace. */
const OTHER_ERRORS: Error[] = [
  new CheckpointCorruptError('manifest.json: truncated'),
  new UnsupportedLayerError('batchNormalization'),
  new TrainingAbortedError(new Error('SIGTERM')),
  new S3OperationError('GetObject', { bucket: 'b', key: 'k' }, new Error('read ECONNRESET')),
];

describe('the error hierarchy (lib/errors.ts)', () => {
  test('every user-facing error is a UserError and keeps its name', () => {
    for (const [error, name] of USER_ERRORS) {
      assert.ok(error instanceof UserError && error instanceof Error, error.constructor.name);
      assert.equal(error.name, name, error.constructor.name);
    }
    assert.ok(USER_ERRORS[2][0] instanceof ConfigError, 'a checkpoint mismatch is a ConfigError');
  });

  test('errors that are not the user\'s are not UserErrors, and say what they are', () => {
    for (const error of OTHER_ERRORS) assert.ok(!(error instanceof UserError), error.name);
    assert.deepEqual(
      OTHER_ERRORS.map((error) => error.name),
      ['CheckpointCorruptError', 'UnsupportedLayerError', 'TrainingAborted', 'S3OperationError'],
    );
  });

  test('a DataValidationError still names file, line and column', () => {
    assert.equal(USER_ERRORS[1][0].message, 'train.csv, line 6, column 2: not a number');
  });
});

describe('the state machine and user errors', () => {
  let synthesized: SynthesizedStack;
  let definition: AslDefinition;
  before(() => {
    synthesized = synthesizeStack();
    definition = definitionFromTemplate(synthesized.template.toJSON() as never);
  });
  after(() => synthesized?.cleanup());

  type Rule = { ErrorEquals: string[]; Next?: string };
  const tasks = () =>
    Object.entries(definition.States).filter(([, state]) => state.Type === 'Task') as [string, { Retry?: Rule[]; Catch?: Rule[] }][];

  test('no Retry names a user error: a bad input fails at once instead of being retried', () => {
    const names = new Set(USER_ERRORS.map(([, name]) => name));
    for (const [state, task] of tasks()) {
      for (const retry of task.Retry ?? []) {
        for (const error of retry.ErrorEquals) {
          assert.ok(!names.has(error) && error !== 'States.ALL', `${state} retries ${error}`);
        }
      }
    }
  });

  test('every task catches a user error (States.ALL) and so records its name as the failure', () => {
    const all = tasks();
    assert.ok(all.length > 0);
    for (const [state, task] of all) {
      assert.ok(task.Catch?.some((rule) => rule.ErrorEquals.includes('States.ALL')), `${state} has no catch-all`);
    }
  });
});

describe('fmnist prints a UserError as one line', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-errors-'));
    const bad = syntheticKaggleCsv(10, 1).text.split('\n');
    bad[3] = bad[3].replace(/^(\d+),(\d+)/, '$1,x');
    await writeFile(join(dir, 'train.csv'), bad.join('\n'));
    await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(10, 2).text);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const oneLine = (result: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(result.code, 1, result.stderr);
    const lines = errorLines(result.stderr);
    assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  };

  test('a ConfigError: exit 1, its message, no stack', async () => {
    oneLine(await fmnist(['run', '--train', join(dir, 'train.csv')]), /^fmnist: give both --train and --test/);
  });

  test('a DataValidationError: exit 1, file, line and column, no stack', async () => {
    const result = await fmnist(['ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--out', join(dir, 'ds')]);
    oneLine(result, /^fmnist: .*train\.csv, line 4, column 2 \(pixel1\): /);
  });
});
