import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { FmnistStack } from './stack.ts';

/**
 * cdk-nag (v3, AwsSolutions pack) acknowledgments, each with its reason. cdk-nag v3 runs as a CDK
 * policy-validation plugin (bin/app.ts) and any finding without an acknowledgment fails the
 * synth. Acknowledgments name the exact finding (e.g. one wildcard resource) on the construct
 * that has it, never a whole rule for the stack. The ones for wildcard S3 keys live with the
 * grants (data-access.ts), those of the stop-training role in stop-training.ts, the topic's in
 * alarms.ts, the dead-letter queues' in dead-letters.ts.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The logical id of a construct's CloudFormation resource, as cdk-nag prints it inside `<…>`. */
export function logicalIdOf(resource: IConstruct): string {
  const cfn = resource instanceof CfnResource ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  const stack = Stack.of(cfn);
  return stack.resolve(stack.getLogicalId(cfn)) as string;
}

/** How cdk-nag prints a resource's ARN attribute in a finding: `<LogicalId.Arn>`. */
export function arnRef(resource: IConstruct): string {
  return `<${logicalIdOf(resource)}.Arn>`;
}

const LAMBDA_BASIC_EXECUTION = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

/**
 * CDK's own helper functions, created by CDK and not configurable: the bucket-notifications
 * handler (s3:PutBucketNotification on "*"), the autoDeleteObjects provider of dev stacks and the
 * VPC's restrict-default-security-group provider. Each runs once per deployment, from
 * CloudFormation, and gets AWSLambdaBasicExecutionRole.
 */
const CDK_HELPER_ID = /^(BucketNotificationsHandler|Custom::S3AutoDeleteObjectsCustomResourceProvider|Custom::VpcRestrictDefaultSGCustomResourceProvider)/;

export function addNagSuppressions(stack: FmnistStack): void {
  for (const helper of stack.node.children.filter((child) => CDK_HELPER_ID.test(child.node.id))) {
    acknowledge(
      helper,
      `AwsSolutions-IAM4[${LAMBDA_BASIC_EXECUTION}]`,
      'A CDK-provided helper function (bucket notifications, autoDeleteObjects, default security group lockdown) that CloudFormation invokes during deployments; CDK attaches the basic execution policy and offers no way to replace it. The project\'s own functions have no managed policy.',
    );
  }

  const nodeFunctions = [
    stack.steps.validate,
    stack.steps.ingest,
    stack.steps.evaluate,
    stack.steps.promote,
    stack.triggers.function,
    stack.stopTraining.function,
  ];
  for (const fn of nodeFunctions) {
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'Node.js 22 on purpose: the training container image is built on the Lambda Node.js 22 base image, and all steps run the same Node major (they share lib/ code); they move to a newer runtime together.',
    );
  }

  acknowledge(
    stack.workflow.stateMachine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'Resource "*" is required by the actions that have no resource-level permissions: X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) and CloudWatch Logs delivery for the execution log (logs:CreateLogDelivery, GetLogDelivery, ..., DescribeLogGroups). Every action the states call is scoped to its resource.',
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
    'The environment holds no secrets: the bucket name, thread counts, log settings, the heartbeat interval and the region. Per run, the state machine adds the S3 key of the TrainEvent, the task token and the state\'s start time and timeout as container overrides.',
  );
  acknowledge(
    stack.training.vpc,
    'AwsSolutions-VPC7',
    'The VPC exists only so the Fargate training task can run: public subnets, no NAT, a security group with no inbound rule and HTTPS-only egress to AWS APIs. Flow logs would add cost without a network to audit; the ECS task, S3 access logs and the execution history record what the task did.',
  );
}
