import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { executionConsoleUrl, registerAwsCommands, startCommand, type StartFlags } from '../../cli/deployed/index.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { Sink } from '../support/sink.ts';

const BUCKET = 'fmnist-data-bucket';
const REGION = 'eu-west-1';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;
const NOW = new Date('2026-03-01T12:00:00Z');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };


function setup() {
  const sfn = new SFNClient({ region: REGION, credentials });
  const cfn = new CloudFormationClient({ region: REGION, credentials });
  const sfnMock = mockClient(sfn);
  const cfnMock = mockClient(cfn);
  const s3 = new FakeS3(BUCKET);
  const out = new Sink();
  const log = new Sink();
  const sleeps: number[] = [];
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'FashionMnist',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: NOW,
        Outputs: [
          { OutputKey: 'DataBucketName', OutputValue: BUCKET },
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
        ],
      },
    ],
  });
  sfnMock.on(StartExecutionCommand).callsFake((input) => ({
    executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: NOW,
  }));
  const deps = {
    sfn,
    cfn,
    s3: s3.client,
    out,
    log,
    env: {} as NodeJS.ProcessEnv,
    now: () => NOW,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
  const awsCalls = () => sfnMock.calls().length + cfnMock.calls().length + s3.mock.calls().length;
  return { sfnMock, cfnMock, s3, out, log, sleeps, deps, awsCalls };
}

const startInput = (sfnMock: ReturnType<typeof setup>['sfnMock']) => {
  const calls = sfnMock.commandCalls(StartExecutionCommand);
  assert.equal(calls.length, 1);
  const { name, input, stateMachineArn } = calls[0].args[0].input;
  return { name: name!, input: JSON.parse(input!), stateMachineArn };
};

// ---- execution history fixtures -------------------------------------------------------------
const T0 = NOW.getTime();
function history(spec: [type: string, seconds: number, details?: Partial<HistoryEvent>][]): HistoryEvent[] {
  return spec.map(([type, seconds, details], index) => ({
    id: index + 1,
    previousEventId: index,
    type: type as HistoryEvent['type'],
    timestamp: new Date(T0 + seconds * 1000),
    ...details,
  }));
}
const entered = (name: string) => ({ stateEnteredEventDetails: { name, input: '{}' } });
const exited = (name: string) => ({ stateExitedEventDetails: { name, output: '{}' } });
const lambdaState = (name: string, from: number, to: number): [string, number, Partial<HistoryEvent>?][] => [
  ['TaskStateEntered', from, entered(name)],
  ['LambdaFunctionScheduled', from],
  ['LambdaFunctionStarted', from],
  ['LambdaFunctionSucceeded', to],
  ['TaskStateExited', to, exited(name)],
];

const RUN_ID = 'fmnist-20260301T120000Z-abcdef';
const stateDocument = {
  plan: { runId: RUN_ID, trainOn: 'auto', promote: 'if-better', epochs: 2 },
  dataset: { datasetId: 'ds-1', datasetPrefix: 'datasets/ds-1/', reused: false, trainExamples: 600, testExamples: 100 },
  training: { runId: RUN_ID, modelPrefix: `runs/${RUN_ID}/model/`, backend: 'tensorflow', seconds: 379.9, epochs: 2 },
  evaluation: { runId: RUN_ID, reportPrefix: `runs/${RUN_ID}/report/`, accuracy: 0.9123, loss: 0.25, macroF1: 0.9101, weightedF1: 0.91 },
  promotion: { promoted: true, reason: 'no champion yet' },
};

