import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { causeMessage } from '../../../cli/local/progress.ts';
import { type LocalRunOptions, type LocalRunResult, runWorkflowLocally } from '../../../cli/local/runner.ts';
import type { Template } from '../../../cli/local/cloud/template.ts';
import { cloudTemplate } from '../../support/cloud-template.ts';

/**
 * Step Functions' rules in the local runtime, each shown failing as AWS fails: small state
 * machines over fixture functions and a fixture Fargate container (test/fixtures/local/), run
 * with time scaled by 0.01 (a 60-second timeout is 0.6 s).
 */
let dir: string;
let files: { train: string[]; test: string[] };
let runs = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-states-'));
  await writeFile(join(dir, 'train.csv'), 'label\n');
  await writeFile(join(dir, 'test.csv'), 'label\n');
  files = { train: [join(dir, 'train.csv')], test: [join(dir, 'test.csv')] };
});
after(() => rm(dir, { recursive: true, force: true }));

async function run(template: Template, options: Partial<LocalRunOptions> = {}): Promise<LocalRunResult> {
  return runWorkflowLocally({
    ...files,
    outDir: join(dir, `out-${++runs}`),
    template,
    timeScale: 0.01,
    progress: false,
    ...options,
  });
}

const task = (resource: string, extra: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: resource, End: true, ...extra });
const types = (result: LocalRunResult, type: string) => result.events.filter((event) => event.type === type).map((event) => event.state?.name);

describe('Task states', () => {
  test("TimeoutSeconds: a task still running fails with States.Timeout; the Lambda's own Timeout: Sandbox.Timedout", async () => {
    const template = cloudTemplate({
      functions: [
        { id: 'Sleeper', handler: 'sleep' },
        { id: 'Brief', handler: 'sleep', timeout: 60 },
      ],
      definition: {
        StartAt: 'First',
        States: {
          First: task('${Sleeper}', { Parameters: { ms: 5000 }, TimeoutSeconds: 60, End: undefined, Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Second' }] }),
          Second: task('${Brief}', { Parameters: { ms: 5000 }, TimeoutSeconds: 600 }),
        },
      },
    });
    const result = await run(template);
    assert.equal(result.status, 'FAILED');
    const failed = result.events.filter((event) => event.type === 'StateFailed');
    assert.deepEqual(
      failed.map((event) => [event.state?.name, event.Error]),
      [
        ['First', 'States.Timeout'],
        ['Second', 'Sandbox.Timedout'],
      ],
    );
    assert.match(String(failed[0].Cause), /First did not finish within its TimeoutSeconds \(60 s, scaled to 0\.600 s\)/);
    assert.match(causeMessage(result.cause), /Task timed out after 0\.60 seconds/);
  });

  test('a result over 256 KiB fails the execution with States.DataLimitExceeded; Catch States.ALL does not apply', async () => {
    const template = cloudTemplate({
      functions: [{ id: 'Big', handler: 'big' }],
      definition: {
        StartAt: 'Huge',
        States: {
          Huge: task('${Big}', { Parameters: { bytes: 300_000 }, End: undefined, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], Next: 'Done' }),
          Caught: { Type: 'Pass', End: true },
          Done: { Type: 'Succeed' },
        },
      },
    });
    const result = await run(template);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'States.DataLimitExceeded');
    assert.match(String(result.cause), /the result of Huge is 300002 bytes, over the 262144-byte limit/);
    assert.deepEqual(types(result, 'StateCaught'), []);
  });

  test('a state output that grows over 256 KiB through ResultPath fails the same way', async () => {
    const template = cloudTemplate({
      functions: [{ id: 'Big', handler: 'big' }],
      definition: {
        StartAt: 'A',
        States: {
          A: task('${Big}', { Parameters: { bytes: 150_000 }, ResultPath: '$.a', End: undefined, Next: 'B' }),
          B: task('${Big}', { Parameters: { bytes: 150_000 }, ResultPath: '$.b' }),
        },
      },
    });
    const result = await run(template);
    assert.equal(result.error, 'States.DataLimitExceeded');
    assert.match(String(result.cause), /the output of state B is \d+ bytes/);
    assert.deepEqual(types(result, 'StateExited'), ['A', 'B'], 'B finished; its output was refused');
  });

  test("the state machine's role must be allowed to invoke the function: Lambda.AWSLambdaException naming the action", async () => {
    const template = cloudTemplate({
      functions: [
        { id: 'Allowed', handler: 'echo' },
        { id: 'Forbidden', handler: 'echo' },
      ],
      stateMachineStatements: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': ['Allowed', 'Arn'] } }],
      definition: { StartAt: 'A', States: { A: task('${Allowed}', { End: undefined, Next: 'F' }), F: task('${Forbidden}') } },
    });
    const result = await run(template);
    assert.equal(result.error, 'Lambda.AWSLambdaException');
    assert.match(String(result.cause), /assumed-role\/MachineRole\/.* is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:Forbidden/);
  });
});

