import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createS3Client } from '../../lib/aws/clients.ts';
import { ConfigError, UserError } from '../../lib/errors.ts';

/**
 * What `fmnist start` / `fmnist status` talk to. Tests pass mocked clients, a fake clock and an
 * instant sleep; a terminal gets real clients built from the usual AWS settings (AWS_PROFILE,
 * AWS_REGION, SSO, ...) or `--profile` / `--region`.
 */
export interface AwsCommandDeps {
  sfn?: SFNClient;
  s3?: S3Client;
  cfn?: CloudFormationClient;
  /** Results and, unless `--json`, progress (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Progress and warnings when stdout is reserved for `--json` (default process.stderr). */
  log?: NodeJS.WritableStream;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /** Environment for FMNIST_STACK (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Flags every AWS command shares. */
export interface AwsConnectionFlags {
  /** CloudFormation stack to read the outputs of (default: FMNIST_STACK, else "FashionMnist"). */
  stack?: string;
  stateMachineArn?: string;
  bucket?: string;
  region?: string;
  profile?: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `arn:aws:states:eu-west-1:123456789012:stateMachine:Name` -> { partition, region, account }. */
export function parseStateMachineArn(arn: string): { partition: string; region: string; account: string; name: string } {
  const match = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/.exec(arn);
  if (!match) {
    throw new ConfigError(
      `"${arn}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`,
    );
  }
  return { partition: match[1], region: match[2], account: match[3], name: match[4] };
}

/** Execution ARNs are the state machine's with "execution" and the execution name. */
export function regionOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(arn)?.[1];
}

/** --region (else `region`, the resources' own) and --profile, for any AWS client. */
export function clientConfig(flags: AwsConnectionFlags, region?: string): { region?: string; profile?: string } {
  const config: { region?: string; profile?: string } = {};
  const chosen = flags.region ?? region;
  if (chosen) config.region = chosen;
  if (flags.profile) config.profile = flags.profile;
  return config;
}

export function cloudFormationClient(flags: AwsConnectionFlags, deps: AwsCommandDeps): CloudFormationClient {
  return deps.cfn ?? new CloudFormationClient(clientConfig(flags));
}

/** The state machine's region wins over the default region: that is where the resources live. */
export function sfnClient(flags: AwsConnectionFlags, deps: AwsCommandDeps, stateMachineArn: string): SFNClient {
  return deps.sfn ?? new SFNClient(clientConfig(flags, regionOfArn(stateMachineArn)));
}

/** The workflow's own S3 settings (lib/aws/clients.ts: retries, timeouts, checksums), region of the stack. */
export function s3ClientFor(flags: AwsConnectionFlags, deps: AwsCommandDeps, stateMachineArn: string): S3Client {
  return deps.s3 ?? createS3Client(clientConfig(flags, regionOfArn(stateMachineArn)));
}

const SETUP_HINT =
  'set AWS_PROFILE (or --profile) to a configured profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
  '(+ AWS_SESSION_TOKEN), and AWS_REGION (or --region) to the region the stack is deployed in';

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenProviderError',
]);

/**
 * Turns the SDK's setup failures (no region, no or expired credentials, no permission) into a
 * ConfigError that says what to set; `fmnist` prints UserErrors without a stack trace. Other
 * service errors become ConfigErrors naming the call; UserErrors and programming errors pass through.
 */
export function explainAwsError(error: unknown, what: string): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  if (error instanceof UserError) return error;
  const name = error.name;
  if (/Region is missing/i.test(error.message)) {
    return new ConfigError(`${what}: no AWS region configured: ${SETUP_HINT}`);
  }
  if (CREDENTIAL_ERRORS.has(name) || /credentials|security token|sso session/i.test(error.message)) {
    const sso = /sso/i.test(error.message) ? ' (for an SSO profile run `aws sso login` first)' : '';
    return new ConfigError(`${what}: no usable AWS credentials (${name}: ${error.message}): ${SETUP_HINT}${sso}`);
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'AuthorizationError') {
    return new ConfigError(`${what}: access denied (${error.message}); check the permissions of your AWS identity`);
  }
  if ('$metadata' in error || '$fault' in error) {
    return new ConfigError(`${what}: ${name}: ${error.message}`);
  }
  return error;
}

/** Runs one AWS call and explains its failure. */
export async function awsCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, what);
  }
}