const SUCCESS = history([
  ['ExecutionStarted', 0],
  ...lambdaState('ValidateInput', 0.1, 1.0),
  ['TaskStateEntered', 1.0, entered('Ingest')],
  ['LambdaFunctionScheduled', 1.0],
  ['LambdaFunctionFailed', 3.0, { lambdaFunctionFailedEventDetails: { error: 'Lambda.ServiceException', cause: 'Service unavailable' } }],
  ['LambdaFunctionScheduled', 5.0],
  ['LambdaFunctionSucceeded', 20.0],
  ['TaskStateExited', 20.0, exited('Ingest')],
  ['PassStateEntered', 20.0, entered('PrepareTrainEvent')],
  ['PassStateExited', 20.0, exited('PrepareTrainEvent')],
  ['ChoiceStateEntered', 20.0, entered('ChooseTrainingRuntime')],
  ['ChoiceStateExited', 20.1, exited('ChooseTrainingRuntime')],
  ...lambdaState('TrainOnLambda', 20.1, 400),
  ...lambdaState('Evaluate', 400, 430),
  ...lambdaState('Promote', 430, 432),
  ['SucceedStateEntered', 432, entered('Done')],
  ['SucceedStateExited', 432, exited('Done')],
  ['ExecutionSucceeded', 432, { executionSucceededEventDetails: { output: JSON.stringify(stateDocument) } }],
]);

const LAMBDA_CAUSE = JSON.stringify({
  errorType: 'ConfigError',
  errorMessage: 'invalid execution input event: config: epochs must be <= 1000',
  trace: ['ConfigError: invalid execution input', '    at planExecution (file:///var/task/index.mjs:1:1)'],
});
const FAILURE = history([
  ['ExecutionStarted', 0],
  ['TaskStateEntered', 0.1, entered('ValidateInput')],
  ['LambdaFunctionScheduled', 0.1],
  ['LambdaFunctionFailed', 0.8, { lambdaFunctionFailedEventDetails: { error: 'ConfigError', cause: LAMBDA_CAUSE } }],
  ['TaskStateExited', 0.9, exited('ValidateInput')],
  ['FailStateEntered', 0.9, entered('Failed')],
  ['ExecutionFailed', 0.9, { executionFailedEventDetails: { error: 'ConfigError', cause: LAMBDA_CAUSE } }],
]);

/**
 * GetExecutionHistory over a growing history: the n-th successful call sees stages[n] (the last
 * stage from then on); calls listed in `throttled` fail with ThrottlingException. Honours
 * reverseOrder, maxResults and nextToken like the service.
 */
function serveHistory(sfnMock: ReturnType<typeof setup>['sfnMock'], full: HistoryEvent[], stages: number[], throttled: number[] = []) {
  let calls = 0;
  let served = 0;
  sfnMock.on(GetExecutionHistoryCommand).callsFake((input) => {
    calls += 1;
    if (throttled.includes(calls)) {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
    const visible = full.slice(0, stages[Math.min(served, stages.length - 1)]);
    served += 1;
    const ordered = input.reverseOrder ? [...visible].reverse() : visible;
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const size = input.maxResults || 1000;
    const end = start + size;
    return { events: ordered.slice(start, end), nextToken: end < ordered.length ? String(end) : undefined };
  });
}

describe('fmnist start: validation before any AWS call', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-aws-start-'));
    await writeFile(join(dir, 'train.csv'), 'label,pixel1\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cases: [string, () => StartFlags, RegExp][] = [
    ['only --train', () => ({ train: ['s3://b/raw/train.csv'] }), /both --train and --test/],
    ['epochs out of range', () => ({ epochs: 5000 }), /epochs/],
    ['batch size out of range', () => ({ batchSize: 100000 }), /batchSize/],
    ['bad run id', () => ({ runId: 'has spaces' }), /--run-id/],
    ['limit 0', () => ({ limit: 0 }), /--limit/],
    ['unknown runtime', () => ({ trainOn: 'gpu' as never }), /--train-on/],
    ['unknown promotion mode', () => ({ promote: 'sometimes' as never }), /--promote/],
    ['--out without --wait', () => ({ out: 'somewhere' }), /--out .*--wait/],
    ['a missing local file', () => ({ train: [join(dir, 'nope.csv')], test: [join(dir, 'train.csv')] }), /no such local file/],
    ['a directory', () => ({ train: [dir], test: [join(dir, 'train.csv')] }), /not a regular file/],
    ['an s3 URL without a key', () => ({ train: ['s3://bucket'], test: ['s3://bucket/raw/test.csv'] }), /not an s3:\/\/bucket\/key URL/],
    ['a bad state machine ARN', () => ({ stateMachineArn: 'arn:aws:lambda:x' }), /not a state machine ARN/],
    ['a bucket URL for --bucket', () => ({ bucket: 's3://my-bucket' }), /not an S3 bucket name/],
    ['an unreadable --config', () => ({ config: join(dir, 'missing.json') }), /cannot read config file/],
  ];
  for (const [what, flags, message] of cases) {
    test(`rejects ${what}`, async () => {
      const t = setup();
      await assert.rejects(startCommand(flags(), t.deps), (error: Error) => {
        assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(t.awsCalls(), 0, 'no AWS call before the flags are valid');
    });
  }

  test('a config file with an unknown key is rejected, naming the file', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ epochs: 3, learningrate: 0.1 }));
    const t = setup();
    await assert.rejects(startCommand({ config: file }, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(error.message.includes(file), error.message);
      assert.match(error.message, /learningrate/);
      return true;
    });
    assert.equal(t.awsCalls(), 0);
  });
});

