import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ADMIN_ACCESS_KEY } from '../../../cli/local/cloud/credentials.ts';
import { runWorkflowLocally } from '../../../cli/local/runner.ts';
import type { LambdaDouble } from '../../../cli/local/states/integrations.ts';
import { cloudTemplate } from '../../support/cloud-template.ts';

/**
 * Task states inside a Map's iterations get everything a top-level Task gets in the local cloud
 * (cli/local/states/integrations.ts): TimeoutSeconds (scaled), IAM on lambda:InvokeFunction, the
 * Lambda service running the function, task tokens; with concurrent iterations of one state, a
 * timeout in one closes only its own token. A failure caught inside an iteration ends it
 * successfully (Catch -> Pass), as the sweep's trials do. Time scaled by 0.01.
 */
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-map-cloud-'));
  await writeFile(join(dir, 'train.csv'), 'label\n');
  await writeFile(join(dir, 'test.csv'), 'label\n');
});
after(() => rm(dir, { recursive: true, force: true }));

test('iterations: Task timeouts, IAM, the Lambda service and task tokens per iteration; caught failures recorded', async () => {
  const recordFailure = { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }] };
  const template = cloudTemplate({
    functions: [
      { id: 'Allowed', handler: 'echo' },
      { id: 'Forbidden', handler: 'echo' },
    ],
    stateMachineStatements: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': ['Allowed', 'Arn'] } }],
    definition: {
      StartAt: 'Sweep',
      States: {
        Sweep: {
          Type: 'Map',
          ItemsPath: '$.trials',
          ItemSelector: { 'kind.$': '$$.Map.Item.Value.kind', 'answer.$': '$$.Map.Item.Value.answer', 'index.$': '$$.Map.Item.Index' },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Route',
            States: {
              Route: {
                Type: 'Choice',
                Choices: [
                  { Variable: '$.kind', StringEquals: 'slow', Next: 'SlowCall' },
                  { Variable: '$.kind', StringEquals: 'forbidden', Next: 'ForbiddenCall' },
                  { And: [{ Variable: '$.kind', StringEquals: 'token' }, { Variable: '$.answer', BooleanEquals: true }], Next: 'Stagger' },
                  { Variable: '$.kind', StringEquals: 'token', Next: 'TokenCall' },
                ],
                Default: 'OkCall',
              },
              SlowCall: { Type: 'Task', Resource: '${Allowed}', TimeoutSeconds: 60, ...recordFailure, Next: 'Done' },
              ForbiddenCall: { Type: 'Task', Resource: '${Forbidden}', ...recordFailure, Next: 'Done' },
              OkCall: { Type: 'Task', Resource: '${Allowed}', Parameters: { 'index.$': '$.index' }, ResultSelector: { 'echoed.$': '$.event.index' }, Next: 'Done' },
              Stagger: { Type: 'Task', Resource: '${Allowed}', ResultPath: null, Next: 'TokenCall' },
              TokenCall: {
                Type: 'Task',
                Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                Parameters: { FunctionName: '${Allowed}', Payload: { 'token.$': '$$.Task.Token', 'answer.$': '$.answer', 'index.$': '$.index' } },
                TimeoutSeconds: 200,
                ...recordFailure,
                Next: 'Done',
              },
              RecordFailure: { Type: 'Pass', Parameters: { 'failed.$': '$.error.Error', 'index.$': '$.index' }, Next: 'Done' },
              Done: { Type: 'Pass', End: true },
            },
          },
          End: true,
        },
      },
    },
  });

  let controlPlane = '';
  const owner = () => new SFNClient({ endpoint: controlPlane, region: 'us-east-1', credentials: ADMIN_ACCESS_KEY, maxAttempts: 1 });
  const doubles: Partial<Record<string, LambdaDouble>> = {
    SlowCall: async () => sleep(1500),
    // The answered iteration's TokenCall starts 1.2 s after the silent one's, whose TimeoutSeconds
    // (2 s here) ends it at 2 s; the answer comes at 2.4 s, while its own state waits until 3.2 s.
    Stagger: async () => sleep(1200),
    TokenCall: async (event) => {
      const { token, answer, index } = event as { token: string; answer: boolean; index: number };
      if (answer) {
        void sleep(1200).then(async () => {
          const client = owner();
          await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ answered: index }) }));
          client.destroy();
        });
      }
      return {};
    },
  };
  const trials = ['slow', 'forbidden', 'ok', 'token', 'token'].map((kind, index) => ({ kind, answer: index === 4 }));
  const result = await runWorkflowLocally({
    train: [join(dir, 'train.csv')],
    test: [join(dir, 'test.csv')],
    outDir: join(dir, 'out'),
    template,
    timeScale: 0.01,
    progress: false,
    mapConcurrency: trials.length,
    input: { trials } as never,
    doubles,
    onCloudReady: (cloud) => {
      controlPlane = cloud.controlPlane;
    },
  });
  assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
  assert.deepEqual(result.output, [
    { failed: 'States.Timeout', index: 0 },
    { failed: 'Lambda.AWSLambdaException', index: 1 },
    { echoed: 2 },
    { failed: 'States.Timeout', index: 3 },
    { answered: 4 },
  ]);
  const forbidden = result.events.find((event) => event.type === 'StateFailed' && event.state?.name === 'ForbiddenCall');
  assert.match(String(forbidden?.Cause), /not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:Forbidden/);
  assert.ok(result.invocations.some((invocation) => invocation.function === 'Allowed'), 'OkCall ran the function in the Lambda service');
  assert.ok(result.adjustments.some((line) => line.startsWith(`Sweep: at most ${trials.length} iterations at once`)), result.adjustments.join('\n'));

  const logged = JSON.parse(await readFile(join(result.outDir, 'execution-events.json'), 'utf8')) as { type: string; index?: number }[];
  assert.deepEqual(
    logged.filter((event) => event.type === 'MapIterationSucceeded').map((event) => event.index).sort(),
    trials.map((_, index) => index),
    'execution-events.json shows every iteration',
  );
});