describe('ecs:runTask.waitForTaskToken', () => {
  const machineStatements = [
    { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': ['Echo', 'Arn'] } },
    { Effect: 'Allow', Action: 'ecs:RunTask', Resource: { Ref: 'TaskDefinition' } },
    { Effect: 'Allow', Action: 'iam:PassRole', Resource: [{ 'Fn::GetAtt': ['TaskRole', 'Arn'] }, { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] }] },
  ];
  const runTask = (extra: Record<string, unknown> = {}, environment: Record<string, unknown>[] = []) =>
    task('arn:aws:states:::ecs:runTask.waitForTaskToken', {
      Parameters: {
        Cluster: '${Cluster}',
        TaskDefinition: 'TaskDefinition',
        LaunchType: 'FARGATE',
        Overrides: {
          ContainerOverrides: [
            { Name: 'main', Environment: [{ Name: 'SFN_TASK_TOKEN', 'Value.$': '$$.Task.Token' }, { Name: 'MODE', 'Value.$': '$.mode' }, { Name: 'DURATION_MS', 'Value.$': '$.duration' }, ...environment] },
          ],
        },
      },
      // 10 s at this time scale: a container process takes seconds to start here (more on a cold CI machine), unscaled.
      HeartbeatSeconds: 1000,
      TimeoutSeconds: 3600,
      ...extra,
    });
  const template = (definition: Record<string, unknown>, rules?: Parameters<typeof cloudTemplate>[0]['rules']) =>
    cloudTemplate({ functions: [{ id: 'Echo', handler: 'echo' }], task: { environment: { BEAT_MS: '50' } }, stateMachineStatements: machineStatements, definition, rules });

  test('heartbeats keep the state waiting until SendTaskSuccess; the task runs as a container with the task role', async () => {
    const result = await run(template({ StartAt: 'Run', States: { Run: runTask() } }), { input: { mode: 'beat', duration: '1500' } as never });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.ok((result.output as { ranMs: number }).ranMs >= 1500);
    assert.ok(result.heartbeats[0].length >= 5, `heartbeats: ${result.heartbeats[0].length}`);
    assert.deepEqual(result.orphanedTasks, []);
  });

  test('a task that stops sending heartbeats fails the state with States.HeartbeatTimeout, and is left running (reported)', async () => {
    const rules = [{ id: 'OnFailure', pattern: { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['FAILED'] } }, target: 'Echo' }];
    const result = await run(template({ StartAt: 'Run', States: { Run: runTask() } }, rules), { input: { mode: 'silent', duration: '60000' } as never });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'States.HeartbeatTimeout');
    assert.match(String(result.cause), /Run: no SendTaskHeartbeat, SendTaskSuccess or SendTaskFailure for 10\.000 s/);
    assert.equal(result.orphanedTasks.length, 1, 'nothing stopped the container: in AWS it would run on');
    assert.deepEqual(
      result.deliveries.map((delivery) => [delivery.rule, delivery.target, delivery.outcome]),
      [['OnFailure', 'Echo', 'succeeded']],
      "the execution's FAILED status reached the rule that matches it",
    );
  });

  test('container overrides over 8,192 characters: ECS.InvalidParameterException, as RunTask refuses them', async () => {
    const definition = { StartAt: 'Run', States: { Run: runTask({}, [{ Name: 'PADDING', 'Value.$': '$.padding' }]) } };
    const result = await run(template(definition), { input: { mode: 'beat', duration: '100', padding: 'p'.repeat(9000) } as never });
    assert.equal(result.error, 'ECS.InvalidParameterException');
    assert.match(String(result.cause), /Container Overrides length must be at most 8192/);
  });

  test('RunTask that places no task fails with AmazonECS.Unknown, which a Retry naming it retries', async () => {
    const definition = { StartAt: 'Run', States: { Run: runTask({ Retry: [{ ErrorEquals: ['AmazonECS.Unknown'], IntervalSeconds: 1, MaxAttempts: 2 }] }) } };
    const result = await run(template(definition), { input: { mode: 'beat', duration: '200' } as never, faults: { ecsPlacementFailures: 1 } });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    const failed = result.events.filter((event) => event.type === 'StateFailed');
    assert.deepEqual(failed.map((event) => event.Error), ['AmazonECS.Unknown']);
    assert.match(String(failed[0].Cause), /RESOURCE:FARGATE/);
    assert.deepEqual(types(result, 'StateRetried'), ['Run']);

    const unretried = await run(template({ StartAt: 'Run', States: { Run: runTask() } }), { input: { mode: 'beat', duration: '200' } as never, faults: { ecsPlacementFailures: 1 } });
    assert.equal(unretried.error, 'AmazonECS.Unknown', 'without the Retry the execution fails');
  });
});
