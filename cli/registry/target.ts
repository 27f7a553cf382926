import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { awsCall, clientConfig, cloudFormationClient, regionOfArn, s3ClientFor, sfnClient, type AwsCommandDeps, type AwsConnectionFlags } from '../deployed/clients.ts';
import { withConnectionOptions } from '../deployed/register.ts';
import { resolveTargets } from '../deployed/stack.ts';
import { DEFAULT_LOCAL_STATE_DIR, startLocalS3 } from '../local/local-s3.ts';

/**
 * Where the registry commands (`fmnist models ...`, `fmnist runs ...`) read and write: the local
 * bucket in a state directory (the default, like `run` and `resume`), or with --aws the deployed
 * stack's data bucket (found like `start`/`status` find it). Both are an S3 client and a bucket,
 * so every command is one piece of code over S3 whichever it is.
 */
export interface RegistryFlags extends AwsConnectionFlags {
  aws?: boolean;
  stateDir?: string;
  json?: boolean;
}

export interface RegistryDeps extends AwsCommandDeps {
  events?: EventBridgeClient;
}

export interface RegistryTarget {
  kind: 'local' | 'aws';
  s3: S3Client;
  bucket: string;
  /** For messages: "the local bucket at <dir>" or "s3://<bucket>". */
  where: string;
  /** Local: the state directory (run notes live there). */
  stateDir?: string;
  /** --aws: the state machine the stack runs (approvals answer its task tokens). */
  stateMachineArn?: string;
  /** --aws: a Step Functions client in the state machine's region. */
  sfn?: () => SFNClient;
  /** --aws: EventBridge in the state machine's region (the registry's events go on its default bus). */
  events?: () => EventBridgeClient;
  close(): Promise<void>;
}

/** The connection flags that mean nothing without --aws, as typed and as spelt. */
const AWS_ONLY: [keyof RegistryFlags, string][] = [
  ['stack', '--stack'],
  ['stateMachineArn', '--state-machine-arn'],
  ['bucket', '--bucket'],
  ['region', '--region'],
  ['profile', '--profile'],
];

/** Adds --state-dir, --aws, the connection flags and --json to a registry command. */
export function withRegistryOptions(command: Command): Command {
  return withConnectionOptions(
    command
      .option('--state-dir <dir>', `local: the state directory of the local bucket (default ${DEFAULT_LOCAL_STATE_DIR})`)
      .option('--aws', 'the deployed stack\'s bucket instead of the local one')
      .option('--json', 'print one JSON document on stdout (messages go to stderr)'),
  );
}

export async function openRegistry(flags: RegistryFlags, deps: RegistryDeps = {}): Promise<RegistryTarget> {
  if (flags.aws) {
    if (flags.stateDir !== undefined) throw new ConfigError('--state-dir is for the local bucket: drop it, or drop --aws');
    const targets = await awsCall('reading the stack outputs', () =>
      resolveTargets(flags, () => cloudFormationClient(flags, deps), { bucket: 'required', env: deps.env }),
    );
    const bucket = targets.bucket!;
    return {
      kind: 'aws',
      s3: s3ClientFor(flags, deps, targets.stateMachineArn),
      bucket,
      where: `s3://${bucket}`,
      stateMachineArn: targets.stateMachineArn,
      sfn: () => sfnClient(flags, deps, targets.stateMachineArn),
      events: () => deps.events ?? new EventBridgeClient(clientConfig(flags, regionOfArn(targets.stateMachineArn))),
      close: async () => {},
    };
  }
  const awsOnly = AWS_ONLY.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (awsOnly.length > 0) throw new ConfigError(`${awsOnly.join(', ')}: for the deployed stack; add --aws`);
  const stateDir = resolve(flags.stateDir ?? DEFAULT_LOCAL_STATE_DIR);
  if (!existsSync(stateDir)) {
    throw new ConfigError(`no local bucket at ${stateDir}: run \`fmnist run\` first, or pass the --state-dir your runs used (--fresh runs keep nothing)`);
  }
  const local = await startLocalS3({ directory: stateDir });
  return { kind: 'local', s3: local.client, bucket: local.bucket, where: `the local bucket at ${stateDir}`, stateDir, close: () => local.stop() };
}

/** Opens the target, runs `task` on it, and always closes it (the local S3 server stops). */
export async function withRegistry<T>(flags: RegistryFlags, deps: RegistryDeps, task: (target: RegistryTarget) => Promise<T>): Promise<T> {
  const target = await openRegistry(flags, deps);
  try {
    return await task(target);
  } finally {
    await target.close();
  }
}
