import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Node } from 'constructs';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_SETTINGS, settingsFromContext } from '../../lib/infra/settings.ts';
import { synthesizeStack, type SynthesizedStack } from '../../lib/infra/synthesized-definition.ts';
import { logicalIdStartingWith, resourcesOfType, type Json } from './template-helpers.ts';

describe('settings from CDK context', () => {
  const settings = (context: Record<string, unknown>) => settingsFromContext(Node.of(new App({ context })));

  test('defaults: retain data, no schedule, 30 days of logs', () => {
    assert.deepEqual(settings({}), { ...DEFAULT_SETTINGS, retrainSchedule: undefined, alarmEmail: undefined });
    assert.equal(DEFAULT_SETTINGS.destroyOnRemoval, false);
  });

  test('command-line strings and cdk.json values both work; empty strings mean unset', () => {
    const s = settings({ destroyOnRemoval: 'true', logRetentionDays: '7', retrainSchedule: 'rate(7 days)', alarmEmail: '' });
    assert.equal(s.destroyOnRemoval, true);
    assert.equal(s.logRetentionDays, 7);
    assert.equal(s.retrainSchedule, 'rate(7 days)');
    assert.equal(s.alarmEmail, undefined);
    assert.equal(settings({ retrainSchedule: '' }).retrainSchedule, undefined);
  });

  test('bad values fail the synth with the key named', () => {
    assert.throws(() => settings({ destroyOnRemoval: 'yes' }), /destroyOnRemoval/);
    assert.throws(() => settings({ retrainSchedule: 'weekly' }), /retrainSchedule.*rate\(\.\.\.\) or cron\(\.\.\.\)/);
    assert.throws(() => settings({ lambdaTrainMaxImages: 0 }), /lambdaTrainMaxImages/);
  });
});

describe('a dev stack with a retrain schedule and alarm mail', () => {
  let synthesized: SynthesizedStack;
  let resources: Record<string, Json>;
  before(() => {
    synthesized = synthesizeStack({
      context: {
        destroyOnRemoval: 'true',
        retrainSchedule: 'rate(7 days)',
        alarmEmail: 'ml-ops@example.com',
        logRetentionDays: 7,
        lambdaTrainMaxImages: 100_000,
      },
    });
    resources = synthesized.template.toJSON().Resources;
  });
  after(() => synthesized.cleanup());

  test('destroyOnRemoval: buckets are emptied and deleted with the stack', () => {
    for (const prefix of ['DataBucket', 'DataAccessLogs']) {
      const bucket = resources[logicalIdStartingWith(synthesized.template, 'AWS::S3::Bucket', prefix)];
      assert.equal(bucket.DeletionPolicy, 'Delete');
    }
    assert.equal(resourcesOfType(synthesized.template, 'Custom::S3AutoDeleteObjects').length, 2);
    for (const [, group] of resourcesOfType(synthesized.template, 'AWS::Logs::LogGroup')) {
      assert.equal(group.DeletionPolicy, 'Delete');
      assert.equal(group.Properties.RetentionInDays, 7);
    }
  });

  test('the schedule targets the trigger function', () => {
    const rule = resources[logicalIdStartingWith(synthesized.template, 'AWS::Events::Rule', 'TriggersRetrainSchedule')];
    assert.equal(rule.Properties.ScheduleExpression, 'rate(7 days)');
    const trigger = logicalIdStartingWith(synthesized.template, 'AWS::Lambda::Function', 'TriggersFunction');
    assert.deepEqual(rule.Properties.Targets[0].Arn, { 'Fn::GetAtt': [trigger, 'Arn'] });
  });

  test('alarms notify an encrypted, TLS-only topic with the mail subscribed', () => {
    const topic = logicalIdStartingWith(synthesized.template, 'AWS::SNS::Topic', 'WorkflowAlarmTopic');
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ml-ops@example.com',
      TopicArn: { Ref: topic },
    });
    for (const [, alarm] of resourcesOfType(synthesized.template, 'AWS::CloudWatch::Alarm')) {
      assert.deepEqual(alarm.Properties.AlarmActions, [{ Ref: topic }]);
    }
  });

  test('the Lambda budget comes from context', () => {
    const machine = resources[logicalIdStartingWith(synthesized.template, 'AWS::StepFunctions::StateMachine', 'Workflow')];
    const text = JSON.stringify(machine.Properties.DefinitionString);
    assert.match(text, /\\"lambdaTrainMaxImages\\":100000/);
  });

  test('cdk-nag AwsSolutions: no finding left unacknowledged here either', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.stack);
    assert.deepEqual(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`), []);
  });
});
