import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { FARGATE_ENV } from '../../../lib/workflow/fargate-task.ts';
import { DEFAULT_LOCAL_BUCKET, type LocalS3, localS3ClientConfig, startLocalS3 } from '../local-s3.ts';
import { s3AccessControl } from '../s3/access-control.ts';
import { type ControlPlane, type Operation, type OwnerOperations, startControlPlane } from './control-plane.ts';
import { putEventsOperation } from './eventbridge-api.ts';
import { Credentials } from './credentials.ts';
import { EcsService, type EcsTask } from './ecs-service.ts';
import { EventBus, undeliverableTargets } from './eventbridge.ts';
import { AccessDeniedError, type Caller, IamAuthorizer } from './iam.ts';
import { LambdaService } from './lambda-service.ts';
import { type CloudModel, type LambdaSpec, readCloudModel } from './model.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type Template, TemplateError } from './template.ts';

/**
 * The AWS account a local run deploys into: the synthesized template read as CloudFormation
 * would create it (./model.ts), with the services the workflow uses, each enforcing what AWS
 * enforces: S3 (s3rver behind IAM), Lambda (./lambda-service.ts), ECS on Fargate
 * (./ecs-service.ts), the JSON control plane for Step Functions callbacks and ECS
 * (./control-plane.ts), EventBridge (./eventbridge.ts), IAM for all of them (./iam.ts).
 * Step Functions itself is cli/local/states/ with aws-local-stepfunctions.
 *
 * `timeScale` multiplies every timeout of the cloud (functions, heartbeats, stop timeouts): a
 * test can run a 600-second heartbeat contract in 0.6 s.
 */
/** What a line or a progress message came from: a Lambda environment of `fn`, or a Fargate task. */
export type SandboxSource = { kind: 'lambda'; fn: LambdaSpec } | { kind: 'task'; task: EcsTask };

export interface CloudObservers {
  onLog?: (source: SandboxSource, line: string, stream: 'stdout' | 'stderr') => void;
  /** Training progress (lib/model/progress-channel.ts) relayed from a sandbox (./progress-relay.ts). */
  onProgress?: (source: SandboxSource, message: unknown) => void;
}

export interface LocalCloudOptions extends CloudObservers {
  template: Template;
  /** The data bucket's name; default fmnist-local. */
  bucket?: string;
  /** Keep the bucket's contents here between runs; default a temporary directory. */
  stateDir?: string;
  timeScale?: number;
}

/** A deployment the local cloud refuses, as CloudFormation or the service would. */
export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
}

/** A Lambda function's environment variables may total at most 4 KB (keys and values). */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

export class LocalCloud {
  /** Where the sandboxes' output goes (the services read it per line): a runner sharing the cloud points it at each run. */
  readonly observers: CloudObservers;

  private constructor(
    readonly model: CloudModel,
    readonly credentials: Credentials,
    readonly authorizer: IamAuthorizer,
    readonly s3: LocalS3,
    readonly control: ControlPlane,
    readonly lambda: LambdaService,
    readonly ecs: EcsService,
    readonly events: EventBus,
    readonly timeScale: number,
    readonly scratchRoot: string,
    readonly operations: Record<string, Operation>,
    /** What the account owner's key may call on the control plane (the runner registers the task-token callbacks). */
    readonly ownerOperations: OwnerOperations,
    observers: CloudObservers,
  ) {
    this.observers = observers;
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    const bucket = options.bucket ?? DEFAULT_LOCAL_BUCKET;
    const timeScale = options.timeScale ?? 1;
    if (!(timeScale > 0)) throw new TemplateError(`timeScale must be a positive number, got ${timeScale}`);
    const model = readCloudModel(options.template, {
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      partition: 'aws',
      bucketNames: { [dataBucketLogicalId(options.template)]: bucket },
    });
    checkDeployable(model);
    const credentials = new Credentials();
    const authorizer = new IamAuthorizer(model);
    const scratchRoot = await mkdtemp(join(tmpdir(), 'fmnist-cloud-'));
    const operations: Record<string, Operation> = {};
    const ownerOperations: OwnerOperations = {};
    const observers: CloudObservers = { onLog: options.onLog, onProgress: options.onProgress };
    let s3: LocalS3 | undefined;
    let control: ControlPlane | undefined;
    try {
      s3 = await startLocalS3({
        directory: options.stateDir,
        bucket,
        middleware: [s3AccessControl({ credentials, authorizer, bucketPolicy: (name) => model.bucketPolicies.get(name) }) as never],
      });
      // Operations are registered later by the services and the runner; the server looks them up per call.
      control = await startControlPlane(credentials, operations, ownerOperations);
      const endpoints = {
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ENDPOINT_URL_SFN: control.endpoint,
        AWS_ENDPOINT_URL_ECS: control.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: control.endpoint,
        // s3rver stores the SDK's streaming-checksum framing inside objects (cli/local/README.md).
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      };
      const localEnvironment: Record<string, string> = timeScale === 1 ? {} : { [FARGATE_ENV.timeScale]: String(timeScale) };
      const lambda = new LambdaService({
        credentials,
        roles: model.roles,
        region: model.bindings.region,
        endpoints,
        localEnvironment,
        scratchRoot,
        timeScale,
        onLog: (fn, line, stream) => observers.onLog?.({ kind: 'lambda', fn }, line, stream),
        onProgress: (fn, message) => observers.onProgress?.({ kind: 'lambda', fn }, message),
      });
      const ecs = new EcsService({
        model,
        credentials,
        authorizer,
        endpoints,
        localEnvironment,
        scratchRoot,
        timeScale,
        onLog: (task, line, stream) => observers.onLog?.({ kind: 'task', task }, line, stream),
        onProgress: (task, message) => observers.onProgress?.({ kind: 'task', task }, message),
      });
      Object.assign(operations, ecs.operations());
      const events = new EventBus(model, lambda, authorizer);
      const busArn = `arn:${model.bindings.partition}:events:${model.bindings.region}:${model.bindings.account}:event-bus/default`;
      Object.assign(operations, putEventsOperation(events, authorizer, busArn, events.published));
      return new LocalCloud(model, credentials, authorizer, s3, control, lambda, ecs, events, timeScale, scratchRoot, operations, ownerOperations, observers);
    } catch (error) {
      await control?.close();
      await s3?.stop();
      await rm(scratchRoot, { recursive: true, force: true });
      credentials.revokeAll();
      throw error;
    }
  }