describe('fmnist start: stack discovery', () => {
  test('reads the outputs of the default stack, FMNIST_STACK, or --stack', async () => {
    for (const [flags, env, expected] of [
      [{}, {}, 'FashionMnist'],
      [{}, { FMNIST_STACK: 'FromEnv' }, 'FromEnv'],
      [{ stack: 'FromFlag' }, { FMNIST_STACK: 'FromEnv' }, 'FromFlag'],
    ] as [StartFlags, NodeJS.ProcessEnv, string][]) {
      const t = setup();
      t.s3.put('raw/fmnist/train.csv', 'x');
      t.s3.put('raw/fmnist/test.csv', 'x');
      await startCommand({ ...flags, train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'] }, { ...t.deps, env });
      assert.equal(t.cfnMock.commandCalls(DescribeStacksCommand)[0].args[0].input.StackName, expected);
      assert.equal(startInput(t.sfnMock).stateMachineArn, STATE_MACHINE);
    }
  });

  test('--state-machine-arn and --bucket skip CloudFormation', async () => {
    const t = setup();
    t.s3.put('raw/fmnist/train.csv', 'x');
    t.s3.put('raw/fmnist/test.csv', 'x');
    await startCommand(
      { stateMachineArn: STATE_MACHINE, bucket: BUCKET, train: [`s3://${BUCKET}/raw/fmnist/train.csv`], test: ['raw/fmnist/test.csv'] },
      t.deps,
    );
    assert.equal(t.cfnMock.calls().length, 0);
    assert.deepEqual(startInput(t.sfnMock).input.train, ['raw/fmnist/train.csv']);
  });

  test('a missing stack says how to point at the right one', async () => {
    const t = setup();
    t.cfnMock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id FashionMnist does not exist'), { name: 'ValidationError', $metadata: {} }));
    await assert.rejects(startCommand({}, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /stack "FashionMnist" not found in eu-west-1/);
      assert.match(error.message, /--stack NAME or FMNIST_STACK/);
      assert.match(error.message, /AWS_REGION/);
      assert.match(error.message, /--state-machine-arn and --bucket/);
      return true;
    });
    assert.equal(t.sfnMock.calls().length, 0);
  });

  test('no credentials names the environment variables to set', async () => {
    const t = setup();
    t.cfnMock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await assert.rejects(startCommand({}, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /no usable AWS credentials/);
      assert.match(error.message, /AWS_PROFILE/);
      assert.match(error.message, /AWS_REGION/);
      return true;
    });
  });

  test('no region names AWS_REGION and --region', async () => {
    const t = setup();
    t.cfnMock.on(DescribeStacksCommand).rejects(new Error('Region is missing'));
    await assert.rejects(startCommand({}, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /no AWS region configured: .*AWS_REGION \(or --region\)/);
      return true;
    });
  });

  test('console URLs follow the partition', () => {
    assert.equal(
      executionConsoleUrl('arn:aws-cn:states:cn-north-1:123456789012:execution:W:run'),
      'https://cn-north-1.console.amazonaws.cn/states/home?region=cn-north-1#/v2/executions/details/arn:aws-cn:states:cn-north-1:123456789012:execution:W:run',
    );
  });

  test('a stack without the outputs is not the fmnist stack', async () => {
    const t = setup();
    t.cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: NOW, Outputs: [] }],
    });
    await assert.rejects(startCommand({ stack: 'Other' }, t.deps), /stack "Other" has no output StateMachineArn/);
  });
});

