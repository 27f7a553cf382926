import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { POWERTOOLS_METRICS_NAMESPACE } from '../../infra/node-function.ts';
import { repoPath } from '../../infra/paths.ts';
import { synthesizeStack, type SynthesizedStack } from '../../infra/synthesized-definition.ts';
import { PUBLISHED_METRICS } from '../../lib/workflow/published-metrics.ts';
import { allowedOf, type Json, logicalIdStartingWith, render, resourcesOfType, roleOf } from './template-helpers.ts';

/** One charted metric: namespace, name and dimensions (CloudFormation references as <LogicalId>). */
interface Charted {
  widget: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  stat: string;
}

let synthesized: SynthesizedStack;
let resources: Record<string, Json>;
let charted: Charted[];
const id = (type: string, prefix: string) => logicalIdStartingWith(synthesized.template, type, prefix);
const find = (namespace: string, name: string, dimensions: Record<string, string>) =>
  charted.filter((m) => m.namespace === namespace && m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dimensions));

before(() => {
  synthesized = synthesizeStack();
  resources = synthesized.template.toJSON().Resources;
  const [[, dashboard], ...others] = resourcesOfType(synthesized.template, 'AWS::CloudWatch::Dashboard');
  assert.equal(others.length, 0);
  const body = JSON.parse(render(dashboard.Properties.DashboardBody)) as { widgets: { properties: { title: string; metrics?: unknown[][] } }[] };
  charted = body.widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).map((row) => {
      const options = (typeof row.at(-1) === 'object' ? row.at(-1) : {}) as { stat?: string };
      const [namespace, name, ...pairs] = row.filter((cell) => typeof cell === 'string') as string[];
      const dimensions = Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]]));
      return { widget: widget.properties.title, namespace, name, dimensions, stat: options.stat ?? 'Average' };
    }),
  );
});
after(() => synthesized.cleanup());

describe('the workflow dashboard', () => {
  test('is named after the stack and always there', () => {
    const [[, dashboard]] = resourcesOfType(synthesized.template, 'AWS::CloudWatch::Dashboard');
    assert.equal(dashboard.Properties.DashboardName, 'FashionMnist-training');
  });

  test('executions started, succeeded, failed, timed out and aborted (Sum), and execution time, of this state machine', () => {
    const machine = { StateMachineArn: `<${id('AWS::StepFunctions::StateMachine', 'Workflow')}>` };
    for (const name of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      assert.deepEqual(find('AWS/States', name, machine).map((m) => m.stat), ['Sum'], name);
    }
    assert.deepEqual(find('AWS/States', 'ExecutionTime', machine).map((m) => m.stat).sort(), ['Average', 'Maximum']);
  });

  test('duration (maximum), errors and throttles of every function the state machine invokes, and of no other', () => {
    const machineRole = roleOf(synthesized.template, id('AWS::StepFunctions::StateMachine', 'Workflow'));
    const invoked = allowedOf(synthesized.template, machineRole)
      .filter((line) => line.startsWith('lambda:InvokeFunction '))
      .map((line) => /^lambda:InvokeFunction <(\w+)\.Arn>$/.exec(line)![1])
      .sort();
    assert.ok(invoked.length >= 6, invoked.join(', '));
    for (const [name, stat] of [['Duration', 'Maximum'], ['Errors', 'Sum'], ['Throttles', 'Sum']]) {
      const functions = charted.filter((m) => m.namespace === 'AWS/Lambda' && m.name === name);
      assert.deepEqual(functions.map((m) => /^<(\w+)>$/.exec(m.dimensions.FunctionName)![1]).sort(), invoked, name);
      assert.ok(functions.every((m) => m.stat === stat && Object.keys(m.dimensions).length === 1), name);
    }
  });

  test('the Fargate task’s CPU, memory and storage from Container Insights, which the cluster enables', () => {
    const cluster = id('AWS::ECS::Cluster', 'TrainingCluster');
    const family = resources[id('AWS::ECS::TaskDefinition', 'TrainingTaskDefinition')].Properties.Family;
    assert.equal(typeof family, 'string');
    assert.deepEqual(resources[cluster].Properties.ClusterSettings, [{ Name: 'containerInsights', Value: 'enabled' }]);
    for (const name of ['CpuUtilized', 'MemoryUtilized', 'EphemeralStorageUtilized']) {
      assert.equal(find('ECS/ContainerInsights', name, { ClusterName: `<${cluster}>`, TaskDefinitionFamily: family }).length, 1, name);
    }
  });

  test('every custom metric the handlers publish, in their namespace with their service dimension', () => {
    const custom = charted.filter((m) => m.namespace === POWERTOOLS_METRICS_NAMESPACE);
    const expected = Object.entries(PUBLISHED_METRICS).flatMap(([service, names]) => names.map((name) => `${service}/${name}`));
    assert.deepEqual(custom.map((m) => `${m.dimensions.service}/${m.name}`).sort(), expected.sort());
    assert.ok(custom.every((m) => Object.keys(m.dimensions).length === 1));
    // The real names, spelled out: a catalog edit that drops one shows here.
    for (const name of ['fmnist-evaluate/TestAccuracy', 'fmnist-evaluate/MacroF1', 'fmnist-evaluate/TestLoss', 'fmnist-train/ImagesPerSecond', 'fmnist-train/TrainingSeconds', 'fmnist-train/ValAccuracy', 'fmnist-ingest/TrainExamples']) {
      assert.ok(expected.includes(name), name);
    }
  });

  test('the namespace is the one the functions are given; each service is the name its handler publishes under', () => {
    for (const prefix of ['StepsIngest', 'StepsEvaluate', 'TrainingTrainFunction']) {
      const fn = resources[id('AWS::Lambda::Function', prefix)];
      assert.equal(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_METRICS_NAMESPACE, prefix);
    }
    for (const service of Object.keys(PUBLISHED_METRICS)) {
      const source = readFileSync(repoPath(`functions/${service.replace(/^fmnist-/, '')}/handler.ts`), 'utf8');
      assert.match(source, new RegExp(`handlerDeps\\(deps, '${service}', `), service);
    }
  });

  test('at most 50 metrics: within the free tier’s three dashboards of 50', () => {
    assert.ok(charted.length <= 50, String(charted.length));
  });
});
