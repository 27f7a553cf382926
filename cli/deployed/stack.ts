import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ConfigError } from '../../lib/errors.ts';
import { awsCall, parseStateMachineArn, type AwsConnectionFlags } from './clients.ts';

/** bin/app.ts names the stack "FashionMnist" unless deployed with `-c stackName=...`. */
export const DEFAULT_STACK_NAME = 'FashionMnist';
/** Overrides the default stack name (a `--stack` flag wins). */
export const STACK_ENV = 'FMNIST_STACK';
/** The CfnOutputs infra/stack.ts declares. */
export const STACK_OUTPUTS = { bucket: 'DataBucketName', stateMachineArn: 'StateMachineArn' } as const;

export interface AwsTargets {
  stateMachineArn: string;
  /** Undefined only when the caller said the bucket is optional and none was given. */
  bucket?: string;
  /** The stack the values came from, when one was read. */
  stackName?: string;
}

export interface ResolveOptions {
  /** "required": look the bucket up when not given; "optional": only if the stack is read anyway. */
  bucket: 'required' | 'optional';
  env?: NodeJS.ProcessEnv;
}

export function stackNameFrom(flags: AwsConnectionFlags, env: NodeJS.ProcessEnv = process.env): string {
  return flags.stack ?? (env[STACK_ENV] || undefined) ?? DEFAULT_STACK_NAME;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Checks the flags that need no AWS call: the ARN's shape, the bucket name's. */
export function validateConnectionFlags(flags: AwsConnectionFlags): void {
  if (flags.stateMachineArn !== undefined) parseStateMachineArn(flags.stateMachineArn);
  if (flags.bucket !== undefined && !BUCKET_NAME.test(flags.bucket)) {
    throw new ConfigError(`--bucket "${flags.bucket}" is not an S3 bucket name (give the name, not an s3:// URL)`);
  }
  if (flags.stack !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(flags.stack)) {
    throw new ConfigError(`--stack "${flags.stack}" is not a CloudFormation stack name`);
  }
}

/**
 * The state machine and data bucket to use: `--state-machine-arn` / `--bucket` as given, anything
 * missing from the deployed stack's outputs (CloudFormation DescribeStacks).
 */
export async function resolveTargets(
  flags: AwsConnectionFlags,
  getCfn: () => CloudFormationClient,
  options: ResolveOptions,
): Promise<AwsTargets> {
  validateConnectionFlags(flags);
  const needStack = flags.stateMachineArn === undefined || (flags.bucket === undefined && options.bucket === 'required');
  if (!needStack) return { stateMachineArn: flags.stateMachineArn!, bucket: flags.bucket };
  const stackName = stackNameFrom(flags, options.env);
  const outputs = await stackOutputs(getCfn(), stackName);
  const fromStack = (key: string) => {
    const value = outputs.get(key);
    if (!value) {
      throw new ConfigError(
        `stack "${stackName}" has no output ${key}: is it the fmnist stack (bin/app.ts), and fully deployed? ` +
          `Pass --state-machine-arn and --bucket to skip the lookup`,
      );
    }
    return value;
  };
  return {
    stateMachineArn: flags.stateMachineArn ?? fromStack(STACK_OUTPUTS.stateMachineArn),
    bucket: flags.bucket ?? fromStack(STACK_OUTPUTS.bucket),
    stackName,
  };
}

async function stackOutputs(cfn: CloudFormationClient, stackName: string): Promise<Map<string, string>> {
  let region: string | undefined;
  try {
    region = await cfn.config.region();
  } catch {
    // reported by the call below, with the hint
  }
  const where = region ? ` in ${region}` : '';
  const response = await awsCall(`reading stack "${stackName}"${where}`, async () => {
    try {
      return await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    } catch (error) {
      if ((error as Error).name === 'ValidationError' && /does not exist/i.test((error as Error).message)) {
        throw new ConfigError(
          `stack "${stackName}" not found${where}: deploy it (npx cdk deploy), pick the stack with --stack NAME or ` +
            `FMNIST_STACK, the region with AWS_REGION or --region (the account with AWS_PROFILE or --profile), ` +
            `or pass --state-machine-arn and --bucket`,
        );
      }
      throw error;
    }
  });
  const stack = response.Stacks?.[0];
  if (!stack) throw new ConfigError(`stack "${stackName}" not found${where}`);
  if (/(_FAILED|ROLLBACK_COMPLETE|DELETE_COMPLETE)$/.test(stack.StackStatus ?? '') && !stack.Outputs?.length) {
    throw new ConfigError(`stack "${stackName}" is ${stack.StackStatus}: redeploy it (npx cdk deploy)`);
  }
  return new Map((stack.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [])));
}
