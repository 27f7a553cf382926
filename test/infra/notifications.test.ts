import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Node } from 'constructs';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FINISHED_EXECUTION_STATUSES } from '../../infra/notifications.ts';
import { settingsFromContext } from '../../infra/settings.ts';
import { cdkJsonContext, synthesizeStack, type SynthesizedStack } from '../../infra/synthesized-definition.ts';
import { REGISTRY_DETAIL_TYPES, REGISTRY_EVENT_SOURCE } from '../../lib/workflow/registry-events.ts';
import { type Json, logicalIdStartingWith, resourcesOfType } from './template-helpers.ts';

describe('notifyEmail (CDK context)', () => {
  const settings = (context: Record<string, unknown>) => settingsFromContext(Node.of(new App({ context })));

  test('off by default and in cdk.json (""); an address turns it on', () => {
    assert.equal(cdkJsonContext().notifyEmail, '');
    assert.equal(settings({}).notifyEmail, undefined);
    assert.equal(settings({ notifyEmail: '' }).notifyEmail, undefined);
    assert.equal(settings({ notifyEmail: ' ml-ops@example.com ' }).notifyEmail, 'ml-ops@example.com');
  });

  test('anything but an e-mail address fails the synth naming the key, as alarmEmail does', () => {
    for (const key of ['notifyEmail', 'alarmEmail']) {
      for (const bad of ['ml-ops', 'ml-ops@', '@example.com', 'a b@example.com', 'ops@example.com,boss@example.com']) {
        assert.throws(() => settings({ [key]: bad }), { name: 'ConfigError', message: `context "${key}" must be an e-mail address like me@example.com, got ${JSON.stringify(bad)}` });
      }
    }
    assert.throws(() => settings({ notifyEmial: 'a@example.com' }), /unknown key \(did you mean "notifyEmail"\?\)/);
  });
});

describe('without notifyEmail', () => {
  let synthesized: SynthesizedStack;
  before(() => {
    synthesized = synthesizeStack();
  });
  after(() => synthesized.cleanup());

  test('no topic, key, rule or output of the notifications', () => {
    const ids = Object.keys(synthesized.template.toJSON().Resources);
    assert.deepEqual(ids.filter((id) => id.startsWith('Notifications')), []);
    assert.equal(resourcesOfType(synthesized.template, 'AWS::KMS::Key').length, 0);
    assert.equal((synthesized.template.toJSON().Outputs as Json).NotificationTopicArn, undefined);
    for (const [, rule] of resourcesOfType(synthesized.template, 'AWS::Events::Rule')) {
      assert.notDeepEqual(rule.Properties.EventPattern?.source, [REGISTRY_EVENT_SOURCE]);
    }
  });
});

