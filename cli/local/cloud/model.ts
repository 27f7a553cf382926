import { LAYER_ASSEMBLER_METADATA, SOURCE_ENTRY_METADATA } from '../../../infra/paths.ts';
import { checkInputTransformer, type TargetInputSettings } from './input-transformer.ts';
import { type CloudBindings, type Template, TemplateError, TemplateResolver } from './template.ts';

/**
 * What the local cloud emulates, read from the synthesized template (./template.ts resolves the
 * names and ARNs): the Lambda functions with their limits, environments, roles and code, the
 * IAM roles with every policy attached to them, the Fargate task definition, the EventBridge
 * rules, the SNS topics with their policies and keys, the bucket policies and the state machine
 * with its definition.
 */
export interface LambdaSpec {
  logicalId: string;
  name: string;
  arn: string;
  role: string;
  timeoutSeconds: number;
  memoryMiB: number;
  ephemeralMiB: number;
  /** Resolved Environment.Variables (what the deployed function gets, before Lambda's own). */
  environment: Record<string, string>;
  runtime: string;
  /** The source module and export this function runs, when the template says (see codeOf). */
  code?: CodeEntry;
  logGroup?: { name: string; arn: string };
  reservedConcurrency?: number;
  /** The function's layers, in order; Lambda unpacks them into /opt. */
  layers: { logicalId: string; assembler?: CodeEntry }[];
}

export interface CodeEntry {
  /** Repository-relative TypeScript module, e.g. functions/ingest/handler.ts. */
  module: string;
  exportName: string;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[] | Record<string, unknown>;
}

export interface RoleSpec {
  logicalId: string;
  name: string;
  arn: string;
  policies: { name: string; document: PolicyDocument }[];
  trustedServices: string[];
}

export interface ContainerSpec {
  name: string;
  /** The local module the container's command runs (node <module>), e.g. functions/train/fargate.ts. */
  code?: CodeEntry;
  environment: Record<string, string>;
  readonlyRootFilesystem: boolean;
  stopTimeoutSeconds: number;
  logGroup?: string;
}

export interface TaskDefinitionSpec {
  logicalId: string;
  arn: string;
  family: string;
  cpu: number;
  memoryMiB: number;
  ephemeralGiB: number;
  taskRole?: string;
  executionRole?: string;
  containers: ContainerSpec[];
}

/** input / inputPath / inputTransformer: what the target gets instead of the event (./input-transformer.ts). */
export interface RuleTarget extends TargetInputSettings {
  id: string;
  arn: string;
  maximumRetryAttempts?: number;
  deadLetterArn?: string;
}

export interface RuleSpec {
  logicalId: string;
  name: string;
  arn: string;
  eventPattern?: Record<string, unknown>;
  scheduleExpression?: string;
  enabled: boolean;
  targets: RuleTarget[];
}

export interface TopicSpec {
  logicalId: string;
  name: string;
  arn: string;
  /** Its AWS::SNS::TopicPolicy, if one names it. */
  policy?: PolicyDocument;
  /** KmsMasterKeyId: a key of the template (with its key policy), or a key from outside it (an alias or ARN). */
  key?: { logicalId: string; arn: string; policy: PolicyDocument } | { external: string };
}

export interface StateMachineSpec {
  logicalId: string;
  name: string;
  arn: string;
  role: string;
  definition: AslDefinition;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}

export interface CloudModel {
  resolver: TemplateResolver;
  bindings: CloudBindings;
  functions: LambdaSpec[];
  roles: Map<string, RoleSpec>;
  taskDefinitions: TaskDefinitionSpec[];
  clusters: { logicalId: string; name: string; arn: string }[];
  rules: RuleSpec[];
  topics: TopicSpec[];
  /** Bucket name -> its bucket policy. */
  bucketPolicies: Map<string, PolicyDocument>;
  stateMachine: StateMachineSpec;
}


/** Managed policies the stack may attach, with their documents (AWS publishes them; they change rarely). */
const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

