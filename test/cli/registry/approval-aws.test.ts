import assert from 'node:assert/strict';
import { hostname, userInfo } from 'node:os';
import { describe, test } from 'node:test';
import { InvalidToken, SendTaskSuccessCommand, SFNClient, SFNServiceException, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { addApprovalCommands } from '../../../cli/registry/approval-commands.ts';
import { whoAmI } from '../../../cli/registry/who.ts';
import { ConfigError } from '../../../lib/errors.ts';
import type { ApprovalRequest } from '../../../lib/workflow/registry/approval-request.ts';
import { FakeS3 } from '../../support/fake-s3.ts';
import { Sink } from '../../support/sink.ts';

/**
 * `fmnist models approve|reject <runId> --aws` against mocked AWS: the request read from the
 * bucket, SendTaskSuccess sent with its task token and the Approval as the state's output, and
 * Step Functions' answers for a token that no longer waits turned into a user-facing error.
 */
const BUCKET = 'fmnist-data-bucket';
const REGION = 'eu-west-1';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;
const RUN = '20261203T070000Z-abc123';
const TOKEN = `AQ${'t'.repeat(300)}`;
const TEST_SET = 'ab'.repeat(32);
const NOW = new Date('2026-12-03T08:00:00.000Z');

const REQUEST: ApprovalRequest = {
  runId: RUN,
  testSetId: TEST_SET,
  executionName: RUN,
  taskToken: TOKEN,
  requestedAt: '2026-12-03T07:30:00.000Z',
  expiresAt: '2026-12-04T07:30:00.000Z',
  accuracy: 0.9123,
  macroF1: 0.9001,
  reportPrefix: `runs/${RUN}/report/`,
};

function setup(request: ApprovalRequest | null = REQUEST) {
  const s3 = new FakeS3(BUCKET);
  if (request) s3.objects.set(`models/approvals/${request.runId}.json`, Buffer.from(JSON.stringify(request)));
  const sfn = new SFNClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sfnMock = mockClient(sfn);
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  const out = new Sink();
  const log = new Sink();
  const program = new Command('fmnist').exitOverride();
  addApprovalCommands(program.command('models'), { s3: s3.client, sfn, out, log, env: {}, now: () => NOW });
  const run = (...args: string[]) =>
    program.parseAsync(['models', ...args, '--aws', '--state-machine-arn', STATE_MACHINE, '--bucket', BUCKET], { from: 'user' });
  return { s3, sfnMock, out, log, run };
}

const sent = (sfnMock: ReturnType<typeof setup>['sfnMock']) => sfnMock.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input);

const rejectsConfig = (promise: Promise<unknown>, message: RegExp) =>
  assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });

describe('fmnist models approve/reject --aws', () => {
  test('approve: SendTaskSuccess with the request\'s token and the Approval as output; --json prints it', async () => {
    const { sfnMock, out, log, run } = setup();
    await run('approve', RUN, '--reason', 'better on sandals', '--json');
    const by = `${userInfo().username}@${hostname()}`;
    const approval = { decision: 'approved', by, at: NOW.toISOString(), reason: 'better on sandals' };
    assert.deepEqual(sent(sfnMock), [{ taskToken: TOKEN, output: JSON.stringify(approval) }]);
    assert.deepEqual(JSON.parse(out.text), { runId: RUN, ...approval });
    assert.match(log.text, new RegExp(`run ${RUN} \\(test accuracy 91\\.23 %, macro F1 0\\.9001\\): approved by ${by.replace(/[.]/g, '\\.')}`));
    assert.match(log.text, /goes on to Promote, which makes it the champion of test split a[b]{1}(ab){31}/);
  });

  test('reject: decision "rejected", an empty reason without --reason; the message says it is registered, not promoted', async () => {
    const { sfnMock, out, run } = setup();
    await run('reject', RUN);
    const [input] = sent(sfnMock);
    assert.equal(input.taskToken, TOKEN);
    assert.deepEqual(JSON.parse(input.output!), { decision: 'rejected', by: whoAmI(), at: NOW.toISOString(), reason: '' });
    assert.match(out.text, /rejected by .*\n.*registers it without promoting it/);
  });

  test('a token Step Functions no longer waits on (TaskTimedOut, InvalidToken) is "no longer waiting"', async () => {
    for (const error of [
      new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }),
      new InvalidToken({ message: 'Invalid Token', $metadata: {} }),
    ]) {
      const { sfnMock, run } = setup();
      sfnMock.on(SendTaskSuccessCommand).rejects(error);
      await rejectsConfig(run('approve', RUN), new RegExp(`run ${RUN} is no longer waiting \\(answered already, timed out or stopped\\): ${error.name}`));
    }
  });

  test('other Step Functions errors are explained, not mistaken for an answered run', async () => {
    const { sfnMock, run } = setup();
    sfnMock.on(SendTaskSuccessCommand).rejects(
      new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized to perform: states:SendTaskSuccess', $metadata: {} }),
    );
    await rejectsConfig(run('approve', RUN), /SendTaskSuccess\): access denied/);
  });

  test('no request: "not waiting for approval", naming where it looked; nothing sent', async () => {
    const { sfnMock, run } = setup(null);
    await rejectsConfig(run('approve', RUN), new RegExp(`run ${RUN} is not waiting for approval \\(no request at s3://${BUCKET}/models/approvals/${RUN}\\.json\\)`));
    assert.equal(sent(sfnMock).length, 0);
  });

  test('a request past its expiresAt is refused as expired; nothing sent', async () => {
    const { sfnMock, run } = setup({ ...REQUEST, expiresAt: '2026-12-03T07:59:59.000Z' });
    await rejectsConfig(run('reject', RUN), /approval request expired at 2026-12-03T07:59:59\.000Z/);
    assert.equal(sent(sfnMock).length, 0);
  });

  test('a bad run id, an over-long reason and a malformed request are refused before anything is sent', async () => {
    const { sfnMock, run } = setup();
    await rejectsConfig(run('approve', '../etc'), /runId: 1-80 letters/);
    await rejectsConfig(run('approve', RUN, '--reason', 'x'.repeat(4097)), /reason: at most 4096 characters/);
    const broken = setup({ ...REQUEST, taskToken: '' });
    await rejectsConfig(broken.run('approve', RUN), /models\/approvals\/.*taskToken/);
    assert.equal(sent(sfnMock).length + sent(broken.sfnMock).length, 0);
  });
});
