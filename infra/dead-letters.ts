import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

/**
 * Where an asynchronously invoked function's failures land instead of vanishing: an encrypted,
 * TLS-only queue keeping messages 14 days (SQS's longest), watched by an alarm (alarms.ts). One
 * queue per function serves both ends of an EventBridge-started invocation:
 * - the rule target's dead-letter queue: events EventBridge could not deliver (invoke throttled
 *   or denied past the target's retry policy); the message is the event;
 * - the function's on-failure destination: invocations Lambda accepted that still failed after
 *   its own retries; the message is an invocation record (request, response, error).
 */
export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    queue,
    'AwsSolutions-SQS3',
    'This queue is itself a dead-letter queue (an EventBridge target DLQ and a Lambda on-failure destination); its messages are kept 14 days and raise an alarm, there is no further queue to redrive them to.',
  );
  return queue;
}

/**
 * Lambda on-failure destination granting only sqs:SendMessage (CDK's SqsDestination also grants
 * sqs:GetQueueAttributes and sqs:GetQueueUrl, which Lambda does not call for a destination).
 */
export class SendOnlyQueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}
