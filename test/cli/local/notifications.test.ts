import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { EventBus, type BusEvent } from '../../../cli/local/cloud/eventbridge.ts';
import { IamAuthorizer } from '../../../cli/local/cloud/iam.ts';
import { selectPath, targetInput } from '../../../cli/local/cloud/input-transformer.ts';
import type { LambdaService } from '../../../cli/local/cloud/lambda-service.ts';
import { checkDeployable, DeploymentError } from '../../../cli/local/cloud/local-cloud.ts';
import { readCloudModel, type CloudModel, type RuleTarget } from '../../../cli/local/cloud/model.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type Template, TemplateError } from '../../../cli/local/cloud/template.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';
import { REGISTRY_DETAIL_TYPES, REGISTRY_EVENT_SOURCE, type ChampionChangeDetail } from '../../../lib/workflow/registry-events.ts';
import { cloudTemplate } from '../../support/cloud-template.ts';

/**
 * The stack's notification rules (notifyEmail), deployed into the local bus from the stack's own
 * template: EventBridge's input transformer turns each event into the message the topic would
 * mail, and the publish is authorised as AWS authorises it (the topic policy for this rule, the
 * key policy for EventBridge). Lambda targets (stop-training) are recorded, not run.
 */
let template: Template;
before(async () => {
  template = (await loadStackTemplate({ context: { notifyEmail: 'ops@example.com' } })).template;
});

const modelOf = (t: Template) => readCloudModel(t, { region: LOCAL_REGION, account: LOCAL_ACCOUNT, partition: 'aws', bucketNames: {} });

function busOf(model: CloudModel): { bus: EventBus; invoked: string[] } {
  const invoked: string[] = [];
  const lambda = { invoke: async (fn: { name: string }) => void invoked.push(fn.name) } as unknown as LambdaService;
  return { bus: new EventBus(model, lambda, new IamAuthorizer(model)), invoked };
}

const topicIdOf = (model: CloudModel) => {
  assert.equal(model.topics.filter((topic) => topic.logicalId.startsWith('NotificationsTopic')).length, 1);
  return model.topics.find((topic) => topic.logicalId.startsWith('NotificationsTopic'))!.logicalId;
};

const champion = (overrides: Partial<ChampionChangeDetail> = {}): ChampionChangeDetail => ({
  runId: 'run-2',
  testSetId: 'ts-abc',
  datasetId: 'ds-1',
  accuracy: 0.9132,
  macroF1: 0.9101,
  modelPrefix: 'runs/run-2/model/',
  reportPrefix: 'runs/run-2/report/',
  previous: 'run-1',
  reason: 'accuracy 0.9132 > champion 0.9010',
  by: 'promote',
  bucket: 'fmnist-data',
  ...overrides,
});

const registryEvent = (detailType: string, detail: ChampionChangeDetail): BusEvent => ({ source: REGISTRY_EVENT_SOURCE, 'detail-type': detailType, detail: { ...detail } });

