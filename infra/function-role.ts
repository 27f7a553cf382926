import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * A Lambda execution role whose only grant is writing to the function's own log group
 * (logs:CreateLogStream, logs:PutLogEvents on `<log group ARN>`, which CloudFormation renders as
 * `arn:…:log-group:<name>:*`: the group and its streams). It replaces AWSLambdaBasicExecutionRole,
 * whose logs actions apply to every log group in the account. No logs:CreateLogGroup: the stack
 * creates each group. Everything else a function needs is granted next to it.
 */
export function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, description: string): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
  );
  return role;
}