export function readCloudModel(template: Template, bindings: CloudBindings): CloudModel {
  const resolver = new TemplateResolver(template, bindings);
  const roles = readRoles(resolver);
  attachPolicies(resolver, roles);
  return {
    resolver,
    bindings,
    functions: resolver.ofType('AWS::Lambda::Function').map((logicalId) => readFunction(resolver, logicalId)),
    roles,
    taskDefinitions: resolver.ofType('AWS::ECS::TaskDefinition').map((logicalId) => readTaskDefinition(resolver, logicalId)),
    clusters: resolver.ofType('AWS::ECS::Cluster').map((logicalId) => ({ logicalId, name: resolver.physicalName(logicalId), arn: resolver.arn(logicalId) })),
    rules: resolver.ofType('AWS::Events::Rule').map((logicalId) => readRule(resolver, logicalId)),
    topics: readTopics(resolver),
    bucketPolicies: readBucketPolicies(resolver),
    stateMachine: readStateMachine(resolver),
  };
}

const propertiesOf = (resolver: TemplateResolver, logicalId: string) => resolver.resource(logicalId).Properties ?? {};

function readFunction(resolver: TemplateResolver, logicalId: string): LambdaSpec {
  const p = propertiesOf(resolver, logicalId);
  const where = `${logicalId}.Properties`;
  const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
  const environment = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, resolver.resolveString(value, `${where}.Environment.Variables.${name}`)]),
  );
  return {
    logicalId,
    name: resolver.physicalName(logicalId),
    arn: resolver.arn(logicalId),
    role: roleLogicalId(resolver, p.Role, `${where}.Role`),
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMiB: Number(p.MemorySize ?? 128),
    ephemeralMiB: Number((p.EphemeralStorage as { Size?: number } | undefined)?.Size ?? 512),
    environment,
    runtime: p.PackageType === 'Image' ? 'image' : String(p.Runtime ?? ''),
    code: codeOf(resolver, logicalId),
    logGroup: functionLogGroup(resolver, p.LoggingConfig as { LogGroup?: unknown } | undefined, `${where}.LoggingConfig.LogGroup`),
    reservedConcurrency: p.ReservedConcurrentExecutions === undefined ? undefined : Number(p.ReservedConcurrentExecutions),
    layers: ((p.Layers as unknown[] | undefined) ?? []).map((layer, index) => functionLayer(resolver, layer, `${where}.Layers[${index}]`)),
  };
}

/** The log group a function's LoggingConfig names; its ARN from the template when the stack makes it. */
function functionLogGroup(resolver: TemplateResolver, logging: { LogGroup?: unknown } | undefined, where: string): LambdaSpec['logGroup'] {
  if (logging?.LogGroup === undefined) return undefined;
  const name = resolver.resolveString(logging.LogGroup, where);
  const logicalId = resolver.ofType('AWS::Logs::LogGroup').find((id) => resolver.physicalName(id) === name);
  const { partition, region, account } = resolver.bindings;
  return { name, arn: logicalId ? resolver.arn(logicalId) : `arn:${partition}:logs:${region}:${account}:log-group:${name}:*` };
}

function functionLayer(resolver: TemplateResolver, layer: unknown, where: string): LambdaSpec['layers'][number] {
  const arn = resolver.resolveString(layer, where);
  const logicalId = resolver.ofType('AWS::Lambda::LayerVersion').find((id) => resolver.ref(id) === arn);
  if (!logicalId) throw new TemplateError(`${where}: ${arn} is not a layer of this template`);
  const assembler = resolver.resource(logicalId).Metadata?.[LAYER_ASSEMBLER_METADATA] as CodeEntry | undefined;
  return { logicalId, assembler };
}

