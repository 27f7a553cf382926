import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { FmnistStack } from './stack.ts';

/**
 * cdk-nag (v3, AwsSolutions pack) acknowledgments, each with its reason. cdk-nag v3 runs as a CDK
 * policy-validation plugin (bin/app.ts) and any finding without an acknowledgment fails the
 * synth. Acknowledgments name the exact finding (e.g. one wildcard resource), never a whole rule
 * for the stack, except IAM4 for Lambda's basic execution policy, which every function has.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** How cdk-nag prints a resource's ARN attribute in a finding: `<LogicalId.Arn>`. */
export function arnRef(resource: IConstruct): string {
  const cfn = resource instanceof CfnResource ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  const stack = Stack.of(cfn);
  return `<${stack.resolve(stack.getLogicalId(cfn)) as string}.Arn>`;
}

const LAMBDA_BASIC_EXECUTION = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

export function addNagSuppressions(stack: FmnistStack): void {
  acknowledge(
    stack,
    `AwsSolutions-IAM4[${LAMBDA_BASIC_EXECUTION}]`,
    "AWSLambdaBasicExecutionRole only lets a function write its own CloudWatch logs; each function's data access is granted separately, per S3 prefix.",
  );

  const nodeFunctions = [stack.steps.validate, stack.steps.ingest, stack.steps.evaluate, stack.steps.promote, stack.triggers.function];
  for (const fn of nodeFunctions) {
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'Node.js 22 on purpose: the training container image is built on the Lambda Node.js 22 base image, and all steps run the same Node major (they share lib/ code); they move to a newer runtime together.',
    );
  }

  // The state machine role: LambdaInvoke grants each function and its versions/aliases.
  const role = stack.workflow.stateMachine.role;
  for (const fn of [...nodeFunctions.slice(0, 4), stack.training.trainFunction]) {
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${arnRef(fn as lambda.Function)}:*]`,
      'CDK LambdaInvoke grants lambda:InvokeFunction on the function and its qualified ARNs (<arn>:*, versions and aliases); the workflow invokes only its own step functions.',
    );
  }
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'Resource "*" is required by the actions that have no resource-level permissions: X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) and CloudWatch Logs delivery for the execution log (logs:CreateLogDelivery, GetLogDelivery, ..., DescribeLogGroups).',
  );

  const { taskDefinition } = stack.training;
  acknowledge(
    taskDefinition.obtainExecutionRole(),
    'AwsSolutions-IAM5[Resource::*]',
    'The ECS task execution role needs ecr:GetAuthorizationToken, which only accepts Resource "*"; image pulls (BatchGetImage, GetDownloadUrlForLayer) are scoped to the asset repository, log writes to the task log group.',
  );
  acknowledge(
    taskDefinition,
    'AwsSolutions-ECS2',
    'The environment holds no secrets: the bucket name, thread counts, log settings and the region. The per-run TrainEvent and task token come as container overrides from the state machine.',
  );
  acknowledge(
    stack.training.vpc,
    'AwsSolutions-VPC7',
    'The VPC exists only so the Fargate training task can run: public subnets, no NAT, a security group with no inbound rule and HTTPS-only egress to AWS APIs. Flow logs would add cost without a network to audit; the ECS task, S3 access logs and the execution history record what the task did.',
  );
}
