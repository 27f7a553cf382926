import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { registerRunsCommands } from '../../../cli/registry/runs-commands.ts';
import type { RegistryDeps } from '../../../cli/registry/target.ts';
import { FakeS3 } from '../../support/fake-s3.ts';
import { Sink } from '../../support/sink.ts';
import type { Objects } from './runs-fixtures.ts';

export const BUCKET = 'fmnist-data-bucket';
const REGION = 'eu-west-1';
export const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;

/** Deps whose output is kept: stdout in `out`, stderr in `log`. */
export function sinks(): { out: Sink; log: Sink } {
  return { out: new Sink(), log: new Sink() };
}

/** The deployed stack, mocked: DescribeStacks names the state machine and the bucket, an in-memory S3 holds `objects`. */
export function deployedStack(objects: Objects) {
  const cfn = new CloudFormationClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const cfnMock = mockClient(cfn);
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'FashionMnist',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2026-12-01T00:00:00Z'),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          { OutputKey: 'DataBucketName', OutputValue: BUCKET },
        ],
      },
    ],
  });
  const s3 = new FakeS3(BUCKET);
  for (const [key, body] of objects) s3.put(key, body);
  const streams = sinks();
  const deps: RegistryDeps = { cfn, s3: s3.client, env: {}, ...streams };
  return { cfnMock, s3, deps, ...streams };
}

/** `fmnist <args>` through commander, as bin/fmnist.ts parses it (errors thrown, not exiting). */
export async function fmnist(args: string[], deps: RegistryDeps): Promise<void> {
  const program = new Command('fmnist').exitOverride();
  registerRunsCommands(program, deps);
  await program.parseAsync(args, { from: 'user' });
}
