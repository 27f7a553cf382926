import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Node } from 'constructs';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_SETTINGS, settingsFromContext, TRAIN_RESERVED_CONCURRENCY } from '../../infra/settings.ts';
import { synthesizeStack, type SynthesizedStack } from '../../infra/synthesized-definition.ts';
import { logicalIdStartingWith, resourcesOfType, type Json } from './template-helpers.ts';

describe('settings from CDK context', () => {
  const settings = (context: Record<string, unknown>) => settingsFromContext(Node.of(new App({ context })));

  test('defaults: retain data, no schedule, 30 days of logs, the Dockerfile’s base image, 2 train Lambdas at most', () => {
    assert.deepEqual(settings({}), { ...DEFAULT_SETTINGS, retrainSchedule: undefined, alarmEmail: undefined, notifyEmail: undefined, trainBaseImage: undefined, promotionMinMacroF1: undefined });
    assert.equal(DEFAULT_SETTINGS.destroyOnRemoval, false);
    assert.equal(DEFAULT_SETTINGS.trainReservedConcurrency, TRAIN_RESERVED_CONCURRENCY);
    assert.equal(TRAIN_RESERVED_CONCURRENCY, 2);
  });

  test('command-line strings and cdk.json values both work; empty strings mean unset', () => {
    const s = settings({ destroyOnRemoval: 'true', logRetentionDays: '7', retrainSchedule: 'rate(7 days)', alarmEmail: '' });
    assert.equal(s.destroyOnRemoval, true);
    assert.equal(s.logRetentionDays, 7);
    assert.equal(s.retrainSchedule, 'rate(7 days)');
    assert.equal(s.alarmEmail, undefined);
    assert.equal(settings({ retrainSchedule: '' }).retrainSchedule, undefined);
  });

  test('data checks: the policy and each threshold from context, the others their defaults; a bad value is named', () => {
    assert.equal(DEFAULT_SETTINGS.dataChecks, 'warn');
    const s = settings({ dataChecks: 'fail', dataCheckMaxLeakShare: '0' });
    assert.equal(s.dataChecks, 'fail');
    assert.deepEqual(s.dataCheckThresholds, { ...DEFAULT_SETTINGS.dataCheckThresholds, maxLeakShare: 0 });
    assert.deepEqual(settings({ dataCheckMaxDuplicateShare: 0.2, dataCheckMaxLabelConflictShare: '' }).dataCheckThresholds, { ...DEFAULT_SETTINGS.dataCheckThresholds, maxDuplicateShare: 0.2 });
    assert.throws(() => settings({ dataChecks: 'strict' }), { message: 'context "dataChecks" must be "warn" or "fail", got "strict"' });
    assert.throws(() => settings({ dataCheckMaxLeakShare: 1.5 }), /context "dataCheckMaxLeakShare" must be a number from 0 to 1/);
  });

  test('bad values fail the synth with the key named', () => {
    assert.throws(() => settings({ destroyOnRemoval: 'yes' }), /destroyOnRemoval/);
    assert.throws(() => settings({ retrainSchedule: 'weekly' }), /retrainSchedule.*rate\(\.\.\.\) or cron\(\.\.\.\)/);
    assert.throws(() => settings({ lambdaTrainMaxImages: 0 }), /lambdaTrainMaxImages/);
  });

  test('each bad value is named with what it should be and what was given; every one is listed', () => {
    assert.throws(() => settings({ destroyOnRemoval: 'yes' }), { name: 'ConfigError', message: 'context "destroyOnRemoval" must be true or false, got "yes"' });
    assert.throws(() => settings({ lambdaTrainMaxImages: '0', logRetentionDays: 2.5 }), {
      message: 'context "logRetentionDays" must be a positive integer, got 2.5; context "lambdaTrainMaxImages" must be a positive integer, got "0"',
    });
  });

  test('a misspelt key is refused with the key meant, not silently ignored; other context keys pass', () => {
    assert.throws(() => settings({ destroyOnRemval: 'true' }), /context "destroyOnRemval": unknown key \(did you mean "destroyOnRemoval"\?\)/);
    assert.throws(() => settings({ logretentiondays: 7 }), /did you mean "logRetentionDays"/);
    assert.equal(settings({ '@aws-cdk/core:newStyleStackSynthesis': true, 'acknowledged-issue-numbers': [1], environment: 'dev' }).destroyOnRemoval, false);
  });

  const digest = 'sha256:' + 'ab12'.repeat(16);
  test('trainBaseImage: an image pinned by digest, with or without its tag', () => {
    for (const image of [
      `public.ecr.aws/lambda/nodejs:22@${digest}`,
      `public.ecr.aws/lambda/nodejs@${digest}`,
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/lambda-nodejs:22.2025.01.01@${digest}`,
      `registry.example.com:5000/lambda/nodejs:22@${digest}`,
    ]) {
      assert.equal(settings({ trainBaseImage: image }).trainBaseImage, image);
    }
    assert.equal(settings({ trainBaseImage: '' }).trainBaseImage, undefined);
  });

  test('trainBaseImage: anything not pinned by a full sha256 digest fails, naming the key and how to look the digest up', () => {
    for (const image of [
      'public.ecr.aws/lambda/nodejs:22', // a tag moves
      `public.ecr.aws/lambda/nodejs:22@sha256:${'ab12'.repeat(15)}`, // 60 hex
      `public.ecr.aws/lambda/nodejs:22@sha256:${'AB12'.repeat(16)}`, // upper case
      `public.ecr.aws/lambda/nodejs:22@sha512:${'ab12'.repeat(32)}`,
      `nodejs:22@${digest}`, // no registry/repository
      `public.ecr.aws/lambda/nodejs:22@${digest} --build-arg X=1`,
      42,
    ]) {
      assert.throws(
        () => settings({ trainBaseImage: image }),
        (error: Error) => /context "trainBaseImage"/.test(error.message) && /docker buildx imagetools inspect/.test(error.message),
        String(image),
      );
    }
  });

  test('trainReservedConcurrency: a positive integer, or "none" for accounts that cannot reserve any', () => {
    assert.equal(settings({ trainReservedConcurrency: '5' }).trainReservedConcurrency, 5);
    assert.equal(settings({ trainReservedConcurrency: 3 }).trainReservedConcurrency, 3);
    assert.equal(settings({ trainReservedConcurrency: 'none' }).trainReservedConcurrency, undefined);
    for (const bad of [0, '0', '-1', '1.5', 'off', true]) {
      assert.throws(() => settings({ trainReservedConcurrency: bad }), /context "trainReservedConcurrency" must be a positive integer or "none"/, String(bad));
    }
  });
});

const BASE_IMAGE = `public.ecr.aws/lambda/nodejs:22@sha256:${'0123456789abcdef'.repeat(4)}`;

/** The Docker build args of the stack's one image asset, from the cloud assembly's asset manifest. */
function imageBuildArgs(synthesized: SynthesizedStack): Record<string, string> | undefined {
  const manifest = JSON.parse(readFileSync(join(synthesized.app.outdir, `${synthesized.stack.artifactId}.assets.json`), 'utf8')) as Json;
  const images = Object.values(manifest.dockerImages ?? {}) as Json[];
  assert.equal(images.length, 1);
  return images[0].source.dockerBuildArgs;
}

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
        trainBaseImage: BASE_IMAGE,
        trainReservedConcurrency: 'none',
        dataChecks: 'fail',
        dataCheckMaxLeakShare: '0',
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

  test('the schedule’s target has the same dead-letter queue and retries as the upload rule', () => {
    const target = (prefix: string) => resources[logicalIdStartingWith(synthesized.template, 'AWS::Events::Rule', prefix)].Properties.Targets[0];
    const schedule = target('TriggersRetrainSchedule');
    const upload = target('TriggersRawUpload');
    assert.deepEqual(schedule.DeadLetterConfig, upload.DeadLetterConfig);
    assert.deepEqual(schedule.RetryPolicy, upload.RetryPolicy);
    assert.ok(schedule.DeadLetterConfig.Arn);
  });

  test('trainBaseImage reaches the Dockerfile as BASE_IMAGE; without it, no build args', () => {
    assert.deepEqual(imageBuildArgs(synthesized), { BASE_IMAGE });
    const plain = synthesizeStack();
    try {
      assert.equal(imageBuildArgs(plain), undefined);
    } finally {
      plain.cleanup();
    }
  });

  test('trainReservedConcurrency "none": nothing reserved', () => {
    const train = resources[logicalIdStartingWith(synthesized.template, 'AWS::Lambda::Function', 'TrainingTrainFunction')];
    assert.equal(train.Properties.ReservedConcurrentExecutions, undefined);
  });

  test('alarms notify the TLS-only topic with the mail subscribed', () => {
    const topic = logicalIdStartingWith(synthesized.template, 'AWS::SNS::Topic', 'AlarmsTopic');
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ml-ops@example.com',
      TopicArn: { Ref: topic },
    });
    const alarms = resourcesOfType(synthesized.template, 'AWS::CloudWatch::Alarm');
    assert.equal(alarms.length, 7);
    for (const [, alarm] of alarms) assert.deepEqual(alarm.Properties.AlarmActions, [{ Ref: topic }]);
  });

  test('the Lambda budget comes from context', () => {
    const machine = resources[logicalIdStartingWith(synthesized.template, 'AWS::StepFunctions::StateMachine', 'Workflow')];
    const text = JSON.stringify(machine.Properties.DefinitionString);
    assert.match(text, /\\"lambdaTrainMaxImages\\":100000/);
  });

  test('the data checks policy and thresholds come from context, into ValidateInput\'s payload', () => {
    const machine = resources[logicalIdStartingWith(synthesized.template, 'AWS::StepFunctions::StateMachine', 'Workflow')];
    const text = JSON.stringify(machine.Properties.DefinitionString);
    assert.match(text, /\\"defaultDataChecks\\":\{\\"policy\\":\\"fail\\",\\"thresholds\\":\{\\"maxDuplicateShare\\":0.01,\\"maxLeakShare\\":0,\\"maxLabelConflictShare\\":0.001,\\"maxLabelDistance\\":0.05,\\"maxClassMeanShift\\":20\}\}/);
  });

  test('cdk-nag AwsSolutions: no finding left unacknowledged here either', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.stack);
    assert.deepEqual(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`), []);
  });
});
