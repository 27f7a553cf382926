import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag (v3, AwsSolutions pack) acknowledgments. cdk-nag v3 runs as a CDK policy-validation
 * plugin (bin/app.ts) and any finding without an acknowledgment fails the synth. Each construct
 * acknowledges its own findings where it makes the resource, with the reason, naming the exact
 * finding (e.g. one wildcard resource), never a whole rule for the stack. This module imports no
 * construct of the stack, so any of them may use it.
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
 * VPC's restrict-default-security-group provider. CDK adds them as children of the stack, so the
 * stack calls this once all its constructs exist.
 */
const CDK_HELPER_ID = /^(BucketNotificationsHandler|Custom::S3AutoDeleteObjectsCustomResourceProvider|Custom::VpcRestrictDefaultSGCustomResourceProvider)/;

export function acknowledgeCdkHelpers(stack: Stack): void {
  for (const helper of stack.node.children.filter((child) => CDK_HELPER_ID.test(child.node.id))) {
    acknowledge(
      helper,
      `AwsSolutions-IAM4[${LAMBDA_BASIC_EXECUTION}]`,
      'A CDK-provided helper function (bucket notifications, autoDeleteObjects, default security group lockdown) that CloudFormation invokes during deployments; CDK attaches the basic execution policy and offers no way to replace it. The project\'s own functions have no managed policy.',
    );
  }
}
