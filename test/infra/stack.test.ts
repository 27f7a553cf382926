import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synthesizeStack, type SynthesizedStack } from '../../lib/infra/synthesized-definition.ts';
import { TRAIN_IMAGE } from '../../lib/infra/training.ts';
import {
  grantsOfRole,
  type Json,
  logicalIdStartingWith,
  render,
  resourcesOfType,
  roleOf,
} from './template-helpers.ts';

let synthesized: SynthesizedStack;
let template: Template;
let resources: Record<string, Json>;
let bucketId: string;
const fn = (prefix: string) => logicalIdStartingWith(template, 'AWS::Lambda::Function', prefix);

before(() => {
  synthesized = synthesizeStack();
  template = synthesized.template;
  resources = template.toJSON().Resources;
  bucketId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'DataBucket');
});
after(() => synthesized.cleanup());

describe('data bucket', () => {
  test('encrypted, private, TLS only, versioned, logged, retained', () => {
    const bucket = resources[bucketId];
    assert.equal(bucket.DeletionPolicy, 'Retain');
    assert.equal(bucket.UpdateReplacePolicy, 'Retain');
    const p = bucket.Properties;
    assert.deepEqual(p.BucketEncryption.ServerSideEncryptionConfiguration, [
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    assert.deepEqual(p.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(p.VersioningConfiguration, { Status: 'Enabled' });
    assert.deepEqual(p.OwnershipControls.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    const logsId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'DataAccessLogs');
    assert.deepEqual(p.LoggingConfiguration.DestinationBucketName, { Ref: logsId });
    const rules = p.LifecycleConfiguration.Rules as Json[];
    assert.ok(rules.some((r) => r.NoncurrentVersionExpiration?.NoncurrentDays === 30));
    assert.ok(rules.some((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 7));
  });

  test('the bucket policy denies requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('sends its events to EventBridge', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });
});

describe('functions', () => {
  const expected = {
    StepsValidate: { memory: 256, timeout: 30, arch: 'arm64' },
    StepsIngest: { memory: 2048, timeout: 600, arch: 'arm64', tmp: 2048 },
    StepsEvaluate: { memory: 3008, timeout: 600, arch: 'x86_64', tmp: 1024 },
    StepsPromote: { memory: 256, timeout: 60, arch: 'arm64' },
    TriggersFunction: { memory: 256, timeout: 30, arch: 'arm64' },
  };

  for (const [prefix, want] of Object.entries(expected)) {
    test(`${prefix}: Node.js 22, ${want.memory} MB, ${want.timeout} s, ${want.arch}, Powertools settings`, () => {
      const p = resources[fn(prefix)].Properties;
      assert.equal(p.Runtime, 'nodejs22.x');
      assert.equal(p.Handler, 'index.handler');
      assert.equal(p.MemorySize, want.memory);
      assert.equal(p.Timeout, want.timeout);
      assert.deepEqual(p.Architectures, [want.arch]);
      if ('tmp' in want) assert.equal(p.EphemeralStorage.Size, want.tmp);
      const env = p.Environment.Variables;
      assert.match(env.POWERTOOLS_SERVICE_NAME, /^fmnist-/);
      assert.equal(env.POWERTOOLS_METRICS_NAMESPACE, 'FashionMnist');
      assert.equal(env.LOG_LEVEL, 'INFO');
      assert.ok(p.LoggingConfig.LogGroup, 'its own log group');
    });
  }

  test('evaluate gets the report-renderer layer and reads its font from /opt/fonts', () => {
    const p = resources[fn('StepsEvaluate')].Properties;
    const layerId = logicalIdStartingWith(template, 'AWS::Lambda::LayerVersion', 'StepsReportRenderer');
    assert.deepEqual(p.Layers, [{ Ref: layerId }]);
    assert.equal(p.Environment.Variables.FMNIST_FONT_DIR, '/opt/fonts');
    assert.deepEqual(resources[layerId].Properties.CompatibleArchitectures, ['x86_64']);
    assert.equal(p.Environment.Variables.DATA_BUCKET.Ref, bucketId);
  });

  test('the train Lambda is the container image: 10,240 MB, 15 minutes, six threads', () => {
    const p = resources[fn('TrainingTrainFunction')].Properties;
    assert.equal(p.PackageType, 'Image');
    assert.equal(p.MemorySize, 10240);
    assert.equal(p.Timeout, 900);
    assert.deepEqual(p.Architectures, ['x86_64']);
    assert.equal(p.EphemeralStorage.Size, 4096);
    assert.deepEqual(p.ImageConfig.Command, TRAIN_IMAGE.lambdaCmd);
    const env = p.Environment.Variables;
    assert.equal(env.TF_NUM_INTRAOP_THREADS, '6');
    assert.equal(env.TF_NUM_INTEROP_THREADS, undefined, "inter-op threads stay TensorFlow's default (the graph step runs kernels side by side)");
    assert.equal(env.DATA_BUCKET.Ref, bucketId);
  });
});

describe('IAM: each principal gets only its prefixes', () => {
  const objects = (prefix: string) => `<${bucketId}.Arn>/${prefix}*`;
  const s3Grants = (roleId: string) =>
    grantsOfRole(template, roleId)
      .filter((g) => g.action.startsWith('s3:'))
      .map((g) => `${g.action} ${g.resource}${g.condition ? ' ' + JSON.stringify(g.condition) : ''}`)
      .sort();
  const expectS3 = (read: string[], write: string[]) =>
    [
      ...read.map((p) => `s3:GetObject ${objects(p)}`),
      ...(read.length
        ? [`s3:ListBucket <${bucketId}.Arn> ${JSON.stringify({ StringLikeIfExists: { 's3:prefix': read.map((p) => `${p}*`) } })}`]
        : []),
      ...write.flatMap((p) => [`s3:AbortMultipartUpload ${objects(p)}`, `s3:PutObject ${objects(p)}`]),
    ].sort();

  const cases: [string, () => string, string[], string[]][] = [
    ['ingest', () => roleOf(template, fn('StepsIngest')), ['raw/', 'datasets/'], ['datasets/']],
    ['train Lambda', () => roleOf(template, fn('TrainingTrainFunction')), ['datasets/'], ['runs/']],
    [
      'train Fargate task',
      () => roleOf(template, logicalIdStartingWith(template, 'AWS::ECS::TaskDefinition', 'TrainingTaskDefinition')),
      ['datasets/'],
      ['runs/'],
    ],
    ['evaluate', () => roleOf(template, fn('StepsEvaluate')), ['datasets/', 'runs/'], ['runs/']],
    ['promote', () => roleOf(template, fn('StepsPromote')), ['runs/', 'models/'], ['models/']],
    ['trigger', () => roleOf(template, fn('TriggersFunction')), ['raw/'], []],
    ['validate', () => roleOf(template, fn('StepsValidate')), [], []],
  ];
  for (const [name, role, read, write] of cases) {
    test(`${name}: read ${read.join(' ') || 'nothing'}, write ${write.join(' ') || 'nothing'}`, () => {
      assert.deepEqual(s3Grants(role()), expectS3(read, write));
    });
  }

  test('no policy anywhere allows s3:* or an S3 action on *', () => {
    for (const [id, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
      const statements = [policy.Properties.PolicyDocument.Statement].flat() as Json[];
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        const actions = [statement.Action].flat() as string[];
        const targets = [statement.Resource].flat().map(render);
        assert.ok(!actions.includes('s3:*') && !actions.includes('*'), `${id} allows ${actions}`);
        if (actions.some((a) => a.startsWith('s3:'))) assert.ok(!targets.includes('*'), `${id}: ${actions} on *`);
      }
    }
  });

  test('the Fargate task may answer only its own state machine', () => {
    const taskRole = roleOf(template, logicalIdStartingWith(template, 'AWS::ECS::TaskDefinition', 'TrainingTaskDefinition'));
    const machine = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    const states = grantsOfRole(template, taskRole).filter((g) => g.action.startsWith('states:'));
    assert.deepEqual(states.map((g) => g.action).sort(), ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess']);
    for (const g of states) assert.equal(g.resource, `<${machine}>`);
  });

  test('the trigger may start only the training workflow', () => {
    const machine = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    const grants = grantsOfRole(template, roleOf(template, fn('TriggersFunction'))).filter((g) => g.action.startsWith('states:'));
    assert.deepEqual(grants.map((g) => `${g.action} ${g.resource}`), [`states:StartExecution <${machine}>`]);
  });
});

describe('Fargate training', () => {
  test('4 vCPU / 16 GB, x86_64, runs the Fargate entry of the train image, logs to CloudWatch', () => {
    const id = logicalIdStartingWith(template, 'AWS::ECS::TaskDefinition', 'TrainingTaskDefinition');
    const p = resources[id].Properties;
    assert.equal(p.Cpu, '4096');
    assert.equal(p.Memory, '16384');
    assert.deepEqual(p.RequiresCompatibilities, ['FARGATE']);
    assert.deepEqual(p.RuntimePlatform, { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' });
    const [container] = p.ContainerDefinitions as Json[];
    assert.deepEqual(container.EntryPoint, ['node']);
    assert.deepEqual(container.Command, ['functions/train/fargate.mjs']);
    assert.equal(container.WorkingDirectory, '/var/task');
    assert.equal(container.LogConfiguration.LogDriver, 'awslogs');
    const env = Object.fromEntries((container.Environment as Json[]).map((e) => [e.Name, e.Value]));
    assert.deepEqual(env.DATA_BUCKET, { Ref: bucketId });
    assert.equal(env.TF_NUM_INTRAOP_THREADS, '4');
  });

  test('the task and the train Lambda use the same image asset (built once)', () => {
    const lambdaImage = render(resources[fn('TrainingTrainFunction')].Properties.Code.ImageUri);
    const id = logicalIdStartingWith(template, 'AWS::ECS::TaskDefinition', 'TrainingTaskDefinition');
    const taskImage = render(resources[id].Properties.ContainerDefinitions[0].Image);
    const hash = (uri: string) => /:([0-9a-f]{64})$/.exec(uri)?.[1];
    assert.ok(hash(lambdaImage), lambdaImage);
    assert.equal(hash(taskImage), hash(lambdaImage));
  });

  test('networking costs nothing idle: public subnets, no NAT, no inbound, HTTPS out', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    for (const [, subnet] of resourcesOfType(template, 'AWS::EC2::Subnet')) {
      assert.equal(subnet.Properties.MapPublicIpOnLaunch, true);
    }
    const sgId = logicalIdStartingWith(template, 'AWS::EC2::SecurityGroup', 'TrainingTaskSecurityGroup');
    const sg = resources[sgId].Properties;
    assert.equal(sg.SecurityGroupIngress, undefined);
    assert.deepEqual(sg.SecurityGroupEgress, [
      { CidrIp: '0.0.0.0/0', Description: 'AWS APIs (ECR, S3, Logs, Step Functions)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });
});

describe('trigger', () => {
  test('the rule matches S3 Object Created events for raw/…csv(.gz) in the data bucket', () => {
    const id = logicalIdStartingWith(template, 'AWS::Events::Rule', 'TriggersRawUpload');
    const rule = resources[id].Properties;
    assert.deepEqual(rule.EventPattern, {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: bucketId }] },
        object: { key: [{ wildcard: 'raw/*.csv' }, { wildcard: 'raw/*.csv.gz' }] },
      },
    });
    for (const { wildcard } of rule.EventPattern.detail.object.key) assert.ok(wildcard.startsWith('raw/'));
    assert.deepEqual(rule.Targets[0].Arn, { 'Fn::GetAtt': [fn('TriggersFunction'), 'Arn'] });
    assert.equal(rule.Targets[0].RetryPolicy.MaximumRetryAttempts, 4);
  });

  test('no retrain schedule unless configured', () => {
    assert.equal(resourcesOfType(template, 'AWS::Events::Rule').length, 1);
  });
});

describe('state machine', () => {
  test('Standard, traced, logs ALL with execution data to its log group', () => {
    const id = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    const p = resources[id].Properties;
    assert.equal(p.StateMachineType, 'STANDARD');
    assert.deepEqual(p.TracingConfiguration, { Enabled: true });
    assert.equal(p.LoggingConfiguration.Level, 'ALL');
    assert.equal(p.LoggingConfiguration.IncludeExecutionData, true);
    const logGroup = logicalIdStartingWith(template, 'AWS::Logs::LogGroup', 'WorkflowLogs');
    assert.deepEqual(p.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn, {
      'Fn::GetAtt': [logGroup, 'Arn'],
    });
    assert.equal(resources[logGroup].Properties.RetentionInDays, 30);
  });

  test('alarms on failed and timed-out executions', () => {
    const machine = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });
});

describe('outputs and checks', () => {
  test('DataBucketName and StateMachineArn, without exports', () => {
    const outputs = template.toJSON().Outputs as Json;
    const machine = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    assert.deepEqual(outputs.DataBucketName.Value, { Ref: bucketId });
    assert.deepEqual(outputs.StateMachineArn.Value, { Ref: machine });
    assert.equal(outputs.DataBucketName.Export, undefined);
    assert.equal(outputs.StateMachineArn.Export, undefined);
  });

  test('cdk-nag AwsSolutions: no finding left unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.stack);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    assert.deepEqual(findings, []);
  });

  test('every acknowledgment gives a reason', () => {
    let count = 0;
    for (const construct of synthesized.stack.node.findAll()) {
      for (const entry of construct.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules')) {
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          count++;
          assert.ok(typeof reason === 'string' && reason.length > 40, `${id} at ${construct.node.path}: "${reason}"`);
        }
      }
    }
    assert.ok(count >= 10, `expected the acknowledgments to be recorded, found ${count}`);
  });
});