describe('fmnist start: the execution input', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-aws-start-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('flags become a valid execution input; the run id is the readable execution name', async () => {
    const t = setup();
    t.s3.put('raw/fmnist/train.csv', 'x');
    t.s3.put('raw/fmnist/test.csv', 'x');
    const result = await startCommand(
      {
        train: [`s3://${BUCKET}/raw/fmnist/train.csv`],
        test: [`s3://${BUCKET}/raw/fmnist/test.csv`],
        epochs: 3,
        batchSize: 128,
        learningRate: 0.0005,
        trainOn: 'fargate',
        promote: 'always',
        limit: 1000,
      },
      t.deps,
    );
    const { name, input } = startInput(t.sfnMock);
    assert.match(name, /^fmnist-20260301T120000Z-[0-9a-f]{6}$/);
    assert.deepEqual(input, {
      train: ['raw/fmnist/train.csv'],
      test: ['raw/fmnist/test.csv'],
      limit: 1000,
      config: { epochs: 3, batchSize: 128, learningRate: 0.0005 },
      trainOn: 'fargate',
      promote: 'always',
      runId: name,
    });
    assert.equal(result.runId, name);
    assert.equal(result.status, 'RUNNING');
    assert.equal(result.exitCode, 0);
    const arn = `arn:aws:states:${REGION}:123456789012:execution:TrainingWorkflow:${name}`;
    assert.equal(result.executionArn, arn);
    assert.ok(t.out.text.includes(`execution: ${arn}`), t.out.text);
    assert.ok(
      t.out.text.includes(`https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${arn}`),
      t.out.text,
    );
    assert.equal(t.sfnMock.commandCalls(GetExecutionHistoryCommand).length, 0, 'no --wait: not followed');
  });

  test('--run-id names the run and leads the execution name; a config file sits under the flags', async () => {
    const t = setup();
    t.s3.put('raw/a/train.csv', 'x');
    t.s3.put('raw/a/test.csv', 'x');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ epochs: 7, seed: 1, validationSplit: 0.1 }));
    await startCommand({ train: ['raw/a/train.csv'], test: ['raw/a/test.csv'], runId: 'exp.7', config, epochs: 2 }, t.deps);
    const { name, input } = startInput(t.sfnMock);
    assert.match(name, /^exp-7-20260301T120000Z-[0-9a-f]{6}$/);
    assert.equal(input.runId, 'exp.7');
    assert.deepEqual(input.config, { epochs: 2, seed: 1, validationSplit: 0.1 });
  });

  test('S3 data outside the data bucket or raw/, or missing, is refused before starting', async () => {
    for (const [train, message] of [
      ['s3://someone-else/raw/train.csv', /reads only its data bucket/],
      [`s3://${BUCKET}/datasets/train.csv`, /only keys under raw\//],
      [`s3://${BUCKET}/raw/missing/train.csv`, /does not exist/],
    ] as [string, RegExp][]) {
      const t = setup();
      t.s3.put('raw/fmnist/test.csv', 'x');
      await assert.rejects(startCommand({ train: [train], test: ['raw/fmnist/test.csv'] }, t.deps), message);
      assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 0);
    }
  });

  test('local files are uploaded once to raw/uploads/<hash>/, where the upload trigger cannot pair them', async () => {
    await writeFile(join(dir, 'my_train.csv'), 'label,pixel1\n1,0\n');
    await writeFile(join(dir, 'my_test.csv'), 'label,pixel1\n1,0\n');
    const t = setup();
    const flags = { train: [join(dir, 'my_train.csv')], test: [join(dir, 'my_test.csv')] };
    await startCommand(flags, t.deps);
    const uploads = t.s3.keys('raw/uploads/');
    assert.equal(uploads.length, 2);
    const [trainKey] = uploads.filter((key) => key.endsWith('/my_train.csv'));
    const [testKey] = uploads.filter((key) => key.endsWith('/my_test.csv'));
    assert.match(trainKey, /^raw\/uploads\/[0-9a-f]{16}\/my_train\.csv$/);
    assert.notEqual(trainKey.split('/')[2], testKey.split('/')[2], 'same content, different split: different folders');
    assert.equal(t.s3.objects.get(trainKey)!.toString(), 'label,pixel1\n1,0\n');
    const { name, input } = startInput(t.sfnMock);
    assert.deepEqual(input.train, [trainKey]);
    assert.deepEqual(input.test, [testKey]);
    assert.match(name, /^my-20260301T120000Z-/);

    // the same files again: no upload
    const again = setup();
    for (const key of uploads) again.s3.put(key, t.s3.objects.get(key)!);
    await startCommand(flags, again.deps);
    assert.equal(again.s3.mock.commandCalls(PutObjectCommand).length, 0);
    assert.match(again.out.text, /already uploaded/);
  });

  test('no data flags: the latest complete pair under raw/, or a clear error', async () => {
    const t = setup();
    const s3 = new S3Client({ region: REGION, credentials });
    const s3Mock = mockClient(s3);
    const object = (Key: string, day: number) => ({ Key, ETag: `"${Key}"`, LastModified: new Date(Date.UTC(2026, 1, day)) });
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        object('raw/old/train.csv', 1),
        object('raw/old/test.csv', 2),
        object('raw/new/fashion-mnist_train.csv', 10),
        object('raw/new/fashion-mnist_test.csv', 11),
        object('raw/lonely/train.csv', 20),
      ],
      IsTruncated: false,
    });
    await startCommand({}, { ...t.deps, s3 });
    const { name, input } = startInput(t.sfnMock);
    assert.deepEqual(input, { train: ['raw/new/fashion-mnist_train.csv'], test: ['raw/new/fashion-mnist_test.csv'], runId: name });
    assert.match(name, /^new-fashion-mnist-20260301T120000Z-/);

    const empty = setup();
    const emptyS3 = new S3Client({ region: REGION, credentials });
    mockClient(emptyS3).on(ListObjectsV2Command).resolves({ Contents: [object('raw/lonely/train.csv', 20)], IsTruncated: false });
    await assert.rejects(startCommand({}, { ...empty.deps, s3: emptyS3 }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /no complete train\/test pair under s3:\/\/fmnist-data-bucket\/raw\//);
      assert.match(error.message, /--train and --test/);
      return true;
    });
    assert.equal(empty.sfnMock.commandCalls(StartExecutionCommand).length, 0);
  });

  test('--json: one summary line on stdout, progress on stderr', async () => {
    const t = setup();
    t.s3.put('raw/a/train.csv', 'x');
    t.s3.put('raw/a/test.csv', 'x');
    await startCommand({ train: ['raw/a/train.csv'], test: ['raw/a/test.csv'], json: true }, t.deps);
    const lines = t.out.text.trim().split('\n');
    assert.equal(lines.length, 1);
    const summary = JSON.parse(lines[0]);
    assert.equal(summary.status, 'RUNNING');
    assert.match(summary.executionArn, /:execution:TrainingWorkflow:a-/);
    assert.match(t.log.text, /console:/);
  });
});