/** Every role with its inline and managed policies and the services its trust policy names. */
function readRoles(resolver: TemplateResolver): Map<string, RoleSpec> {
  const roles = new Map<string, RoleSpec>();
  for (const logicalId of resolver.ofType('AWS::IAM::Role')) {
    const p = propertiesOf(resolver, logicalId);
    const where = `${logicalId}.Properties`;
    const policies: RoleSpec['policies'] = [];
    for (const [index, inline] of ((p.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []).entries()) {
      policies.push({ name: inline.PolicyName, document: resolver.resolve(inline.PolicyDocument, `${where}.Policies[${index}]`) as PolicyDocument });
    }
    for (const [index, arn] of ((p.ManagedPolicyArns as unknown[] | undefined) ?? []).entries()) {
      policies.push(managedPolicy(resolver.resolveString(arn, `${where}.ManagedPolicyArns[${index}]`), `${where}.ManagedPolicyArns[${index}]`));
    }
    const trust = resolver.resolve(p.AssumeRolePolicyDocument, `${where}.AssumeRolePolicyDocument`) as PolicyDocument | undefined;
    const trustedServices = statements(trust).flatMap((statement) => {
      const service = (statement.Principal as { Service?: string | string[] } | undefined)?.Service;
      return service === undefined ? [] : Array.isArray(service) ? service : [service];
    });
    roles.set(logicalId, { logicalId, name: resolver.physicalName(logicalId), arn: resolver.arn(logicalId), policies, trustedServices });
  }
  return roles;
}

function managedPolicy(arn: string, where: string): RoleSpec['policies'][number] {
  const name = /:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
  const document = name ? MANAGED_POLICIES[name] : undefined;
  if (!document) throw new TemplateError(`${where}: the local cloud does not know managed policy ${arn}`);
  return { name: arn, document };
}

/** AWS::IAM::Policy resources add their document to the roles they name. */
function attachPolicies(resolver: TemplateResolver, roles: Map<string, RoleSpec>): void {
  for (const logicalId of resolver.ofType('AWS::IAM::Policy')) {
    const p = propertiesOf(resolver, logicalId);
    const document = resolver.resolve(p.PolicyDocument, `${logicalId}.Properties.PolicyDocument`) as PolicyDocument;
    for (const role of (p.Roles as unknown[] | undefined) ?? []) {
      const roleName = resolver.resolveString(role, `${logicalId}.Properties.Roles`);
      const spec = [...roles.values()].find((candidate) => candidate.name === roleName);
      if (!spec) throw new TemplateError(`${logicalId}.Properties.Roles: no role named ${roleName}`);
      spec.policies.push({ name: String(p.PolicyName ?? logicalId), document });
    }
  }
}

function readTaskDefinition(resolver: TemplateResolver, logicalId: string): TaskDefinitionSpec {
  const p = propertiesOf(resolver, logicalId);
  const where = `${logicalId}.Properties`;
  return {
    logicalId,
    arn: resolver.arn(logicalId),
    family: resolver.physicalName(logicalId),
    cpu: Number(p.Cpu ?? 256),
    memoryMiB: Number(p.Memory ?? 512),
    ephemeralGiB: Number((p.EphemeralStorage as { SizeInGiB?: number } | undefined)?.SizeInGiB ?? 20),
    taskRole: p.TaskRoleArn === undefined ? undefined : roleLogicalId(resolver, p.TaskRoleArn, `${where}.TaskRoleArn`),
    executionRole: p.ExecutionRoleArn === undefined ? undefined : roleLogicalId(resolver, p.ExecutionRoleArn, `${where}.ExecutionRoleArn`),
    containers: ((p.ContainerDefinitions as Record<string, unknown>[] | undefined) ?? []).map((container, index) =>
      readContainer(resolver, container, `${where}.ContainerDefinitions[${index}]`),
    ),
  };
}

function readContainer(resolver: TemplateResolver, container: Record<string, unknown>, at: string): ContainerSpec {
  const environment = Object.fromEntries(
    ((container.Environment as { Name: string; Value: unknown }[] | undefined) ?? []).map(({ Name, Value }) => [Name, resolver.resolveString(Value, `${at}.Environment.${Name}`)]),
  );
  const logOptions = (container.LogConfiguration as { Options?: Record<string, unknown> } | undefined)?.Options;
  return {
    name: String(container.Name),
    code: containerCode(container),
    environment,
    readonlyRootFilesystem: container.ReadonlyRootFilesystem === true,
    stopTimeoutSeconds: Number(container.StopTimeout ?? 30),
    logGroup: logOptions?.['awslogs-group'] === undefined ? undefined : resolver.resolveString(logOptions['awslogs-group'], `${at}.LogConfiguration`),
  };
}

function readRule(resolver: TemplateResolver, logicalId: string): RuleSpec {
  const p = resolver.resolve(propertiesOf(resolver, logicalId), `${logicalId}.Properties`) as Record<string, unknown>;
  return {
    logicalId,
    name: resolver.physicalName(logicalId),
    arn: resolver.arn(logicalId),
    eventPattern: p.EventPattern as Record<string, unknown> | undefined,
    scheduleExpression: p.ScheduleExpression as string | undefined,
    enabled: p.State === undefined || p.State === 'ENABLED',
    targets: ((p.Targets as Record<string, unknown>[] | undefined) ?? []).map((target, index) => readTarget(target, `${logicalId}.Properties.Targets[${index}]`)),
  };
}

function readTarget(target: Record<string, unknown>, where: string): RuleTarget {
  const transformer = target.InputTransformer as { InputPathsMap?: Record<string, string>; InputTemplate?: string } | undefined;
  const given = [target.Input, target.InputPath, transformer].filter((value) => value !== undefined).length;
  if (given > 1) throw new TemplateError(`${where}: Input, InputPath and InputTransformer are mutually exclusive`);
  const inputTransformer = transformer && { inputPathsMap: transformer.InputPathsMap ?? {}, inputTemplate: String(transformer.InputTemplate ?? '') };
  if (inputTransformer) checkInputTransformer(inputTransformer, `${where}.InputTransformer`);
  return {
    id: String(target.Id),
    arn: String(target.Arn),
    maximumRetryAttempts: (target.RetryPolicy as { MaximumRetryAttempts?: number } | undefined)?.MaximumRetryAttempts,
    deadLetterArn: (target.DeadLetterConfig as { Arn?: string } | undefined)?.Arn,
    input: target.Input === undefined ? undefined : String(target.Input),
    inputPath: target.InputPath === undefined ? undefined : String(target.InputPath),
    inputTransformer,
  };
}

/** Each topic with the policy an AWS::SNS::TopicPolicy gives it and the key it is encrypted with. */
function readTopics(resolver: TemplateResolver): TopicSpec[] {
  const topics: TopicSpec[] = resolver.ofType('AWS::SNS::Topic').map((logicalId) => {
    const keyId = propertiesOf(resolver, logicalId).KmsMasterKeyId;
    const topic: TopicSpec = { logicalId, name: resolver.physicalName(logicalId), arn: resolver.arn(logicalId) };
    if (keyId === undefined) return topic;
    const keyArn = resolver.resolveString(keyId, `${logicalId}.Properties.KmsMasterKeyId`);
    const keyLogicalId = resolver.ofType('AWS::KMS::Key').find((id) => resolver.arn(id) === keyArn || resolver.ref(id) === keyArn);
    if (!keyLogicalId) return { ...topic, key: { external: keyArn } };
    const policy = resolver.resolve(propertiesOf(resolver, keyLogicalId).KeyPolicy, `${keyLogicalId}.Properties.KeyPolicy`) as PolicyDocument;
    return { ...topic, key: { logicalId: keyLogicalId, arn: resolver.arn(keyLogicalId), policy } };
  });
  for (const logicalId of resolver.ofType('AWS::SNS::TopicPolicy')) {
    const p = propertiesOf(resolver, logicalId);
    const document = resolver.resolve(p.PolicyDocument, `${logicalId}.Properties.PolicyDocument`) as PolicyDocument;
    for (const [index, ref] of ((p.Topics as unknown[] | undefined) ?? []).entries()) {
      const arn = resolver.resolveString(ref, `${logicalId}.Properties.Topics[${index}]`);
      const topic = topics.find((candidate) => candidate.arn === arn);
      if (!topic) throw new TemplateError(`${logicalId}.Properties.Topics[${index}]: ${arn} is not a topic of this template`);
      topic.policy = document;
    }
  }
  return topics;
}

/** Bucket name -> its bucket policy. */
function readBucketPolicies(resolver: TemplateResolver): Map<string, PolicyDocument> {
  const bucketPolicies = new Map<string, PolicyDocument>();
  for (const logicalId of resolver.ofType('AWS::S3::BucketPolicy')) {
    const p = propertiesOf(resolver, logicalId);
    const bucket = resolver.resolveString(p.Bucket, `${logicalId}.Properties.Bucket`);
    bucketPolicies.set(bucket, resolver.resolve(p.PolicyDocument, `${logicalId}.Properties.PolicyDocument`) as PolicyDocument);
  }
  return bucketPolicies;
}

function readStateMachine(resolver: TemplateResolver): StateMachineSpec {
  const machines = resolver.ofType('AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new TemplateError(`expected one state machine, found ${machines.length}`);
  const logicalId = machines[0];
  const p = propertiesOf(resolver, logicalId);
  const definitionText = resolver.resolveString(p.DefinitionString, `${logicalId}.Properties.DefinitionString`);
  return {
    logicalId,
    name: resolver.physicalName(logicalId),
    arn: resolver.arn(logicalId),
    role: roleLogicalId(resolver, p.RoleArn, `${logicalId}.Properties.RoleArn`),
    definition: JSON.parse(definitionText) as AslDefinition,
  };
}

export function statements(document: PolicyDocument | undefined): Record<string, unknown>[] {
  if (!document) return [];
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

function roleLogicalId(resolver: TemplateResolver, value: unknown, where: string): string {
  const arn = resolver.resolveString(value, where);
  const logicalId = resolver.ofType('AWS::IAM::Role').find((id) => resolver.arn(id) === arn);
  if (!logicalId) throw new TemplateError(`${where}: ${arn} is not a role of this template`);
  return logicalId;
}

/**
 * The code a function runs. A container image names it in its CMD (`functions/train/handler.handler`
 * runs the `handler` export of functions/train/handler, built from functions/train/handler.ts); a
 * zip function bundled by NodejsFunction keeps its source entry in SOURCE_ENTRY_METADATA metadata.
 */
function codeOf(resolver: TemplateResolver, logicalId: string): CodeEntry | undefined {
  const resource = resolver.resource(logicalId);
  const p = resource.Properties ?? {};
  const exportOf = (handler: string) => handler.slice(handler.lastIndexOf('.') + 1);
  if (p.PackageType === 'Image') {
    const command = (p.ImageConfig as { Command?: string[] } | undefined)?.Command?.[0];
    if (!command || !command.includes('.')) return undefined;
    return { module: `${command.slice(0, command.lastIndexOf('.'))}.ts`, exportName: exportOf(command) };
  }
  const entry = resource.Metadata?.[SOURCE_ENTRY_METADATA];
  if (typeof entry !== 'string') return undefined;
  return { module: entry, exportName: exportOf(String(p.Handler ?? 'index.handler')) };
}

/** `node functions/train/fargate.mjs` runs the bundle of functions/train/fargate.ts (the image contract). */
function containerCode(container: Record<string, unknown>): CodeEntry | undefined {
  const argv = [...((container.EntryPoint as string[] | undefined) ?? []), ...((container.Command as string[] | undefined) ?? [])];
  if (argv[0] !== 'node' || argv.length !== 2) return undefined;
  return { module: argv[1].replace(/\.m?js$/, '.ts'), exportName: '' };
}
