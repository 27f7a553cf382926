import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetExecutionHistoryCommand, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { OWNER_TARGETS } from '../../../cli/local/cloud/control-plane.ts';
import { ADMIN_ACCESS_KEY } from '../../../cli/local/cloud/credentials.ts';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import { StatesError } from '../../../cli/local/states/errors.ts';
import { TASK_OUTPUT_LIMIT, TaskTokens } from '../../../cli/local/states/task-tokens.ts';
import { cloudTemplate } from '../../support/cloud-template.ts';

/**
 * The account owner's key on the local control plane: like an administrator in AWS it may answer
 * a task token (SendTaskSuccess, SendTaskFailure: `fmnist models approve`/`reject` of a local run),
 * with Step Functions' errors for tokens that no longer wait; every other operation stays refused
 * to it. The callbacks are wired as the runner wires them (cli/local/runner.ts execute()).
 */
let cloud: LocalCloud;
let tokens: TaskTokens;
let owner: SFNClient;

before(async () => {
  cloud = await LocalCloud.start({ template: cloudTemplate({ functions: [{ id: 'Echo', handler: 'echo' }] }) });
  tokens = new TaskTokens(cloud.model.stateMachine.arn);
  const operations = tokens.operations(cloud.authorizer);
  Object.assign(cloud.operations, operations);
  for (const target of OWNER_TARGETS) cloud.ownerOperations[target] = operations[target];
  owner = new SFNClient({ endpoint: cloud.control.endpoint, region: 'us-east-1', credentials: ADMIN_ACCESS_KEY, maxAttempts: 1 });
});
after(async () => {
  tokens?.closeAll();
  owner?.destroy();
  await cloud?.stop();
});

/** A token a state is waiting on, and what its wait ends with. */
function waitingToken(state = 'AwaitApproval'): { token: string; answer: Promise<unknown> } {
  const token = tokens.take();
  const answer = tokens.wait(token, state);
  answer.catch(() => undefined);
  return { token, answer };
}

const rejectsWith = (promise: Promise<unknown>, name: string, message?: RegExp) =>
  assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });

describe('the owner key on the local control plane', () => {
  test('may SendTaskSuccess: the waiting state gets the output, parsed; a second answer is TaskTimedOut', async () => {
    const { token, answer } = waitingToken();
    const approval = { decision: 'approved', by: 'me@host', at: '2026-12-03T07:00:00.000Z', reason: 'looks good' };
    await owner.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(approval) }));
    assert.deepEqual(await answer, approval);
    const call = cloud.control.calls.findLast((entry) => entry.target === 'AWSStepFunctions.SendTaskSuccess');
    assert.equal(call?.principal, 'admin');
    assert.equal(call?.error, undefined);
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), 'TaskTimedOut');
  });

  test('may SendTaskFailure: the state fails with its error and cause', async () => {
    const { token, answer } = waitingToken();
    await owner.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'not now' }));
    await assert.rejects(answer, (error: Error) => error instanceof StatesError && error.name === 'Rejected' && error.message === 'not now');
  });

  test('a token the state machine never issued, or a garbled one, is InvalidToken; one whose state timed out is TaskTimedOut', async () => {
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: 'AQnot-a-token', output: '{}' })), 'InvalidToken');
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: 'x'.repeat(2049), output: '{}' })), 'InvalidToken');
    const { token, answer } = waitingToken('Timed');
    tokens.closeState('Timed', new StatesError('States.Timeout', 'Timed: TimeoutSeconds'));
    await assert.rejects(answer, /TimeoutSeconds/);
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), 'TaskTimedOut');
  });

  test("an output over 256 KiB (UTF-8 bytes) is a ValidationException, one that is not JSON InvalidOutput; the state still waits", async () => {
    const { token, answer } = waitingToken();
    // 'é' is two bytes: half as many characters as the limit in bytes, plus one, is over it.
    const tooBig = JSON.stringify('é'.repeat(TASK_OUTPUT_LIMIT / 2));
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: token, output: tooBig })), 'ValidationException', /262144/);
    await rejectsWith(owner.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"decision":' })), 'InvalidOutput');
    const atLimit = JSON.stringify('a'.repeat(TASK_OUTPUT_LIMIT - 2));
    await owner.send(new SendTaskSuccessCommand({ taskToken: token, output: atLimit }));
    assert.equal(((await answer) as string).length, TASK_OUTPUT_LIMIT - 2);
  });

  test('may not call anything else: SendTaskHeartbeat, GetExecutionHistory and ECS are AccessDeniedException', async () => {
    const { token } = waitingToken();
    await rejectsWith(owner.send(new SendTaskHeartbeatCommand({ taskToken: token })), 'AccessDeniedException', /only for AWSStepFunctions\.SendTaskSuccess and AWSStepFunctions\.SendTaskFailure/);
    await rejectsWith(
      owner.send(new GetExecutionHistoryCommand({ executionArn: cloud.model.stateMachine.arn.replace(':stateMachine:', ':execution:') + ':x' })),
      'AccessDeniedException',
    );
    const ecs = new ECSClient({ endpoint: cloud.control.endpoint, region: 'us-east-1', credentials: ADMIN_ACCESS_KEY, maxAttempts: 1 });
    try {
      await rejectsWith(ecs.send(new ListTasksCommand({})), 'AccessDeniedException');
    } finally {
      ecs.destroy();
    }
    assert.deepEqual(tokens.heartbeats(token), [], 'the refused heartbeat was not recorded');
    tokens.close(token);
  });

  test("a role's session is still authorised by its policies (the owner's pass does not extend to roles)", async () => {
    const { token } = waitingToken();
    const echo = cloud.model.functions.find((fn) => fn.logicalId === 'Echo')!;
    const key = cloud.credentials.issue(cloud.callerFor(echo.role, 'echo'));
    const role = new SFNClient({ endpoint: cloud.control.endpoint, region: 'us-east-1', credentials: key, maxAttempts: 1 });
    try {
      await rejectsWith(role.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), 'AccessDeniedException', /states:SendTaskSuccess/);
    } finally {
      role.destroy();
      tokens.close(token);
    }
  });
});
