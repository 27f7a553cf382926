import { afterEach, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { AccessDeniedException, ECSClient, InvalidParameterException, StopTaskCommand } from '@aws-sdk/client-ecs';
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { CLUSTER_ENV, createStopTrainingHandler } from '../../functions/stop-training/handler.ts';
import { ConfigError } from '../../lib/errors.ts';

const ACCOUNT = '123456789012';
const CLUSTER = `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/fmnist-training`;
const EXECUTION = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:FashionMnistTraining:run-42`;
const task = (id: string, cluster = 'fmnist-training', account = ACCOUNT) => `arn:aws:ecs:eu-west-1:${account}:task/${cluster}/${id}`;

const statusChange = (status: string, executionArn = EXECUTION) => ({
  version: '0',
  id: 'b5a3f0c2-0000-4000-8000-000000000000',
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  account: ACCOUNT,
  time: '2026-11-29T14:05:12Z',
  region: 'eu-west-1',
  resources: [executionArn],
  detail: { executionArn, stateMachineArn: `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:FashionMnistTraining`, name: 'run-42', status },
});

let nextId = 1;
const submitted = (resourceType: string, output: unknown): HistoryEvent => ({
  id: nextId++,
  timestamp: new Date(),
  type: 'TaskSubmitted',
  taskSubmittedEventDetails: {
    resourceType,
    resource: resourceType === 'ecs' ? 'runTask.waitForTaskToken' : 'invoke',
    output: typeof output === 'string' ? output : JSON.stringify(output),
  },
});
const other = (type: string): HistoryEvent => ({ id: nextId++, timestamp: new Date(), type: type as HistoryEvent['type'] });

describe('stop-training handler', () => {
  const sfn = new SFNClient({ region: 'eu-west-1' });
  const ecs = new ECSClient({ region: 'eu-west-1' });
  const sfnMock = mockClient(sfn);
  const ecsMock = mockClient(ecs);
  const logged: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  for (const level of ['info', 'warn', 'error'] as const) {
    (logger as unknown as Record<string, unknown>)[level] = (message: string, extra: Record<string, unknown> = {}) => logged.push({ level, message, extra });
  }
  const stopTraining = createStopTrainingHandler({ sfn, ecs, logger, clusterArn: CLUSTER });
  const stopCalls = () => ecsMock.commandCalls(StopTaskCommand).map((call) => call.args[0].input);

  afterEach(() => {
    sfnMock.reset();
    ecsMock.reset();
    logged.length = 0;
  });
  after(() => {
    sfnMock.restore();
    ecsMock.restore();
  });

  test("stops every ECS task the execution started, across history pages, in either output's casing", async () => {
    sfnMock
      .on(GetExecutionHistoryCommand, { executionArn: EXECUTION })
      .resolvesOnce({
        events: [other('ExecutionStarted'), submitted('lambda', { Payload: { Tasks: [{ TaskArn: task('not-a-task') }] } }), submitted('ecs', { Tasks: [{ TaskArn: task('aaa111') }] })],
        nextToken: 'page-2',
      })
      .resolvesOnce({ events: [other('TaskFailed'), submitted('ecs', { tasks: [{ taskArn: task('bbb222') }], failures: [] }), other('ExecutionFailed')] });
    const result = await stopTraining(statusChange('FAILED'));
    assert.deepEqual(result, { executionArn: EXECUTION, status: 'FAILED', stopped: [task('aaa111'), task('bbb222')], gone: [], skipped: [] });
    const reason = `Step Functions execution ${EXECUTION} ended FAILED`;
    assert.deepEqual(stopCalls(), [
      { cluster: CLUSTER, task: task('aaa111'), reason },
      { cluster: CLUSTER, task: task('bbb222'), reason },
    ]);
    const requests = sfnMock.commandCalls(GetExecutionHistoryCommand).map((call) => call.args[0].input);
    assert.equal(requests.length, 2);
    assert.equal(requests[1].nextToken, 'page-2');
    assert.equal(requests[0].includeExecutionData, true, 'the TaskSubmitted output is needed');
  });

  for (const status of ['TIMED_OUT', 'ABORTED']) {
    test(`acts on ${status} too`, async () => {
      sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [submitted('ecs', { Tasks: [{ TaskArn: task('ccc333') }] })] });
      const result = await stopTraining(statusChange(status));
      assert.deepEqual(result?.stopped, [task('ccc333')]);
      assert.match(stopCalls()[0].reason!, new RegExp(`ended ${status}$`));
    });
  }

  test('ignores other statuses without reading anything', async () => {
    for (const status of ['SUCCEEDED', 'RUNNING', 'PENDING_REDRIVE']) {
      assert.equal(await stopTraining(statusChange(status)), undefined);
    }
    assert.equal(sfnMock.calls().length, 0);
    assert.equal(ecsMock.calls().length, 0);
  });

  test('leaves tasks of other clusters, accounts and unknown shapes alone, and logs them', async () => {
    const foreign = [task('ddd444', 'other-cluster'), task('eee555', 'fmnist-training', '999999999999'), 'arn:aws:ecs:eu-west-1:123456789012:task/fff666'];
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [submitted('ecs', { Tasks: foreign.map((TaskArn) => ({ TaskArn })) }), submitted('ecs', { Tasks: [{ TaskArn: task('ggg777') }] })],
    });
    const result = await stopTraining(statusChange('FAILED'));
    assert.deepEqual(result?.skipped, foreign);
    assert.deepEqual(result?.stopped, [task('ggg777')]);
    assert.deepEqual(stopCalls().map((call) => call.task), [task('ggg777')]);
    assert.deepEqual(
      logged.filter((entry) => entry.level === 'warn').map((entry) => entry.extra.taskArn),
      foreign,
    );
  });

  test('a task already gone is fine, and a second delivery of the event does the same again without error', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [submitted('ecs', { Tasks: [{ TaskArn: task('hhh888') }, { TaskArn: task('iii999') }] })] });
    ecsMock
      .on(StopTaskCommand, { task: task('hhh888') })
      .rejects(new InvalidParameterException({ message: 'The referenced task was not found.', $metadata: {} }))
      .on(StopTaskCommand, { task: task('iii999') })
      .resolves({ task: { taskArn: task('iii999'), lastStatus: 'STOPPED' } });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const result = await stopTraining(statusChange('TIMED_OUT'));
      assert.deepEqual(result?.gone, [task('hhh888')]);
      assert.deepEqual(result?.stopped, [task('iii999')]);
    }
    assert.equal(stopCalls().length, 4);
  });

  test('the same task submitted twice is stopped once; output that names no task is logged and skipped', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        submitted('ecs', { Tasks: [{ TaskArn: task('jjj000') }] }),
        submitted('ecs', { Tasks: [{ TaskArn: task('jjj000') }] }),
        submitted('ecs', '{not json'),
        submitted('ecs', { Failures: [{ Reason: 'RESOURCE:MEMORY' }] }),
      ],
    });
    const result = await stopTraining(statusChange('FAILED'));
    assert.deepEqual(result?.stopped, [task('jjj000')]);
    assert.equal(stopCalls().length, 1);
    assert.equal(logged.filter((entry) => entry.message === 'TaskSubmitted output names no task').length, 2);
  });

  test('an execution that never used Fargate stops nothing', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [other('ExecutionStarted'), submitted('lambda', { Payload: {} }), other('ExecutionFailed')] });
    assert.deepEqual(await stopTraining(statusChange('FAILED')), { executionArn: EXECUTION, status: 'FAILED', stopped: [], gone: [], skipped: [] });
    assert.equal(ecsMock.calls().length, 0);
  });

  test('other StopTask errors: every task is still tried, then the invocation fails naming the task', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [submitted('ecs', { Tasks: [{ TaskArn: task('kkk111') }, { TaskArn: task('lll222') }] })] });
    ecsMock
      .on(StopTaskCommand, { task: task('kkk111') })
      .rejects(new AccessDeniedException({ message: 'not authorized to perform ecs:StopTask', $metadata: {} }))
      .on(StopTaskCommand, { task: task('lll222') })
      .resolves({});
    await assert.rejects(stopTraining(statusChange('ABORTED')), new RegExp(`${task('kkk111')}: AccessDeniedException: not authorized`));
    assert.deepEqual(stopCalls().map((call) => call.task), [task('kkk111'), task('lll222')]);
  });

  test('a malformed event is a ConfigError naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...statusChange('FAILED'), source: 'aws.ecs' }, /source:/],
      [{ ...statusChange('FAILED'), detail: { status: 'FAILED' } }, /detail\.executionArn:/],
      [statusChange('FAILED', 'arn:aws:ecs:eu-west-1:123456789012:task/x/y'), /detail\.executionArn: must be a Step Functions execution ARN/],
      [{ ...statusChange('FAILED'), detail: { executionArn: EXECUTION } }, /detail\.status:/],
      ['{}', /\(event\):/],
    ];
    for (const [event, expected] of cases) {
      await assert.rejects(stopTraining(event), (error: unknown) => error instanceof ConfigError && expected.test(error.message));
    }
    assert.equal(sfnMock.calls().length, 0);
  });

  test(`${CLUSTER_ENV} must be set to an ECS cluster ARN`, async () => {
    const saved = process.env[CLUSTER_ENV];
    try {
      delete process.env[CLUSTER_ENV];
      const fromEnv = createStopTrainingHandler({ sfn, ecs, logger });
      await assert.rejects(fromEnv(statusChange('FAILED')), (error: unknown) => error instanceof ConfigError && error.message === `${CLUSTER_ENV} is not set`);
      process.env[CLUSTER_ENV] = 'fmnist-training';
      await assert.rejects(fromEnv(statusChange('FAILED')), (error: unknown) => error instanceof ConfigError && error.message.startsWith(`${CLUSTER_ENV}: "fmnist-training" is not an ECS cluster ARN`));
      process.env[CLUSTER_ENV] = CLUSTER;
      sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [submitted('ecs', { Tasks: [{ TaskArn: task('mmm333') }] })] });
      assert.deepEqual((await fromEnv(statusChange('FAILED')))?.stopped, [task('mmm333')]);
    } finally {
      if (saved === undefined) delete process.env[CLUSTER_ENV];
      else process.env[CLUSTER_ENV] = saved;
    }
  });
});
