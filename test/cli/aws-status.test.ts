import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  type ExecutionListItem,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError } from '../../lib/errors.ts';
import { statusCommand, type StatusResult } from '../../cli/deployed/index.ts';
import { championKey } from '../../lib/workflow/promotion.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { Sink } from '../support/sink.ts';

const BUCKET = 'fmnist-data-bucket';
const REGION = 'us-east-2';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;
const NOW = new Date('2026-03-02T09:00:00Z');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };


const arnOf = (name: string) => `arn:aws:states:${REGION}:123456789012:execution:TrainingWorkflow:${name}`;
const at = (iso: string) => new Date(iso);

const EXECUTIONS: ExecutionListItem[] = [
  { executionArn: arnOf('live-run'), stateMachineArn: STATE_MACHINE, name: 'live-run', status: 'RUNNING', startDate: at('2026-03-02T08:55:00Z') },
  {
    executionArn: arnOf('bad-run'),
    stateMachineArn: STATE_MACHINE,
    name: 'bad-run',
    status: 'FAILED',
    startDate: at('2026-03-02T08:00:00Z'),
    stopDate: at('2026-03-02T08:00:02Z'),
  },
  {
    executionArn: arnOf('good-run'),
    stateMachineArn: STATE_MACHINE,
    name: 'good-run',
    status: 'SUCCEEDED',
    startDate: at('2026-03-01T12:00:00Z'),
    stopDate: at('2026-03-01T12:07:12Z'),
  },
  {
    executionArn: arnOf('older-run'),
    stateMachineArn: STATE_MACHINE,
    name: 'older-run',
    status: 'SUCCEEDED',
    startDate: at('2026-02-28T10:00:00Z'),
    stopDate: at('2026-02-28T11:02:03Z'),
  },
];

const TEST_SET = 'c'.repeat(64);
const CHAMPION_KEY = championKey(TEST_SET);

const output = (runId: string, accuracy: number, promoted: boolean) =>
  JSON.stringify({
    plan: { runId },
    dataset: { datasetId: 'ds-1', testSetId: TEST_SET },
    training: { runId, modelPrefix: `runs/${runId}/model/` },
    evaluation: { runId, reportPrefix: `runs/${runId}/report/`, accuracy, loss: 0.3, macroF1: accuracy - 0.01, weightedF1: accuracy },
    promotion: { promoted, reason: promoted ? 'no champion yet' : 'does not beat' },
  });

const CHAMPION = {
  runId: 'good-run',
  datasetId: 'ds-1',
  testSetId: TEST_SET,
  accuracy: 0.9123,
  macroF1: 0.9023,
  modelPrefix: 'runs/good-run/model/',
  reportPrefix: 'runs/good-run/report/',
  promotedAt: '2026-03-01T12:07:10.000Z',
  files: { 'model.json': { versionId: 'v1', sha256: '1'.repeat(64) }, 'weights.bin': { versionId: 'v2', sha256: '2'.repeat(64) } },
  previous: null,
  reason: 'no champion yet',
};

function setup(executions = EXECUTIONS) {
  const sfn = new SFNClient({ region: REGION, credentials });
  const cfn = new CloudFormationClient({ region: REGION, credentials });
  const sfnMock = mockClient(sfn);
  const cfnMock = mockClient(cfn);
  const s3 = new FakeS3(BUCKET);
  const out = new Sink();
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'FashionMnist',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: NOW,
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          { OutputKey: 'DataBucketName', OutputValue: BUCKET },
        ],
      },
    ],
  });
  sfnMock.on(ListExecutionsCommand).callsFake((input) => {
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const end = start + Math.min(input.maxResults || 100, 10); // the service may return fewer
    return { executions: executions.slice(start, end), nextToken: end < executions.length ? String(end) : undefined };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const item = executions.find((execution) => execution.executionArn === executionArn)!;
    const base = { executionArn, stateMachineArn: STATE_MACHINE, status: item.status, startDate: item.startDate, stopDate: item.stopDate };
    if (item.name === 'good-run') return { ...base, output: output('good-run', 0.9123, true) };
    if (item.name === 'older-run') return { ...base, output: output('older-run', 0.8876, false) };
    return {
      ...base,
      input: JSON.stringify({ train: ['raw/x/train.csv'], test: ['raw/x/test.csv'], runId: 'bad-run-id' }),
      error: 'DataValidationError',
      cause: JSON.stringify({ errorType: 'DataValidationError', errorMessage: 's3://b/raw/x/train.csv, line 6, column 2: not a number' }),
    };
  });
  const deps = { sfn, cfn, s3: s3.client, out, env: {} as NodeJS.ProcessEnv, now: () => NOW };
  return { sfnMock, cfnMock, s3, out, deps };
}

