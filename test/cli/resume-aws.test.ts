import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { registerResumeCommand, resumeOnAws, statusCommand } from '../../cli/deployed/index.ts';
import { runRecordKey } from '../../lib/workflow/layout.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { Sink } from '../support/sink.ts';

/**
 * `fmnist resume <runId> --aws` against mocked Step Functions, CloudFormation and an in-memory
 * bucket: which execution it finds, what it refuses, the exact input of the new execution, the
 * redrive path, and what `fmnist status` says about failed executions.
 */
const BUCKET = 'fmnist-data-bucket';
const REGION = 'eu-west-1';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;
const NOW = new Date('2026-03-01T12:00:00Z');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const arnOf = (name: string) => `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;

const RUN_ID = 'nightly-run';
const FIRST = 'nightly-run-20260301T100000Z-aaaaaa';
const RECORD = {
  runId: RUN_ID,
  executionName: FIRST,
  createdAt: '2026-03-01T10:00:04.000Z',
  input: {
    train: ['raw/uploads/1111111111111111/train.csv'],
    test: ['raw/uploads/2222222222222222/test.csv'],
    limit: 600,
    config: { epochs: 3, batchSize: 64 },
    trainOn: 'fargate',
    promote: 'if-better',
  },
};

interface Execution {
  item: ExecutionListItem;
  described: Partial<DescribeExecutionCommandOutput>;
}

const execution = (name: string, status: ExecutionListItem['status'], startIso: string, input: unknown, extra: Partial<DescribeExecutionCommandOutput> = {}): Execution => ({
  item: { executionArn: arnOf(name), stateMachineArn: STATE_MACHINE, name, status, startDate: new Date(startIso), ...(status === 'RUNNING' ? {} : { stopDate: new Date(startIso) }) },
  described: { executionArn: arnOf(name), name, status, startDate: new Date(startIso), input: JSON.stringify(input), ...extra },
});
const failedFirst = (extra: Partial<DescribeExecutionCommandOutput> = {}) =>
  execution(FIRST, 'FAILED', '2026-03-01T10:00:00Z', { ...RECORD.input, runId: RUN_ID }, {
    error: 'States.TaskFailed',
    cause: 'Fargate task stopped: Essential container in task exited',
    redriveStatus: 'NOT_REDRIVABLE',
    redriveStatusReason: 'Execution is FAILED and the state machine was updated after it started',
    ...extra,
  });

// ---- history fixtures ----------------------------------------------------------------------------
const T0 = NOW.getTime();
function history(spec: [type: string, seconds: number, details?: Partial<HistoryEvent>][], firstId = 1): HistoryEvent[] {
  return spec.map(([type, seconds, details], index) => ({
    id: firstId + index,
    previousEventId: firstId + index - 1,
    type: type as HistoryEvent['type'],
    timestamp: new Date(T0 + seconds * 1000),
    ...details,
  }));
}
const entered = (name: string) => ({ stateEnteredEventDetails: { name, input: '{}' } });
const exited = (name: string) => ({ stateExitedEventDetails: { name, output: '{}' } });
const documentOf = (runId: string) => ({
  plan: { runId },
  training: { runId, modelPrefix: `runs/${runId}/model/` },
  evaluation: { runId, reportPrefix: `runs/${runId}/report/`, accuracy: 0.9, loss: 0.3, macroF1: 0.89, weightedF1: 0.9 },
});
const stateDocument = {
  plan: { runId: RUN_ID },
  dataset: { datasetId: 'ds-1', reused: true },
  training: { runId: RUN_ID, modelPrefix: `runs/${RUN_ID}/model/`, seconds: 120, epochs: 3 },
  evaluation: { runId: RUN_ID, reportPrefix: `runs/${RUN_ID}/report/`, accuracy: 0.8812, loss: 0.33, macroF1: 0.8799, weightedF1: 0.88 },
  promotion: { promoted: false, reason: 'the champion is better' },
};
const lambdaState = (name: string, from: number, to: number): [string, number, Partial<HistoryEvent>?][] => [
  ['TaskStateEntered', from, entered(name)],
  ['LambdaFunctionScheduled', from],
  ['LambdaFunctionSucceeded', to],
  ['TaskStateExited', to, exited(name)],
];
const SUCCESS = history([
  ['ExecutionStarted', 0],
  ...lambdaState('ValidateInput', 0.1, 1),
  ...lambdaState('Ingest', 1, 3),
  ...lambdaState('TrainOnLambda', 3, 100),
  ...lambdaState('Evaluate', 100, 110),
  ...lambdaState('Promote', 110, 111),
  ['ExecutionSucceeded', 111, { executionSucceededEventDetails: { output: JSON.stringify(stateDocument) } }],
]);
/** The failed attempt: its history ends in ExecutionFailed (id 6). */
const FAILED_ATTEMPT = history([
  ['ExecutionStarted', 0],
  ...lambdaState('ValidateInput', 0.1, 1),
  ['TaskStateEntered', 1, entered('TrainOnFargate')],
  ['ExecutionFailed', 50, { executionFailedEventDetails: { error: 'States.TaskFailed', cause: 'container exited' } }],
]);
const AFTER_REDRIVE = history(
  [
    ['ExecutionRedriven', 200, { executionRedrivenEventDetails: { redriveCount: 1 } }],
    ['TaskStateEntered', 200, entered('TrainOnFargate')],
    ['TaskScheduled', 200],
    ['TaskSucceeded', 260],
    ['TaskStateExited', 260, exited('TrainOnFargate')],
    ...lambdaState('Evaluate', 260, 270),
    ...lambdaState('Promote', 270, 271),
    ['ExecutionSucceeded', 271, { executionSucceededEventDetails: { output: JSON.stringify(stateDocument) } }],
  ],
  FAILED_ATTEMPT.length + 1,
);

function serveHistory(sfnMock: ReturnType<typeof setup>['sfnMock'], events: () => HistoryEvent[]) {
  sfnMock.on(GetExecutionHistoryCommand).callsFake((input) => {
    const ordered = input.reverseOrder ? [...events()].reverse() : events();
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const end = start + (input.maxResults || 1000);
    return { events: ordered.slice(start, end), nextToken: end < ordered.length ? String(end) : undefined };
  });
}

function setup(executions: Execution[], options: { record?: object | null; pageSize?: number } = {}) {
  const sfn = new SFNClient({ region: REGION, credentials });
  const cfn = new CloudFormationClient({ region: REGION, credentials });
  const sfnMock = mockClient(sfn);
  const cfnMock = mockClient(cfn);
  const s3 = new FakeS3(BUCKET);
  const out = new Sink();
  const log = new Sink();
  if (options.record !== null) s3.put(runRecordKey(RUN_ID), JSON.stringify(options.record ?? RECORD));
  s3.put(`runs/${RUN_ID}/report/metrics.json`, JSON.stringify({ accuracy: 0.8812 }));
  s3.put(`runs/${RUN_ID}/report/classification_report.txt`, 'report');
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
  const pageSize = options.pageSize ?? 100;
  sfnMock.on(ListExecutionsCommand).callsFake((input) => {
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const end = start + Math.min(pageSize, input.maxResults ?? pageSize);
    return { executions: executions.slice(start, end).map((e) => e.item), nextToken: end < executions.length ? String(end) : undefined };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
    const found = executions.find((e) => e.item.executionArn === input.executionArn);
    if (found) return found.described;
    // The new execution, once followed to its end.
    return { executionArn: input.executionArn, status: 'SUCCEEDED', startDate: NOW, stopDate: NOW, output: JSON.stringify(stateDocument) };
  });
  sfnMock.on(StartExecutionCommand).callsFake((input) => ({ executionArn: arnOf(input.name!), startDate: NOW }));
  const deps = { sfn, cfn, s3: s3.client, out, log, env: {} as NodeJS.ProcessEnv, now: () => NOW, sleep: async () => {} };
  return { sfnMock, cfnMock, s3, out, log, deps };
}

const unrelated = execution('other-20260301T110000Z-bbbbbb', 'FAILED', '2026-03-01T11:00:00Z', { ...RECORD.input, runId: 'other' });
/** Named like one of this run's but started for another run id: must not be taken for it. */
const lookalike = execution('nightly-run-20260301T113000Z-cccccc', 'SUCCEEDED', '2026-03-01T11:30:00Z', { ...RECORD.input, runId: 'nightly-run-2' });
const ancient = execution('nightly-run', 'SUCCEEDED', '2026-02-01T10:00:00Z', {});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-resume-aws-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fmnist resume --aws: a new execution', () => {
  test('starts a new execution with the stored input and resume: true, under a new name, and follows it', async () => {
    const t = setup([lookalike, unrelated, failedFirst(), ancient]);
    serveHistory(t.sfnMock, () => SUCCESS);
    const out = join(dir, 'report');
    const result = await resumeOnAws(RUN_ID, { out, json: true }, t.deps);

    const starts = t.sfnMock.commandCalls(StartExecutionCommand);
    assert.equal(starts.length, 1);
    const { name, input, stateMachineArn } = starts[0].args[0].input;
    assert.equal(stateMachineArn, STATE_MACHINE);
    assert.deepEqual(JSON.parse(input!), { ...RECORD.input, runId: RUN_ID, resume: true });
    assert.match(name!, /^nightly-run-20260301T120000Z-[0-9a-f]{6}$/);
    assert.notEqual(name, FIRST, 'execution names are unique per state machine for 90 days');
    assert.equal(t.sfnMock.commandCalls(RedriveExecutionCommand).length, 0);

    assert.equal(result.action, 'start');
    assert.equal(result.previousExecution?.name, FIRST, 'the run\'s own execution, not the look-alike of another run');
    assert.equal(result.previousExecution?.status, 'FAILED');
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.exitCode, 0);
    assert.deepEqual(result.reportFiles?.sort(), ['classification_report.txt', 'metrics.json']);
    assert.equal(await readFile(join(out, 'classification_report.txt'), 'utf8'), 'report');
    assert.match(t.log.text, /last execution nightly-run-20260301T100000Z-aaaaaa FAILED/);
    assert.match(t.log.text, /✓ TrainOnLambda/);
    assert.match(t.log.text, /test accuracy 88\.12%/);

    const summary = JSON.parse(t.out.text.trim());
    assert.equal(summary.action, 'start');
    assert.equal(summary.runId, RUN_ID);
    assert.equal(summary.executionName, name);
    assert.equal(summary.status, 'SUCCEEDED');
    assert.equal(summary.previousExecution.name, FIRST);
    assert.deepEqual(summary.input, { ...RECORD.input, runId: RUN_ID, resume: true });
    // The listing stopped at the run's creation: the ancient execution was never described.
    assert.ok(!t.sfnMock.commandCalls(DescribeExecutionCommand).some((call) => call.args[0].input.executionArn === ancient.item.executionArn));
  });

  test('--no-wait starts and returns; the newest of the run\'s executions is the one judged', async () => {
    const second = execution('nightly-run-20260301T113500Z-dddddd', 'TIMED_OUT', '2026-03-01T11:35:00Z', { ...RECORD.input, runId: RUN_ID, resume: true });
    const t = setup([second, lookalike, unrelated, failedFirst()]);
    const result = await resumeOnAws(RUN_ID, { wait: false }, t.deps);
    assert.equal(result.previousExecution?.name, second.item.name);
    assert.equal(result.previousExecution?.status, 'TIMED_OUT');
    assert.equal(result.status, 'RUNNING');
    assert.equal(t.sfnMock.commandCalls(GetExecutionHistoryCommand).length, 0);
    assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 1);
  });

  test('the run\'s execution is found on a later page of ListExecutions', async () => {
    const fillers = Array.from({ length: 5 }, (_, i) => execution(`x-${i}`, 'SUCCEEDED', `2026-03-01T11:5${i}:00Z`, { runId: `x-${i}` }));
    const t = setup([...fillers, failedFirst(), ancient], { pageSize: 2 });
    const result = await resumeOnAws(RUN_ID, { wait: false }, t.deps);
    assert.equal(result.previousExecution?.name, FIRST);
    assert.ok(t.sfnMock.commandCalls(ListExecutionsCommand).length >= 3);
  });
});

describe('fmnist resume --aws: redrive', () => {
  test('--redrive redrives a REDRIVABLE execution and follows only what happens after the redrive', async () => {
    const failed = failedFirst({ redriveStatus: 'REDRIVABLE', redriveStatusReason: undefined });
    const t = setup([failed]);
    let redriven = false;
    t.sfnMock.on(RedriveExecutionCommand).callsFake(() => {
      redriven = true;
      failed.described = { ...failed.described, status: 'SUCCEEDED', output: JSON.stringify(stateDocument) };
      return { redriveDate: NOW };
    });
    serveHistory(t.sfnMock, () => (redriven ? [...FAILED_ATTEMPT, ...AFTER_REDRIVE] : FAILED_ATTEMPT));
    const result = await resumeOnAws(RUN_ID, { redrive: true, out: join(dir, 'redriven') }, t.deps);

    const redrives = t.sfnMock.commandCalls(RedriveExecutionCommand);
    assert.equal(redrives.length, 1);
    assert.equal(redrives[0].args[0].input.executionArn, arnOf(FIRST));
    assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 0);
    assert.equal(result.action, 'redrive');
    assert.equal(result.executionName, FIRST);
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.exitCode, 0);
    assert.match(t.out.text, /execution redriven \(redrive 1\)/);
    assert.match(t.out.text, /✓ TrainOnFargate/);
    assert.doesNotMatch(t.out.text, /FAILED after/, 'the old attempt\'s failure is not replayed as the end');
    assert.doesNotMatch(t.out.text, /▶ ValidateInput/, 'events before the redrive are not printed again');
  });

  test('--redrive of an execution that is not redrivable is refused with the reason, and nothing starts', async () => {
    const t = setup([failedFirst()]);
    await assert.rejects(resumeOnAws(RUN_ID, { redrive: true }, t.deps), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /NOT_REDRIVABLE \(Execution is FAILED and the state machine was updated after it started\)/);
      assert.match(error.message, /without --redrive/);
      return true;
    });
    assert.equal(t.sfnMock.commandCalls(RedriveExecutionCommand).length, 0);
    assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 0);
  });
});

describe('fmnist resume --aws: refusals', () => {
  const refusals: [string, () => ReturnType<typeof setup>, RegExp][] = [
    ['a run still running', () => setup([execution(FIRST, 'RUNNING', '2026-03-01T10:00:00Z', { ...RECORD.input, runId: RUN_ID })]), /still running \(execution nightly-run-20260301T100000Z-aaaaaa\)/],
    ['a run being redriven', () => setup([execution(FIRST, 'PENDING_REDRIVE', '2026-03-01T10:00:00Z', { ...RECORD.input, runId: RUN_ID })]), /still being redriven/],
    ['a run that already succeeded', () => setup([execution(FIRST, 'SUCCEEDED', '2026-03-01T10:00:00Z', { ...RECORD.input, runId: RUN_ID })]), /already succeeded .*nothing to resume/],
    ['a run with no run.json', () => setup([failedFirst()], { record: null }), /no run nightly-run in s3:\/\/fmnist-data-bucket\/ .*runs\/nightly-run\/run\.json does not exist/],
    ['a malformed run.json', () => setup([failedFirst()], { record: { runId: RUN_ID } }), /run\.json is not a run record/],
    ['a run with a report and no execution listed any more', () => setup([unrelated]), /has a report .* no execution of it is listed/],
  ];
  for (const [what, make, message] of refusals) {
    test(`refuses ${what}`, async () => {
      const t = make();
      await assert.rejects(resumeOnAws(RUN_ID, {}, t.deps), (error: Error) => {
        assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 0);
      assert.equal(t.sfnMock.commandCalls(RedriveExecutionCommand).length, 0);
    });
  }

  test('a bad run id is refused before any AWS call', async () => {
    const t = setup([]);
    await assert.rejects(resumeOnAws('../etc', {}, t.deps), /runId "\.\.\/etc"/);
    assert.equal(t.sfnMock.calls().length + t.cfnMock.calls().length + t.s3.mock.calls().length, 0);
  });
});

describe('fmnist resume: the command line', () => {
  const parse = async (args: string[], deps = setup([failedFirst()]).deps) => {
    const local: { runId: string; flags: unknown }[] = [];
    const program = registerResumeCommand(new Command('fmnist').exitOverride(), async (runId, flags) => {
      local.push({ runId, flags });
    }, deps);
    await program.parseAsync(['resume', ...args], { from: 'user' });
    return local;
  };

  test('local by default: --state-dir and --out go to the local resume', async () => {
    assert.deepEqual(await parse([RUN_ID, '--state-dir', 's', '--out', 'o']), [{ runId: RUN_ID, flags: { stateDir: 's', out: 'o' } }]);
  });

  test('flags of the deployed workflow without --aws are refused, naming them', async () => {
    await assert.rejects(parse([RUN_ID, '--redrive', '--stack', 'S']), /--redrive, --stack: for a run of the deployed workflow; add --aws/);
    await assert.rejects(parse([RUN_ID, '--no-wait']), /--no-wait: .*add --aws/);
  });

  test('--aws with --state-dir is refused', async () => {
    await assert.rejects(parse([RUN_ID, '--aws', '--state-dir', 's']), /--state-dir is for local runs/);
  });

  test('--aws resumes on the deployed workflow', async () => {
    const t = setup([failedFirst()]);
    const local = await parse([RUN_ID, '--aws', '--no-wait'], t.deps);
    assert.equal(local.length, 0);
    assert.equal(t.sfnMock.commandCalls(StartExecutionCommand).length, 1);
  });
});

describe('fmnist status: how to finish a failed run', () => {
  test('names the resume command of each unfinished run, with --redrive where Step Functions can redrive it', async () => {
    const redrivable = execution('bad-run', 'FAILED', '2026-03-01T11:00:00Z', { runId: 'bad-run' }, { error: 'States.TaskFailed', redriveStatus: 'REDRIVABLE' });
    const retried = execution('flaky-20260301T115000Z-eeeeee', 'SUCCEEDED', '2026-03-01T11:50:00Z', { runId: 'flaky' }, { output: JSON.stringify(documentOf('flaky')) });
    const retriedFailure = execution('flaky', 'FAILED', '2026-03-01T10:50:00Z', { runId: 'flaky' }, { error: 'States.Timeout', redriveStatus: 'REDRIVABLE' });
    const t = setup([retried, redrivable, failedFirst(), retriedFailure]);
    const result = await statusCommand({ stack: 'FashionMnist' }, t.deps);

    const byName = new Map(result.executions.map((row) => [row.name, row]));
    assert.equal(byName.get('bad-run')!.redriveStatus, 'REDRIVABLE');
    assert.equal(byName.get('bad-run')!.resumeCommand, 'fmnist resume bad-run --aws --redrive --stack FashionMnist');
    assert.equal(byName.get(FIRST)!.redriveStatus, 'NOT_REDRIVABLE');
    assert.equal(byName.get(FIRST)!.resumeCommand, `fmnist resume ${RUN_ID} --aws --stack FashionMnist`);
    assert.equal(byName.get('flaky')!.runId, 'flaky');
    assert.equal(byName.get('flaky')!.redriveStatus, 'REDRIVABLE');
    assert.equal(byName.get('flaky')!.resumeCommand, undefined, 'a run that succeeded since needs no resume');
    assert.equal(byName.get(retried.item.name!)!.resumeCommand, undefined);

    assert.match(t.out.text, /to finish a run that did not succeed:/);
    assert.match(t.out.text, /bad-run: fmnist resume bad-run --aws --redrive --stack FashionMnist\n\s+redrivable/);
    assert.match(t.out.text, /not redrivable: Execution is FAILED and the state machine was updated after it started/);
    assert.doesNotMatch(t.out.text, /fmnist resume flaky/);
  });
});