  get bucket(): string {
    return this.s3.bucket;
  }

  readonly #s3Clients = new Map<string, S3Client>();

  /** An S3 client that signs as `caller` (its role's session credentials); one per session. */
  s3ClientFor(caller: Caller): S3Client {
    const session = `${caller.role.logicalId}/${caller.session}`;
    let client = this.#s3Clients.get(session);
    if (!client) {
      client = new S3Client({ ...localS3ClientConfig(this.s3.endpoint), credentials: this.credentials.issue(caller) });
      this.#s3Clients.set(session, client);
    }
    return client;
  }

  /** The caller a role's session is, e.g. the state machine's. */
  callerFor(roleLogicalId: string, session: string): Caller {
    const role = this.model.roles.get(roleLogicalId);
    if (!role) throw new TemplateError(`no role ${roleLogicalId}`);
    return { role, session };
  }

  async stop(): Promise<void> {
    try {
      await this.ecs.shutdown(Math.max(200, 2000 * Math.min(1, this.timeScale)));
      await this.lambda.shutdown();
    } finally {
      for (const client of this.#s3Clients.values()) client.destroy();
      this.#s3Clients.clear();
      await this.control.close();
      await this.s3.stop();
      await rm(this.scratchRoot, { recursive: true, force: true });
      this.credentials.revokeAll();
    }
  }
}

/** The bucket the functions know as DATA_BUCKET: the one the local S3 server serves. */
function dataBucketLogicalId(template: Template): string {
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const variables = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    const ref = (variables?.DATA_BUCKET as { Ref?: string } | undefined)?.Ref;
    if (ref) return ref;
  }
  throw new TemplateError('no function has a DATA_BUCKET environment variable: which bucket is the data bucket?');
}

/**
 * What `cdk deploy` or the first invocation would refuse, checked before anything runs: a
 * function whose environment exceeds Lambda's 4 KB, a role the service cannot assume, a rule
 * target the local cloud cannot deliver to (it would be skipped where AWS delivers), and a
 * function that could not write its own logs (Lambda would run it, but every log line would be
 * lost: treated as a failure here, since nothing else would reveal it).
 */
export function checkDeployable(model: CloudModel): void {
  const problems: string[] = [];
  for (const fn of model.functions) {
    if (!fn.code) continue;
    const bytes = Object.entries(fn.environment).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
    if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
      problems.push(
        `${fn.logicalId}: InvalidParameterValueException: Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit (${bytes} bytes)`,
      );
    }
    const role = model.roles.get(fn.role);
    if (!role?.trustedServices.includes('lambda.amazonaws.com')) problems.push(`${fn.logicalId}: the role defined for the function cannot be assumed by Lambda`);
  }
  problems.push(...undeliverableTargets(model));
  const machineRole = model.roles.get(model.stateMachine.role);
  if (!machineRole?.trustedServices.includes('states.amazonaws.com')) problems.push(`${model.stateMachine.logicalId}: its role cannot be assumed by Step Functions`);
  if (problems.length > 0) throw new DeploymentError(`the stack would not deploy or run as written:\n  ${problems.join('\n  ')}`);
}

/** Each function with local code may write to its own log group (CreateLogStream, PutLogEvents). */
export async function checkLogPermissions(model: CloudModel, authorizer: IamAuthorizer): Promise<void> {
  const problems: string[] = [];
  for (const fn of model.functions) {
    if (!fn.code) continue;
    const role = model.roles.get(fn.role)!;
    const group = fn.logGroup?.name ?? `/aws/lambda/${fn.name}`;
    const { partition, region, account } = model.bindings;
    const stream = `arn:${partition}:logs:${region}:${account}:log-group:${group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      try {
        await authorizer.authorize({ role, session: fn.name }, { action, resource: stream });
      } catch (error) {
        if (!(error instanceof AccessDeniedError)) throw error;
        problems.push(`${fn.logicalId} could not write its logs to ${group}: ${error.message}`);
      }
    }
  }
  if (problems.length > 0) throw new DeploymentError(`functions whose logs would be lost:\n  ${problems.join('\n  ')}`);
}