describe('fmnist status', () => {
  test('a table of recent executions with duration, accuracy and failure, then the champion', async () => {
    const t = setup();
    t.s3.put(CHAMPION_KEY, JSON.stringify(CHAMPION));
    await statusCommand({}, t.deps);
    const lines = t.out.text.split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+STARTED \(UTC\)\s+STOPPED \(UTC\)\s+DURATION\s+ACCURACY\s+NOTE$/);
    const row = (name: string) => lines.find((line) => line.startsWith(`${name} `))!.split(/\s{2,}/);
    assert.deepEqual(row('live-run'), ['live-run', 'RUNNING', '2026-03-02 08:55:00', '-', '5m 00s', '-']);
    assert.deepEqual(row('bad-run'), [
      'bad-run',
      'FAILED',
      '2026-03-02 08:00:00',
      '2026-03-02 08:00:02',
      '2.0s',
      '-',
      'DataValidationError: s3://b/raw/x/train.csv, line 6, column 2: not a number',
    ]);
    assert.deepEqual(row('good-run'), ['good-run', 'SUCCEEDED', '2026-03-01 12:00:00', '2026-03-01 12:07:12', '7m 12s', '91.23%', 'champion']);
    assert.deepEqual(row('older-run'), ['older-run', 'SUCCEEDED', '2026-02-28 10:00:00', '2026-02-28 11:02:03', '1h 02m', '88.76%']);
    assert.ok(
      t.out.text.includes('champion: good-run  accuracy 91.23%  macro F1 0.9023  promoted 2026-03-01T12:07:10.000Z'),
      t.out.text,
    );
    assert.ok(t.out.text.includes(`model s3://${BUCKET}/runs/good-run/model/`));
    assert.ok(!t.out.text.includes('\u001b['), 'no colour when not a TTY');
    // columns line up: every row's STATUS starts where the header's does
    const statusColumn = lines[0].indexOf('STATUS');
    for (const name of ['live-run', 'bad-run', 'good-run']) assert.equal(lines.find((l) => l.startsWith(name))!.indexOf(row(name)[1]), statusColumn);
    // running executions are not described
    const described = t.sfnMock.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input.executionArn);
    assert.deepEqual(described.sort(), [arnOf('bad-run'), arnOf('good-run'), arnOf('older-run')]);
    assert.equal(t.sfnMock.commandCalls(ListExecutionsCommand)[0].args[0].input.stateMachineArn, STATE_MACHINE);
  });

  test('--json: executions and champion for machines', async () => {
    const t = setup();
    t.s3.put(CHAMPION_KEY, JSON.stringify(CHAMPION));
    const result = await statusCommand({ json: true }, t.deps);
    const parsed = JSON.parse(t.out.text) as StatusResult;
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(result)));
    assert.equal(parsed.stateMachineArn, STATE_MACHINE);
    assert.equal(parsed.bucket, BUCKET);
    assert.deepEqual(parsed.champion, CHAMPION);
    assert.deepEqual(parsed.champions, [CHAMPION]);
    assert.deepEqual(
      parsed.executions.map(({ name, status, accuracy, isChampion }) => JSON.parse(JSON.stringify({ name, status, accuracy, isChampion }))),
      [
        { name: 'live-run', status: 'RUNNING', accuracy: undefined, isChampion: false },
        { name: 'bad-run', status: 'FAILED', accuracy: undefined, isChampion: false },
        { name: 'good-run', status: 'SUCCEEDED', accuracy: 0.9123, isChampion: true },
        { name: 'older-run', status: 'SUCCEEDED', accuracy: 0.8876, isChampion: false },
      ].map((row) => JSON.parse(JSON.stringify(row))),
    );
    const good = parsed.executions[2];
    assert.equal(good.startDate, '2026-03-01T12:00:00.000Z');
    assert.equal(good.stopDate, '2026-03-01T12:07:12.000Z');
    assert.equal(good.durationSeconds, 432);
    assert.equal(good.runId, 'good-run');
    assert.equal(good.promoted, true);
    const bad = parsed.executions[1];
    assert.equal(bad.runId, 'bad-run-id');
    assert.equal(bad.error, 'DataValidationError');
    assert.equal(bad.cause, 'DataValidationError: s3://b/raw/x/train.csv, line 6, column 2: not a number');
    assert.equal(parsed.executions[0].durationSeconds, 300, 'running: until now');
  });

  test('--limit caps the listing (pages until reached)', async () => {
    const many: ExecutionListItem[] = Array.from({ length: 25 }, (_, i) => ({
      executionArn: arnOf(`run-${i}`),
      stateMachineArn: STATE_MACHINE,
      name: `run-${i}`,
      status: 'RUNNING',
      startDate: at('2026-03-02T08:00:00Z'),
    }));
    const t = setup(many);
    const result = await statusCommand({ limit: 3, json: true }, t.deps);
    assert.deepEqual(result.executions.map((e) => e.name), ['run-0', 'run-1', 'run-2']);
    assert.equal(t.sfnMock.commandCalls(ListExecutionsCommand)[0].args[0].input.maxResults, 3);
    const all = setup(many);
    const everything = await statusCommand({ limit: 1000, json: true }, all.deps);
    assert.equal(everything.executions.length, 25);
    assert.equal(all.sfnMock.commandCalls(ListExecutionsCommand).length, 3);
  });

  test('no champion yet, and no executions yet, are said plainly', async () => {
    const t = setup([]);
    const result = await statusCommand({}, t.deps);
    assert.equal(result.champion, null);
    assert.match(t.out.text, /no executions of arn:aws:states:us-east-2:123456789012:stateMachine:TrainingWorkflow yet \(start one with: fmnist start\)/);
    assert.match(t.out.text, /champion: none \(no champion yet \(nothing under s3:\/\/fmnist-data-bucket\/models\/champions\/\)\)/);
    const runs = setup();
    await statusCommand({}, runs.deps);
    assert.match(runs.out.text, new RegExp(`champion: none \\(no champion yet \\(s3://fmnist-data-bucket/models/champions/${TEST_SET}\\.json does not exist\\)\\)`));
  });

  test('without a run that names its test split, every champion is shown', async () => {
    const t = setup([]);
    const other = { ...CHAMPION, runId: 'other-run', testSetId: 'd'.repeat(64) };
    t.s3.put(CHAMPION_KEY, JSON.stringify(CHAMPION));
    t.s3.put(championKey(other.testSetId), JSON.stringify(other));
    const result = await statusCommand({}, t.deps);
    assert.deepEqual(result.champions.map((c) => c.runId).sort(), ['good-run', 'other-run']);
    assert.match(t.out.text, /champion: other-run .*\n  test split dddddddddddd  dataset ds-1/);
  });

  test('a malformed champion record is reported, not fatal', async () => {
    const t = setup();
    t.s3.put(CHAMPION_KEY, JSON.stringify({ runId: 'x' }));
    const result = await statusCommand({ json: true }, t.deps);
    assert.equal(result.champion, null);
    assert.match(result.championNote!, /champions\/c{64}\.json is malformed/);
  });

  test('--state-machine-arn alone: no stack lookup, no champion', async () => {
    const t = setup();
    const result = await statusCommand({ stateMachineArn: STATE_MACHINE }, t.deps);
    assert.equal(t.cfnMock.calls().length, 0);
    assert.equal(t.s3.mock.calls().length, 0);
    assert.equal(result.executions.length, 4);
    assert.match(t.out.text, /champion: none \(champion not shown: pass --bucket/);
  });

  test('colours the status on a terminal (unless NO_COLOR)', async () => {
    const t = setup();
    t.out.isTTY = true;
    await statusCommand({}, t.deps);
    assert.ok(t.out.text.includes('\u001b[32mSUCCEEDED\u001b[0m'), t.out.text);
    assert.ok(t.out.text.includes('\u001b[31mFAILED   \u001b[0m'));
    const plain = setup();
    plain.out.isTTY = true;
    await statusCommand({}, { ...plain.deps, env: { NO_COLOR: '1' } });
    assert.ok(!plain.out.text.includes('\u001b['));
  });

  test('bad flags fail before any AWS call', async () => {
    for (const flags of [{ limit: 0 }, { stateMachineArn: 'nope' }, { bucket: 'Bad_Bucket' }]) {
      const t = setup();
      await assert.rejects(statusCommand(flags, t.deps), ConfigError);
      assert.equal(t.sfnMock.calls().length + t.cfnMock.calls().length + t.s3.mock.calls().length, 0);
    }
  });

  test('a state machine that does not exist is a clear error', async () => {
    const t = setup();
    t.sfnMock
      .on(ListExecutionsCommand)
      .rejects(Object.assign(new Error(`State Machine Does Not Exist: '${STATE_MACHINE}'`), { name: 'StateMachineDoesNotExist', $metadata: {} }));
    await assert.rejects(statusCommand({}, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /listing the executions of .*: StateMachineDoesNotExist/);
      return true;
    });
  });
});
