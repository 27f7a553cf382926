import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { runCommand } from '../../cli/commands.ts';
import { registerAwsCommands } from '../../cli/deployed/index.ts';
import { ConfigError } from '../../lib/errors.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { Sink } from '../support/sink.ts';

/** `--approval` of `fmnist start` (into the execution input) and `fmnist run` (refused with --fresh). */
const BUCKET = 'fmnist-data-bucket';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TrainingWorkflow';

function startProgram() {
  const s3 = new FakeS3(BUCKET);
  s3.objects.set('raw/a/train.csv', Buffer.from('x'));
  s3.objects.set('raw/a/test.csv', Buffer.from('x'));
  const sfn = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sfnMock = mockClient(sfn);
  sfnMock.on(StartExecutionCommand).callsFake((input) => ({ executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() }));
  const program = registerAwsCommands(new Command('fmnist').exitOverride().configureOutput({ writeErr: () => {} }), {
    sfn,
    s3: s3.client,
    out: new Sink(),
    log: new Sink(),
    env: {},
  });
  const start = (...flags: string[]) =>
    program.parseAsync(['start', '--state-machine-arn', STATE_MACHINE, '--bucket', BUCKET, '--train', 'raw/a/train.csv', '--test', 'raw/a/test.csv', ...flags], { from: 'user' });
  const inputs = () => sfnMock.commandCalls(StartExecutionCommand).map((call) => JSON.parse(call.args[0].input.input!));
  return { start, inputs };
}

describe('--approval', () => {
  test('start --approval manual puts approval "manual" in the execution input; without it the input leaves the stack default', async () => {
    const { start, inputs } = startProgram();
    await start('--approval', 'manual');
    await start();
    const [manual, unset] = inputs();
    assert.equal(manual.approval, 'manual');
    assert.equal('approval' in unset, false);
  });

  test('start --approval with another value is refused by the option itself; nothing starts', async () => {
    const { start, inputs } = startProgram();
    await assert.rejects(start('--approval', 'sometimes'), /argument 'sometimes' is invalid\. Allowed choices are auto, manual/);
    assert.equal(inputs().length, 0);
  });

  test('run --approval manual --fresh is refused before any work (nobody could find the run to answer it)', async () => {
    await assert.rejects(runCommand({ train: ['no-such-file.csv'], test: ['no-such-file.csv'], approval: 'manual', fresh: true }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /--approval manual .* drop --fresh/);
      return true;
    });
  });
});

describe('--data-checks', () => {
  test('start --data-checks fail puts dataChecks "fail" in the execution input; without it the input leaves the stack default', async () => {
    const { start, inputs } = startProgram();
    await start('--data-checks', 'fail');
    await start();
    const [fail, unset] = inputs();
    assert.equal(fail.dataChecks, 'fail');
    assert.equal('dataChecks' in unset, false);
  });

  test('start --data-checks with another value is refused by the option itself; nothing starts', async () => {
    const { start, inputs } = startProgram();
    await assert.rejects(start('--data-checks', 'strict'), /argument 'strict' is invalid\. Allowed choices are warn, fail/);
    assert.equal(inputs().length, 0);
  });
});