describe('with notifyEmail', () => {
  let synthesized: SynthesizedStack;
  let resources: Record<string, Json>;
  const id = (type: string, prefix: string) => logicalIdStartingWith(synthesized.template, type, prefix);
  before(() => {
    synthesized = synthesizeStack({ context: { notifyEmail: 'ml-ops@example.com' } });
    resources = synthesized.template.toJSON().Resources;
  });
  after(() => synthesized.cleanup());

  test('the address is subscribed to a topic encrypted with a rotated customer-managed key; its ARN is an output', () => {
    const topic = id('AWS::SNS::Topic', 'NotificationsTopic');
    const key = id('AWS::KMS::Key', 'NotificationsKey');
    assert.deepEqual(resources[topic].Properties.KmsMasterKeyId, { 'Fn::GetAtt': [key, 'Arn'] });
    assert.equal(resources[key].Properties.EnableKeyRotation, true);
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-ops@example.com', TopicArn: { Ref: topic } });
    assert.deepEqual((synthesized.template.toJSON().Outputs as Json).NotificationTopicArn.Value, { Ref: topic });
  });

  test('the key policy lets EventBridge encrypt for the topic (kms:Decrypt, kms:GenerateDataKey*), and no other service', () => {
    const statements = resources[id('AWS::KMS::Key', 'NotificationsKey')].Properties.KeyPolicy.Statement as Json[];
    const services = statements.filter((st) => st.Principal?.Service);
    assert.deepEqual(services.map((st) => [st.Effect, st.Principal.Service, st.Action]), [['Allow', 'events.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey*']]]);
  });

  test('the topic policy: TLS only; EventBridge may publish for this stack’s two notification rules only', () => {
    const topic = id('AWS::SNS::Topic', 'NotificationsTopic');
    const [policy] = resourcesOfType(synthesized.template, 'AWS::SNS::TopicPolicy')
      .map(([, p]) => p)
      .filter((p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([{ Ref: topic }]));
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    assert.ok(statements.some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    const allow = statements.filter((st) => st.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0].Principal, { Service: 'events.amazonaws.com' });
    assert.equal(allow[0].Action, 'sns:Publish');
    assert.deepEqual(allow[0].Condition, {
      ArnEquals: { 'aws:SourceArn': [{ 'Fn::GetAtt': [id('AWS::Events::Rule', 'NotificationsRunFinished'), 'Arn'] }, { 'Fn::GetAtt': [id('AWS::Events::Rule', 'NotificationsChampionChanged'), 'Arn'] }] },
    });
  });

  test('run finished: this state machine’s executions that succeeded, failed, timed out or were aborted', () => {
    const rule = resources[id('AWS::Events::Rule', 'NotificationsRunFinished')].Properties;
    assert.deepEqual(rule.EventPattern, {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [{ Ref: id('AWS::StepFunctions::StateMachine', 'Workflow') }], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    assert.deepEqual([...FINISHED_EXECUTION_STATUSES], ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
    assert.equal(rule.Targets.length, 1);
    assert.deepEqual(rule.Targets[0].Arn, { Ref: id('AWS::SNS::Topic', 'NotificationsTopic') });
    assert.deepEqual(rule.Targets[0].InputTransformer, {
      InputPathsMap: { 'detail-name': '$.detail.name', 'detail-status': '$.detail.status', 'detail-executionArn': '$.detail.executionArn' },
      InputTemplate: '"fmnist training run <detail-name> ended <detail-status> (execution <detail-executionArn>)"',
    });
  });

  test('champion changed: both registry detail types, with run, accuracy, macro F1, previous, who and why', () => {
    const rule = resources[id('AWS::Events::Rule', 'NotificationsChampionChanged')].Properties;
    assert.deepEqual(rule.EventPattern, { source: [REGISTRY_EVENT_SOURCE], 'detail-type': [REGISTRY_DETAIL_TYPES.promoted, REGISTRY_DETAIL_TYPES.rolledBack] });
    const { InputPathsMap, InputTemplate } = rule.Targets[0].InputTransformer;
    for (const field of ['runId', 'testSetId', 'accuracy', 'macroF1', 'previous', 'reason', 'by', 'bucket', 'reportPrefix']) {
      assert.equal(InputPathsMap[`detail-${field}`], `$.detail.${field}`);
      assert.ok(InputTemplate.includes(`<detail-${field}>`), field);
    }
    assert.equal(InputPathsMap['detail-type'], '$.detail-type');
    assert.match(InputTemplate, /^"fmnist <detail-type> on test set <detail-testSetId>: run <detail-runId>, accuracy <detail-accuracy>,/);
  });

  test('no role: EventBridge publishes under the topic policy; no target grants more', () => {
    for (const prefix of ['NotificationsRunFinished', 'NotificationsChampionChanged']) {
      assert.equal(resources[id('AWS::Events::Rule', prefix)].Properties.Targets[0].RoleArn, undefined);
    }
  });

  test('cdk-nag AwsSolutions: no finding left unacknowledged with notifications on', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.stack);
    assert.deepEqual(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`), []);
  });
});