test('ecs:runTask.waitForTaskToken in concurrent iterations: each task answers its own iteration; a silent one fails only its own, with States.HeartbeatTimeout (caught)', async () => {
  const template = cloudTemplate({
    functions: [{ id: 'Echo', handler: 'echo' }],
    task: { environment: { BEAT_MS: '50' } },
    stateMachineStatements: [
      { Effect: 'Allow', Action: 'ecs:RunTask', Resource: { Ref: 'TaskDefinition' } },
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: [{ 'Fn::GetAtt': ['TaskRole', 'Arn'] }, { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] }] },
    ],
    definition: {
      StartAt: 'Trials',
      States: {
        Trials: {
          Type: 'Map',
          ItemsPath: '$.trials',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Train',
            States: {
              Train: {
                Type: 'Task',
                Resource: 'arn:aws:states:::ecs:runTask.waitForTaskToken',
                Parameters: {
                  Cluster: '${Cluster}',
                  TaskDefinition: 'TaskDefinition',
                  LaunchType: 'FARGATE',
                  Overrides: {
                    ContainerOverrides: [
                      { Name: 'main', Environment: [{ Name: 'SFN_TASK_TOKEN', 'Value.$': '$$.Task.Token' }, { Name: 'MODE', 'Value.$': '$.mode' }, { Name: 'DURATION_MS', 'Value.$': '$.duration' }] },
                    ],
                  },
                },
                // 10 s of heartbeat window at this scale (a container takes seconds to start here, more on a busy machine).
                HeartbeatSeconds: 1000,
                Catch: [{ ErrorEquals: ['States.HeartbeatTimeout'], ResultPath: '$.error', Next: 'RecordFailure' }],
                End: true,
              },
              RecordFailure: { Type: 'Pass', Parameters: { 'failed.$': '$.error.Error' }, End: true },
            },
          },
          End: true,
        },
      },
    },
  });
  const result = await runWorkflowLocally({
    train: [join(dir, 'train.csv')],
    test: [join(dir, 'test.csv')],
    outDir: join(dir, 'out-ecs'),
    template,
    timeScale: 0.01,
    progress: false,
    mapConcurrency: 2,
    input: {
      trials: [
        { mode: 'beat', duration: '800' },
        // Exits at once without a callback: its state waits out the heartbeat window, as in AWS.
        { mode: 'silent', duration: '200' },
      ],
    } as never,
  });
  assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
  const [trained, silent] = result.output as [{ ranMs: number }, { failed: string }];
  assert.ok(trained.ranMs >= 800, JSON.stringify(trained));
  assert.deepEqual(silent, { failed: 'States.HeartbeatTimeout' });
});
