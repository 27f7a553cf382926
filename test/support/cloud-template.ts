import { SOURCE_ENTRY_METADATA } from '../../infra/paths.ts';
import type { Template } from '../../cli/local/cloud/template.ts';

/**
 * Small CloudFormation templates for the local cloud's tests: the same resource shapes
 * `cdk synth` produces (functions with roles and policies, a bucket, a state machine), pointing
 * at tiny handlers in test/fixtures/local/, so a test deploys exactly the rule it checks and a
 * cold start costs a fraction of a second.
 */
export const FIXTURE_MODULE = 'test/fixtures/local/handlers.ts';
export const BUCKET_ID = 'DataBucket';

export interface FunctionSketch {
  /** Logical id. */
  id: string;
  /** Export of test/fixtures/local/handlers.ts. */
  handler: string;
  timeout?: number;
  memory?: number;
  ephemeral?: number;
  environment?: Record<string, unknown>;
  reservedConcurrency?: number;
  /** Statements of the role's inline policy (besides logging to its own log group). */
  statements?: Record<string, unknown>[];
  /** false: no logs permission at all. */
  logs?: boolean;
}

const bucketArn = { 'Fn::GetAtt': [BUCKET_ID, 'Arn'] };
export const objectsUnder = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });
export const bucketArnRef = bucketArn;

/** A Fargate task running test/fixtures/local/container.ts (as `node test/fixtures/local/container.mjs`). */
export interface TaskSketch {
  environment?: Record<string, string>;
  memory?: number;
  stopTimeout?: number;
  /** Statements of the task role (default: the Step Functions callbacks on the state machine). */
  statements?: Record<string, unknown>[];
}

export function cloudTemplate(options: {
  functions: FunctionSketch[];
  task?: TaskSketch;
  definition?: Record<string, unknown>;
  stateMachineStatements?: Record<string, unknown>[];
  rules?: { id: string; pattern: Record<string, unknown>; target: string }[];
}): Template {
  const resources: Template['Resources'] = {
    [BUCKET_ID]: { Type: 'AWS::S3::Bucket', Properties: {} },
  };
  for (const fn of options.functions) {
    const role = `${fn.id}Role`;
    const logGroup = `${fn.id}Logs`;
    resources[logGroup] = { Type: 'AWS::Logs::LogGroup', Properties: {} };
    resources[role] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }] },
      },
    };
    const statements = [
      ...(fn.logs === false ? [] : [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } }]),
      ...(fn.statements ?? []),
    ];
    if (statements.length > 0) {
      resources[`${role}Policy`] = {
        Type: 'AWS::IAM::Policy',
        Properties: { PolicyName: `${role}Policy`, Roles: [{ Ref: role }], PolicyDocument: { Version: '2012-10-17', Statement: statements } },
      };
    }
    resources[fn.id] = {
      Type: 'AWS::Lambda::Function',
      Metadata: { [SOURCE_ENTRY_METADATA]: FIXTURE_MODULE },
      Properties: {
        Handler: `index.${fn.handler}`,
        Runtime: 'nodejs22.x',
        Role: { 'Fn::GetAtt': [role, 'Arn'] },
        // Long by default: tests scale time down, and only the timeout tests want a short one.
        Timeout: fn.timeout ?? 900,
        MemorySize: fn.memory ?? 256,
        ...(fn.ephemeral ? { EphemeralStorage: { Size: fn.ephemeral } } : {}),
        ...(fn.reservedConcurrency !== undefined ? { ReservedConcurrentExecutions: fn.reservedConcurrency } : {}),
        LoggingConfig: { LogGroup: { Ref: logGroup } },
        Environment: { Variables: { DATA_BUCKET: { Ref: BUCKET_ID }, ...fn.environment } },
      },
    };
  }
  if (options.task) {
    const task = options.task;
    const ecsTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ecs-tasks.amazonaws.com' } }] };
    resources.Cluster = { Type: 'AWS::ECS::Cluster', Properties: {} };
    resources.TaskRole = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: ecsTrust } };
    resources.ExecutionRole = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: ecsTrust } };
    resources.TaskRolePolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'TaskRolePolicy',
        Roles: [{ Ref: 'TaskRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: task.statements ?? [{ Effect: 'Allow', Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], Resource: { Ref: 'Machine' } }],
        },
      },
    };
    resources.TaskDefinition = {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: {
        Cpu: '1024',
        Memory: String(task.memory ?? 2048),
        TaskRoleArn: { 'Fn::GetAtt': ['TaskRole', 'Arn'] },
        ExecutionRoleArn: { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] },
        ContainerDefinitions: [
          {
            Name: 'main',
            EntryPoint: ['node'],
            Command: ['test/fixtures/local/container.mjs'],
            Environment: Object.entries(task.environment ?? {}).map(([Name, Value]) => ({ Name, Value })),
            ...(task.stopTimeout !== undefined ? { StopTimeout: task.stopTimeout } : {}),
          },
        ],
      },
    };
  }
  for (const rule of options.rules ?? []) {
    resources[rule.id] = {
      Type: 'AWS::Events::Rule',
      Properties: { EventPattern: rule.pattern, State: 'ENABLED', Targets: [{ Id: 'Target0', Arn: { 'Fn::GetAtt': [rule.target, 'Arn'] } }] },
    };
  }
  resources.MachineRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'states.amazonaws.com' } }] },
    },
  };
  resources.MachineRolePolicy = {
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyName: 'MachineRolePolicy',
      Roles: [{ Ref: 'MachineRole' }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: options.stateMachineStatements ?? [
          { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: options.functions.map((fn) => ({ 'Fn::GetAtt': [fn.id, 'Arn'] })) },
        ],
      },
    },
  };
  const definition = options.definition ?? { StartAt: 'Noop', States: { Noop: { Type: 'Pass', End: true } } };
  resources.Machine = {
    Type: 'AWS::StepFunctions::StateMachine',
    Properties: { RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] }, DefinitionString: { 'Fn::Join': ['', withFunctionArns(definition)] } },
  };
  return { Resources: resources };
}

/** The definition as CDK renders it: JSON text with each `"${Fn}"` function reference as a GetAtt. */
function withFunctionArns(definition: Record<string, unknown>): unknown[] {
  const text = JSON.stringify(definition);
  const parts: unknown[] = [];
  let last = 0;
  for (const match of text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)) {
    parts.push(text.slice(last, match.index), { 'Fn::GetAtt': [match[1], 'Arn'] });
    last = match.index! + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}