function executionEvent(model: CloudModel, status: string, stateMachineArn = model.stateMachine.arn): BusEvent {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:fmnist-run-7`;
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    resources: [executionArn],
    detail: { executionArn, stateMachineArn, name: 'fmnist-run-7', status, startDate: 1, stopDate: 2 },
  };
}

describe('the notification rules on the local bus', () => {
  test('a Champion Promoted event: one message to the topic, the transformer filling in run, accuracy, reason and who', async () => {
    const model = modelOf(template);
    const { bus, invoked } = busOf(model);
    bus.put(registryEvent(REGISTRY_DETAIL_TYPES.promoted, champion()));
    await bus.drain();
    assert.deepEqual(bus.deliveries, [
      {
        rule: model.rules.find((rule) => rule.logicalId.startsWith('NotificationsChampionChanged'))!.name,
        target: topicIdOf(model),
        kind: 'sns',
        attempts: 1,
        outcome: 'succeeded',
        message:
          '"fmnist Champion Promoted on test set ts-abc: run run-2, accuracy 0.9132, macro F1 0.9101, previous champion run-1; ' +
          'by promote: accuracy 0.9132 > champion 0.9010 (report s3://fmnist-data/runs/run-2/report/)"',
      },
    ]);
    assert.deepEqual(invoked, []);
  });

  test('a rollback with no previous champion: its null is written as JSON, inside the message', async () => {
    const { bus } = busOf(modelOf(template));
    bus.put(registryEvent(REGISTRY_DETAIL_TYPES.rolledBack, champion({ previous: null, by: 'alice', reason: 'bad labels in run-2' })));
    await bus.drain();
    assert.equal(bus.deliveries.length, 1);
    assert.match(bus.deliveries[0].message!, /^"fmnist Champion Rolled Back on test set ts-abc: run run-2, .* previous champion null; by alice: bad labels in run-2 /);
  });

  test('an execution of this state machine that succeeded: mailed; one that failed: mailed and stop-training invoked', async () => {
    const model = modelOf(template);
    const { bus, invoked } = busOf(model);
    bus.put(executionEvent(model, 'SUCCEEDED'));
    await bus.drain();
    const executionArn = model.stateMachine.arn.replace(':stateMachine:', ':execution:') + ':fmnist-run-7';
    assert.deepEqual(
      bus.deliveries.map((delivery) => [delivery.target, delivery.outcome, delivery.message]),
      [[topicIdOf(model), 'succeeded', `"fmnist training run fmnist-run-7 ended SUCCEEDED (execution ${executionArn})"`]],
    );
    bus.put(executionEvent(model, 'FAILED'));
    await bus.drain();
    assert.equal(bus.deliveries.length, 3);
    assert.equal(bus.deliveries.filter((delivery) => delivery.kind === 'sns')[1].message, `"fmnist training run fmnist-run-7 ended FAILED (execution ${executionArn})"`);
    assert.equal(invoked.length, 1, 'the stop-training rule matched too');
  });

  test('a running execution, or another state machine’s, sends nothing', async () => {
    const model = modelOf(template);
    const { bus } = busOf(model);
    bus.put(executionEvent(model, 'RUNNING'));
    bus.put(executionEvent(model, 'SUCCEEDED', 'arn:aws:states:us-east-1:123456789012:stateMachine:Other'));
    bus.put({ source: 'fmnist.other', 'detail-type': REGISTRY_DETAIL_TYPES.promoted, detail: { ...champion() } });
    await bus.drain();
    assert.deepEqual(bus.deliveries, []);
  });

  test('without notifyEmail the stack has no topic and no such rule: nothing is sent', async () => {
    const model = modelOf((await loadStackTemplate()).template);
    assert.equal(model.topics.filter((topic) => topic.logicalId.startsWith('Notifications')).length, 0);
    const { bus } = busOf(model);
    bus.put(registryEvent(REGISTRY_DETAIL_TYPES.promoted, champion()));
    await bus.drain();
    assert.deepEqual(bus.deliveries, []);
  });
});

describe('publishing to a topic is authorised as AWS does it', () => {
  /** The stack's template with one policy statement of `type` (by Sid) removed. */
  function without(type: 'AWS::SNS::TopicPolicy' | 'AWS::KMS::Key', sid: string): Template {
    const copy = structuredClone(template);
    for (const resource of Object.values(copy.Resources)) {
      if (resource.Type !== type || !resource.Properties) continue;
      const document = (type === 'AWS::KMS::Key' ? resource.Properties.KeyPolicy : resource.Properties.PolicyDocument) as { Statement: { Sid?: string }[] };
      const before = document.Statement.length;
      document.Statement = document.Statement.filter((statement) => statement.Sid !== sid);
      if (document.Statement.length < before) return copy;
    }
    throw new Error(`no statement ${sid} in a ${type}`);
  }

  test('a topic policy that does not let this rule publish: the delivery fails with AccessDenied, nothing is sent', async () => {
    const { bus } = busOf(modelOf(without('AWS::SNS::TopicPolicy', 'ThisStacksNotificationRules')));
    bus.put(registryEvent(REGISTRY_DETAIL_TYPES.promoted, champion()));
    await bus.drain();
    assert.equal(bus.deliveries[0].outcome, 'failed');
    assert.match(bus.deliveries[0].error!, /^AccessDenied: events\.amazonaws\.com is not authorized to perform: sns:Publish on resource: arn:aws:sns:/);
  });

  test('a key policy without EventBridge: the encrypted topic refuses the message', async () => {
    const { bus } = busOf(modelOf(without('AWS::KMS::Key', 'EventBridgePublishesToTheTopic')));
    bus.put(registryEvent(REGISTRY_DETAIL_TYPES.promoted, champion()));
    await bus.drain();
    assert.equal(bus.deliveries[0].outcome, 'failed');
    assert.match(bus.deliveries[0].error!, /kms:GenerateDataKey/);
  });
});

describe('a rule the local bus cannot deliver', () => {
  const withQueueTarget = (): Template => {
    const t = cloudTemplate({ functions: [{ id: 'Echo', handler: 'echo' }] });
    t.Resources.Queue = { Type: 'AWS::SQS::Queue', Properties: {} };
    t.Resources.ToQueue = {
      Type: 'AWS::Events::Rule',
      Properties: { EventPattern: { source: ['aws.states'] }, State: 'ENABLED', Targets: [{ Id: 'Q', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }] },
    };
    return t;
  };

  test('refuses to deploy, naming the rule and the target, rather than skip it', () => {
    const model = modelOf(withQueueTarget());
    assert.throws(() => checkDeployable(model), (error: Error) => {
      assert.ok(error instanceof DeploymentError);
      assert.match(error.message, /ToQueue: target Q \(arn:aws:sqs:us-east-1:123456789012:Queue\) is neither a Lambda function nor an SNS topic/);
      return true;
    });
    assert.throws(() => busOf(model), TemplateError, 'the bus itself refuses it too');
  });

  test('a transformer path EventBridge does not support fails the template read, naming the target', () => {
    const t = cloudTemplate({ functions: [{ id: 'Echo', handler: 'echo' }], rules: [{ id: 'OnAny', pattern: { source: ['x'] }, target: 'Echo' }] });
    (t.Resources.OnAny.Properties!.Targets as Record<string, unknown>[])[0].InputTransformer = { InputPathsMap: { who: "$.detail['by']" }, InputTemplate: '"<who>"' };
    assert.throws(() => modelOf(t), /OnAny\.Properties\.Targets\[0\]\.InputTransformer\.InputPathsMap\.who: .* JSON path syntax EventBridge does not support/);
  });
});

describe('input transformer semantics', () => {
  const rule = { arn: 'arn:aws:events:us-east-1:123456789012:rule/R', name: 'R' };
  const event = { source: 's', 'detail-type': 'T', detail: { name: 'a "quoted" run', n: 0.5, ok: true, none: null, list: [{ id: 'x' }, { id: 'y' }], nested: { k: 1 } } };
  const transform = (inputPathsMap: Record<string, string>, inputTemplate: string) =>
    targetInput({ inputTransformer: { inputPathsMap, inputTemplate } }, event, { rule, ingestionTime: '2026-12-03T00:00:00Z' });

  test('inside a JSON string, strings go in as they are (unescaped); numbers, booleans, null and objects as JSON', () => {
    assert.equal(
      transform({ name: '$.detail.name', n: '$.detail.n', ok: '$.detail.ok', none: '$.detail.none', nested: '$.detail.nested' }, '"<name> n=<n> ok=<ok> none=<none> <nested>"'),
      '"a "quoted" run n=0.5 ok=true none=null {"k":1}"',
    );
  });

  test('outside a string, every value as its JSON; escaped quotes inside a string do not end it', () => {
    assert.equal(transform({ name: '$.detail.name', n: '$.detail.n' }, '{"name": <name>, "n": <n>, "s": "say \\"<n>\\""}'), '{"name": "a \\"quoted\\" run", "n": 0.5, "s": "say \\"0.5\\""}');
  });

  test('a path that matches nothing creates no variable: its placeholder is left out; an undeclared <name> stays text', () => {
    assert.equal(transform({ gone: '$.detail.missing' }, '"[<gone>] <other>"'), '"[] <other>"');
  });

  test('array indices, wildcards, detail-type and the predefined variables', () => {
    assert.equal(transform({ second: '$.detail.list[1].id', type: '$.detail-type' }, '"<second> <type> <aws.events.rule-name> <aws.events.rule-arn>"'), `"y T R ${rule.arn}"`);
    assert.deepEqual(selectPath(event, '$.detail.list[*].id'), ['x', 'y']);
    assert.equal(transform({}, '{"e": <aws.events.event>}'), '{"e": {"source":"s","detail-type":"T"}}');
    assert.equal(JSON.parse(transform({}, '<aws.events.event.json>')).detail.n, 0.5);
  });

  test('Input and InputPath: the constant, or the selected part as JSON; no input settings: the whole event', () => {
    const base: RuleTarget = { id: 't', arn: 'a' };
    const context = { rule, ingestionTime: 'now' };
    assert.equal(targetInput({ ...base, input: '{"fixed":1}' }, event, context), '{"fixed":1}');
    assert.equal(targetInput({ ...base, inputPath: '$.detail.nested' }, event, context), '{"k":1}');
    assert.deepEqual(JSON.parse(targetInput(base, event, context)), event);
  });
});