describe('fmnist start --wait', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-aws-wait-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function waitSetup() {
    const t = setup();
    t.s3.put('raw/fmnist/train.csv', 'x');
    t.s3.put('raw/fmnist/test.csv', 'x');
    return t;
  }

  test('follows the states through a retry and a throttled poll, then downloads the report', async () => {
    const t = waitSetup();
    serveHistory(t.sfnMock, SUCCESS, [8, 12, 12, SUCCESS.length], [2]);
    t.sfnMock.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      startDate: NOW,
      stopDate: new Date(T0 + 432_000),
      output: JSON.stringify(stateDocument),
    });
    const report = `runs/${RUN_ID}/report/`;
    t.s3.put(`${report}classification_report.txt`, 'precision recall\n');
    t.s3.put(`${report}confusion_matrix.png`, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    t.s3.put(`${report}learning_curves.png`, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1]));
    t.s3.put(`${report}metrics.json`, '{"accuracy":0.9123}');
    t.s3.put(`runs/${RUN_ID}/model/model.json`, '{}');
    const out = join(dir, 'report');

    const result = await startCommand({ train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], wait: true, out }, t.deps);

    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.exitCode, 0);
    assert.equal(result.outcome?.accuracy, 0.9123);
    // polls: new events -> 2 s; throttled -> backoff 4 s; new -> 2 s; nothing new -> 3 s; the end
    assert.deepEqual(t.sleeps, [2000, 4000, 2000, 3000]);
    assert.equal(t.sfnMock.commandCalls(GetExecutionHistoryCommand).length, 5);
    const text = t.out.text;
    for (const line of [
      '[ 0:00] execution started',
      '[ 0:00] ▶ ValidateInput',
      '[ 0:01] ✓ ValidateInput 0.9s',
      '[ 0:03]   ! Ingest: Lambda.ServiceException: Service unavailable',
      '[ 0:05]   ↻ Ingest: retry 1',
      '[ 0:20] ✓ Ingest 19.0s',
      '[ 0:20] ▶ ChooseTrainingRuntime',
      '[ 6:40] ✓ TrainOnLambda 6m 20s',
      '[ 7:12] ✓ Promote 2.0s',
      '[ 7:12] SUCCEEDED in 7m 12s',
      'test accuracy 91.23%, macro F1 0.9101, trained 2 epochs in 6m 20s (tfjs tensorflow)',
      'champion: promoted (no champion yet)',
      `report: 4 files from s3://${BUCKET}/${report} in ${out}`,
      '  charts: confusion_matrix.png, learning_curves.png',
    ]) {
      assert.ok(text.includes(line), `missing "${line}" in:\n${text}`);
    }
    assert.ok(text.indexOf('▶ Ingest') < text.indexOf('↻ Ingest') && text.indexOf('↻ Ingest') < text.indexOf('✓ Ingest'));
    assert.equal(text.match(/▶ ValidateInput/g)?.length, 1, 'each event printed once');
    assert.deepEqual(result.reportFiles?.sort(), ['classification_report.txt', 'confusion_matrix.png', 'learning_curves.png', 'metrics.json']);
    assert.deepEqual(await readFile(join(out, 'confusion_matrix.png')), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    assert.equal(await readFile(join(out, 'metrics.json'), 'utf8'), '{"accuracy":0.9123}');
    assert.ok(!existsSync(join(out, 'model.json')), 'only the report prefix');
  });

  test('the report goes to runs/<runId>/report by default', async () => {
    const t = waitSetup();
    serveHistory(t.sfnMock, SUCCESS, [SUCCESS.length]);
    t.sfnMock.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: JSON.stringify(stateDocument) });
    t.s3.put(`runs/${RUN_ID}/report/confusion_matrix.png`, 'png');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const result = await startCommand({ train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], wait: true }, t.deps);
      assert.equal(result.reportDir, join('runs', RUN_ID, 'report'));
      assert.equal(await readFile(join(dir, 'runs', RUN_ID, 'report', 'confusion_matrix.png'), 'utf8'), 'png');
    } finally {
      process.chdir(cwd);
    }
  });

  test('a failed execution: its error and readable cause, exit code 1, no download', async () => {
    const t = waitSetup();
    serveHistory(t.sfnMock, FAILURE, [FAILURE.length]);
    t.sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'ConfigError', cause: LAMBDA_CAUSE });
    const result = await startCommand({ train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], wait: true }, t.deps);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.exitCode, 1);
    assert.equal(result.error, 'ConfigError');
    const text = t.out.text;
    for (const line of [
      '[ 0:00]   ! ValidateInput: ConfigError: invalid execution input event: config: epochs must be <= 1000',
      '[ 0:00] ✗ ValidateInput 0.8s (failed; caught)',
      '[ 0:00] ▶ Failed',
      '[ 0:00] FAILED after 0.9s: ConfigError',
      '        cause: ConfigError: invalid execution input event: config: epochs must be <= 1000',
      'execution FAILED: ConfigError',
    ]) {
      assert.ok(text.includes(line), `missing "${line}" in:\n${text}`);
    }
    assert.ok(!text.includes('"trace"'), 'the Lambda stack trace is not dumped');
    // The sources' existence checks list raw/ (exact keys); a download would list runs/.
    const listings = t.s3.mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input.Prefix ?? '');
    assert.deepEqual(listings.filter((prefix) => !prefix.startsWith('raw/')), [], 'nothing downloaded');
  });

  test('TIMED_OUT and ABORTED exit non-zero too', async () => {
    for (const [type, status, details] of [
      ['ExecutionTimedOut', 'TIMED_OUT', { executionTimedOutEventDetails: { error: 'States.Timeout' } }],
      ['ExecutionAborted', 'ABORTED', { executionAbortedEventDetails: { error: 'User', cause: 'stopped by hand' } }],
    ] as const) {
      const t = waitSetup();
      const events = history([['ExecutionStarted', 0], ['TaskStateEntered', 1, entered('ValidateInput')], [type, 90, details]]);
      serveHistory(t.sfnMock, events, [events.length]);
      t.sfnMock.on(DescribeExecutionCommand).resolves({ status });
      const result = await startCommand({ train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], wait: true }, t.deps);
      assert.equal(result.exitCode, 1);
      assert.equal(result.status, status);
      assert.match(t.out.text, new RegExp(`${status} after 1m 30s`));
    }
  });

  test('a persistent non-transient history error stops following with a ConfigError', async () => {
    const t = waitSetup();
    t.sfnMock
      .on(GetExecutionHistoryCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: {} }));
    await assert.rejects(
      startCommand({ train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], wait: true }, t.deps),
      (error: Error) => error instanceof ConfigError && /access denied/.test(error.message),
    );
  });
});

describe('registerAwsCommands', () => {
  test('commander parses the flags into startCommand; a failed run sets the exit code', async () => {
    const t = setup();
    t.s3.put('raw/fmnist/train.csv', 'x');
    t.s3.put('raw/fmnist/test.csv', 'x');
    serveHistory(t.sfnMock, FAILURE, [FAILURE.length]);
    t.sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'ConfigError' });
    const program = registerAwsCommands(new Command('fmnist').exitOverride(), t.deps);
    const previous = process.exitCode;
    try {
      await program.parseAsync(
        ['start', '--train', 'raw/fmnist/train.csv', '--test', 'raw/fmnist/test.csv', '--epochs', '4', '--batch-size', '32', '--train-on', 'lambda', '--wait'],
        { from: 'user' },
      );
      assert.equal(process.exitCode, 1);
    } finally {
      process.exitCode = previous;
    }
    const { input } = startInput(t.sfnMock);
    assert.deepEqual(input.config, { epochs: 4, batchSize: 32 });
    assert.equal(input.trainOn, 'lambda');
  });

  test('commander rejects bad choices and numbers before any AWS call', async () => {
    for (const args of [
      ['start', '--train-on', 'gpu'],
      ['start', '--epochs', 'ten'],
      ['status', '--limit', '0'],
    ]) {
      const t = setup();
      const program = registerAwsCommands(new Command('fmnist').exitOverride(), t.deps);
      program.configureOutput({ writeErr: () => {} });
      for (const command of program.commands) command.exitOverride().configureOutput({ writeErr: () => {} });
      await assert.rejects(program.parseAsync(args, { from: 'user' }), /invalid|Allowed choices/i);
      assert.equal(t.awsCalls(), 0);
    }
  });
});
