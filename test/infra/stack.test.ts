import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synthesizeStack, type SynthesizedStack } from '../../infra/synthesized-definition.ts';
import { TRAIN_IMAGE } from '../../infra/training.ts';
import {
  allowedOf,
  executionRoleOf,
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
const id = (type: string, prefix: string) => logicalIdStartingWith(template, type, prefix);
const taskDefinitionId = () => id('AWS::ECS::TaskDefinition', 'TrainingTaskDefinition');
const machineId = () => id('AWS::StepFunctions::StateMachine', 'Workflow');

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
    StopTrainingFunction: { memory: 256, timeout: 60, arch: 'arm64' },
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

  test('ingest is told the size of its /tmp (Lambda does not say)', () => {
    const p = resources[fn('StepsIngest')].Properties;
    assert.equal(p.Environment.Variables.FMNIST_EPHEMERAL_STORAGE_MIB, String(p.EphemeralStorage.Size));
    assert.equal(p.EphemeralStorage.Size, 2048);
  });

  test('stop-training knows the training cluster', () => {
    const env = resources[fn('StopTrainingFunction')].Properties.Environment.Variables;
    assert.deepEqual(env.TRAINING_CLUSTER_ARN, { 'Fn::GetAtt': [id('AWS::ECS::Cluster', 'TrainingCluster'), 'Arn'] });
  });

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
    // Six chains of single-threaded kernels (lib/model/graph/chains.ts), one per vCPU.
    assert.equal(env.TF_NUM_INTRAOP_THREADS, '1');
    assert.equal(env.TF_NUM_INTEROP_THREADS, '6');
    assert.equal(env.OMP_NUM_THREADS, '1');
    assert.equal(env.DATA_BUCKET.Ref, bucketId);
    assert.equal(p.ReservedConcurrentExecutions, 2, 'a cap on concurrent 10 GB training runs');
  });

  test('every function writes to its own log group and no other function reserves concurrency', () => {
    const groups = new Set<string>();
    for (const [logicalId, f] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      if (!f.Properties.LoggingConfig) continue; // CDK's helper functions (see the IAM tests)
      const group = f.Properties.LoggingConfig.LogGroup.Ref as string;
      assert.equal(resources[group].Type, 'AWS::Logs::LogGroup', logicalId);
      assert.ok(!groups.has(group), `${logicalId} shares ${group}`);
      groups.add(group);
      if (!logicalId.startsWith('TrainingTrainFunction')) assert.equal(f.Properties.ReservedConcurrentExecutions, undefined, logicalId);
    }
    assert.equal(groups.size, 9);
  });
});

describe('IAM: every role, exactly', () => {
  const B = () => `<${bucketId}.Arn>`;
  const logs = (logGroupPrefix: string) => {
    const group = id('AWS::Logs::LogGroup', logGroupPrefix);
    return [`logs:CreateLogStream <${group}.Arn>`, `logs:PutLogEvents <${group}.Arn>`];
  };
  const list = (...prefixes: string[]) => `s3:ListBucket ${B()} ${JSON.stringify({ StringLike: { 's3:prefix': prefixes } })}`;
  const get = (key: string) => `s3:GetObject ${B()}/${key}`;
  const put = (key: string) => `s3:PutObject ${B()}/${key}`;
  const remove = (key: string) => `s3:DeleteObject ${B()}/${key}`;
  const same = (actual: string[], expected: string[]) => assert.deepEqual(actual, [...expected].sort());

  test('validate: its logs and the run records (claim with a conditional put, read a taken one)', () => {
    same(allowedOf(template, roleOf(template, fn('StepsValidate'))), [
      ...logs('StepsValidateLogs'),
      list('runs/*/run.json'),
      get('runs/*/run.json'),
      put('runs/*/run.json'),
    ]);
  });

  test('ingest: get raw/, list, get and put datasets/, read the champions (drift checks) and a completed run to reuse (step caching)', () => {
    same(allowedOf(template, roleOf(template, fn('StepsIngest'))), [
      ...logs('StepsIngestLogs'),
      get('raw/*'),
      get('models/champions/*.json'),
      get('datasets/*'),
      get('models/step-cache/*.json'),
      get('models/registry/*/*.json'),
      get('runs/*/model/*'),
      list('datasets/*', 'models/champions/*.json', 'models/step-cache/*.json', 'models/registry/*/*.json', 'runs/*/model/*', 'runs/*/report/*'),
      put('datasets/*'),
    ]);
  });

  test('ingest knows the code version (the step cache key)', () => {
    const env = resources[fn('StepsIngest')].Properties.Environment.Variables;
    assert.equal(env.FMNIST_CODE_VERSION, resources[fn('StepsPromote')].Properties.Environment.Variables.FMNIST_CODE_VERSION);
    assert.ok(env.FMNIST_CODE_VERSION);
  });

  test('train Lambda: list and get datasets/, list, get and put runs/*/model/*, its checkpoints (list, get, put, delete)', () => {
    same(allowedOf(template, roleOf(template, fn('TrainingTrainFunction'))), [
      ...logs('TrainingTrainFunctionLogs'),
      list('datasets/*', 'runs/*/model/*', 'runs/*/checkpoint/*'),
      get('datasets/*'),
      get('runs/*/model/*'),
      get('runs/*/checkpoint/*'),
      put('runs/*/model/*'),
      put('runs/*/checkpoint/*'),
      remove('runs/*/checkpoint/*'),
    ]);
  });

  test('Fargate task role: the train Lambda’s access, its TrainEvent, and answering its own state machine', () => {
    same(allowedOf(template, roleOf(template, taskDefinitionId())), [
      list('datasets/*', 'runs/*/model/*', 'runs/*/checkpoint/*'),
      get('datasets/*'),
      get('runs/*/model/*'),
      get('runs/*/checkpoint/*'),
      get('runs/*/train-event.json'),
      put('runs/*/model/*'),
      put('runs/*/checkpoint/*'),
      remove('runs/*/checkpoint/*'),
      `states:SendTaskFailure <${machineId()}>`,
      `states:SendTaskHeartbeat <${machineId()}>`,
      `states:SendTaskSuccess <${machineId()}>`,
    ]);
  });

  test('Fargate execution role: pull the image, write the task log', () => {
    const repository =
      'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}';
    same(allowedOf(template, executionRoleOf(template, taskDefinitionId())), [
      `ecr:BatchCheckLayerAvailability ${repository}`,
      `ecr:BatchGetImage ${repository}`,
      `ecr:GetDownloadUrlForLayer ${repository}`,
      'ecr:GetAuthorizationToken *',
      ...logs('TrainingTaskLogs'),
    ]);
  });

  test('evaluate: datasets/ and the models in, the champions read, the report out (write-once: a taken key is read back)', () => {
    same(allowedOf(template, roleOf(template, fn('StepsEvaluate'))), [
      ...logs('StepsEvaluateLogs'),
      list('datasets/*', 'runs/*/model/*', 'runs/*/report/*', 'models/champions/*.json'),
      get('datasets/*'),
      get('runs/*/model/*'),
      get('runs/*/report/*'),
      get('models/champions/*.json'),
      put('runs/*/report/*'),
    ]);
  });

  test('promote: read the candidate run, register it, read and replace the champions of test splits, file their history, put registry events', () => {
    same(allowedOf(template, roleOf(template, fn('StepsPromote'))), [
      ...logs('StepsPromoteLogs'),
      list('runs/*/model/*', 'runs/*/report/*', 'runs/*/run.json', 'models/champions/*.json', 'models/registry/*/*.json', 'models/history/*/*'),
      get('runs/*/model/*'),
      get('runs/*/report/*'),
      get('runs/*/run.json'),
      get('models/champions/*.json'),
      get('models/registry/*/*.json'),
      get('models/history/*/*'),
      put('models/champions/*.json'),
      put('models/registry/*/*.json'),
      put('models/history/*/*'),
      put('models/step-cache/*.json'),
      // Only events of the registry's source, on the default bus.
      `events:PutEvents arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default ${JSON.stringify({ 'ForAnyValue:StringEquals': { 'events:source': 'fmnist.registry' } })}`,
    ]);
  });

  test('request-approval: file the approval request, nothing else', () => {
    same(allowedOf(template, roleOf(template, fn('StepsRequestApproval'))), [...logs('StepsRequestApprovalLogs'), put('models/approvals/*.json')]);
  });

  test('sweep: its record and page under sweeps/, and reading the trials\' history.json (learning curves), nothing else', () => {
    same(allowedOf(template, roleOf(template, fn('StepsSweep'))), [
      ...logs('StepsSweepLogs'),
      list('sweeps/*'),
      get('sweeps/*'),
      get('runs/*/model/history.json'),
      put('sweeps/*'),
    ]);
  });

  test('trigger: list raw/, start the workflow, send its failures to its queue', () => {
    same(allowedOf(template, roleOf(template, fn('TriggersFunction'))), [
      ...logs('TriggersFunctionLogs'),
      list('raw/*'),
      `states:StartExecution <${machineId()}>`,
      `sqs:SendMessage <${id('AWS::SQS::Queue', 'TriggersFailures')}.Arn>`,
    ]);
  });

  test('stop-training: this state machine’s execution histories, StopTask in the training cluster only', () => {
    const cluster = id('AWS::ECS::Cluster', 'TrainingCluster');
    same(allowedOf(template, roleOf(template, fn('StopTrainingFunction'))), [
      ...logs('StopTrainingFunctionLogs'),
      `states:GetExecutionHistory arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId()}.Name>:*`,
      `ecs:StopTask arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${cluster}>/* ${JSON.stringify({ ArnEquals: { 'ecs:cluster': `<${cluster}.Arn>` } })}`,
      `sqs:SendMessage <${id('AWS::SQS::Queue', 'StopTrainingFailures')}.Arn>`,
    ]);
  });

  test('state machine: its seven functions (unqualified), RunTask in its cluster, PassRole of the two task roles, the TrainEvent; "*" only for logs and X-Ray', () => {
    const taskDefinition = taskDefinitionId();
    const cluster = id('AWS::ECS::Cluster', 'TrainingCluster');
    const functions = ['StepsValidate', 'StepsIngest', 'TrainingTrainFunction', 'StepsEvaluate', 'StepsRequestApproval', 'StepsPromote', 'StepsSweep'];
    same(allowedOf(template, roleOf(template, machineId())), [
      ...functions.map((f) => `lambda:InvokeFunction <${fn(f)}.Arn>`),
      `ecs:RunTask <${taskDefinition}> ${JSON.stringify({ ArnEquals: { 'ecs:cluster': `<${cluster}.Arn>` } })}`,
      `iam:PassRole <${roleOf(template, taskDefinition)}.Arn>`,
      `iam:PassRole <${executionRoleOf(template, taskDefinition)}.Arn>`,
      put('runs/*/train-event.json'),
      ...[
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:UpdateLogDelivery',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].map((action) => `${action} *`),
    ]);
  });

  test('no other roles but CDK’s own helpers, which keep what CDK gives them', () => {
    const ours = [
      ...['StepsValidate', 'StepsIngest', 'StepsEvaluate', 'StepsRequestApproval', 'StepsPromote', 'StepsSweep', 'TrainingTrainFunction', 'TriggersFunction', 'StopTrainingFunction'].map((f) =>
        roleOf(template, fn(f)),
      ),
      roleOf(template, taskDefinitionId()),
      executionRoleOf(template, taskDefinitionId()),
      roleOf(template, machineId()),
    ];
    const helpers = resourcesOfType(template, 'AWS::IAM::Role')
      .map(([roleId]) => roleId)
      .filter((roleId) => !ours.includes(roleId))
      .sort();
    assert.deepEqual(
      helpers.map((roleId) => roleId.replace(/[0-9A-F]{8}$/, '')),
      ['BucketNotificationsHandler050a0587b7544547bf325f094a3db834Role', 'CustomVpcRestrictDefaultSGCustomResourceProviderRole'],
    );
    assert.deepEqual(
      grantsOfRole(template, helpers[0]).map((g) => `${g.action} ${g.resource}`),
      [`s3:PutBucketNotification ${B()}`],
    );
  });

  test('no policy anywhere allows s3:* or an S3 action on *', () => {
    for (const [policyId, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
      const statements = [policy.Properties.PolicyDocument.Statement].flat() as Json[];
      for (const statement of statements.filter((st) => st.Effect === 'Allow')) {
        const actions = [statement.Action].flat() as string[];
        const targets = [statement.Resource].flat().map(render);
        assert.ok(!actions.includes('s3:*') && !actions.includes('*'), `${policyId} allows ${actions}`);
        if (actions.some((a) => a.startsWith('s3:'))) assert.ok(!targets.includes('*'), `${policyId}: ${actions} on *`);
      }
    }
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
    assert.equal(env.TF_NUM_INTRAOP_THREADS, '1');
    assert.equal(env.TF_NUM_INTEROP_THREADS, '4', 'a chain per vCPU');
    assert.equal(env.FMNIST_HEARTBEAT_SECONDS, '60');
    for (const perRun of ['FMNIST_TRAIN_EVENT', 'FMNIST_TRAIN_EVENT_KEY', 'SFN_TASK_TOKEN']) assert.equal(env[perRun], undefined, perRun);
  });

  test('not root, read-only root filesystem, /tmp the only writable path (a scratch volume), HOME there', () => {
    const p = resources[taskDefinitionId()].Properties;
    const [container] = p.ContainerDefinitions as Json[];
    assert.equal(container.User, TRAIN_IMAGE.user);
    assert.notEqual(container.User.split(':')[0], '0');
    assert.equal(container.ReadonlyRootFilesystem, true);
    assert.deepEqual(container.MountPoints, [{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'scratch' }]);
    assert.deepEqual(p.Volumes, [{ Name: 'scratch' }], 'a bind mount of the task storage (no host path, no EFS)');
    const env = Object.fromEntries((container.Environment as Json[]).map((e) => [e.Name, e.Value]));
    assert.equal(env.HOME, '/tmp');
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
  });

  test('failures do not vanish: the target’s DLQ and the function’s on-failure destination are its queue', () => {
    expectDeadLetters('TriggersRawUpload', 'TriggersFunction', 'TriggersFailures');
  });

  test('no retrain schedule unless configured', () => {
    assert.deepEqual(
      resourcesOfType(template, 'AWS::Events::Rule').map(([ruleId]) => ruleId.replace(/[0-9A-F]{8}$/, '')).sort(),
      ['StopTrainingDeadExecution', 'TriggersRawUpload'],
    );
  });
});

/** EventBridge → function, asynchronously: failures of either hop land in the function's queue. */
function expectDeadLetters(rulePrefix: string, functionPrefix: string, queuePrefix: string) {
  const ruleId = id('AWS::Events::Rule', rulePrefix);
  const queue = id('AWS::SQS::Queue', queuePrefix);
  const [target] = resources[ruleId].Properties.Targets as Json[];
  assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } });
  assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 });

  const [[, invokeConfig], ...more] = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').filter(
    ([, c]) => c.Properties.FunctionName.Ref === fn(functionPrefix),
  );
  assert.equal(more.length, 0);
  assert.deepEqual(invokeConfig.Properties.DestinationConfig, { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } });
  assert.equal(invokeConfig.Properties.MaximumRetryAttempts, 2);
  assert.equal(invokeConfig.Properties.MaximumEventAgeInSeconds, 3600);

  const q = resources[queue].Properties;
  assert.equal(q.SqsManagedSseEnabled, true);
  assert.equal(q.MessageRetentionPeriod, 14 * 24 * 3600);
  const [[, queuePolicy]] = resourcesOfType(template, 'AWS::SQS::QueuePolicy').filter(([, qp]) =>
    (qp.Properties.Queues as Json[]).some((ref) => ref.Ref === queue),
  );
  const statements = queuePolicy.Properties.PolicyDocument.Statement as Json[];
  assert.ok(
    statements.some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
    'TLS only',
  );
  const allows = statements.filter((st) => st.Effect === 'Allow');
  assert.deepEqual(
    allows.map((st) => ({ ...st, Sid: undefined })),
    [
      {
        Sid: undefined,
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
      },
    ],
    'EventBridge may send only this rule’s undeliverable events',
  );
}

describe('stopping the Fargate tasks of dead executions', () => {
  test('a rule on this state machine’s FAILED, TIMED_OUT and ABORTED executions invokes stop-training', () => {
    const rule = resources[id('AWS::Events::Rule', 'StopTrainingDeadExecution')].Properties;
    assert.deepEqual(rule.EventPattern, {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [{ Ref: machineId() }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    assert.deepEqual(rule.Targets[0].Arn, { 'Fn::GetAtt': [fn('StopTrainingFunction'), 'Arn'] });
  });

  test('its failures do not vanish either', () => {
    expectDeadLetters('StopTrainingDeadExecution', 'StopTrainingFunction', 'StopTrainingFailures');
  });
});

describe('alarms', () => {
  const topicId = () => id('AWS::SNS::Topic', 'AlarmsTopic');
  const alarms = () => resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);

  test('one per failure that must not pass unnoticed, each ≥ 1 in 5 minutes', () => {
    const machine = { Name: 'StateMachineArn', Value: { Ref: machineId() } };
    const trigger = { Name: 'FunctionName', Value: { Ref: fn('TriggersFunction') } };
    const queue = (prefix: string) => ({ Name: 'QueueName', Value: { 'Fn::GetAtt': [id('AWS::SQS::Queue', prefix), 'QueueName'] } });
    const seen = alarms()
      .map((a) => JSON.stringify([a.Namespace, a.MetricName, a.Dimensions, a.Statistic]))
      .sort();
    const expected = [
      ['AWS/States', 'ExecutionsFailed', [machine], 'Sum'],
      ['AWS/States', 'ExecutionsTimedOut', [machine], 'Sum'],
      ['AWS/States', 'ExecutionsAborted', [machine], 'Sum'],
      ['AWS/Lambda', 'Errors', [trigger], 'Sum'],
      ['AWS/Lambda', 'Throttles', [trigger], 'Sum'],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', [queue('TriggersFailures')], 'Maximum'],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', [queue('StopTrainingFailures')], 'Maximum'],
    ].map((e) => JSON.stringify(e));
    assert.deepEqual(seen, expected.sort());
    for (const a of alarms()) {
      assert.equal(a.Period, 300);
      assert.equal(a.Threshold, 1);
      assert.equal(a.EvaluationPeriods, 1);
      assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(a.TreatMissingData, 'notBreaching');
    }
  });

  test('every alarm notifies the topic, which exists without alarmEmail (and has no subscription then)', () => {
    for (const a of alarms()) assert.deepEqual(a.AlarmActions, [{ Ref: topicId() }], a.MetricName);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    assert.deepEqual((template.toJSON().Outputs as Json).AlarmTopicArn.Value, { Ref: topicId() });
  });

  test('the topic takes what CloudWatch can publish: no AWS-managed key, TLS only, this account’s alarms only', () => {
    const topic = resources[topicId()].Properties;
    assert.equal(topic.KmsMasterKeyId, undefined, 'CloudWatch cannot use alias/aws/sns (its key policy does not allow cloudwatch.amazonaws.com)');
    const [[, policy]] = resourcesOfType(template, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    assert.ok(statements.some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    const allow = statements.filter((st) => st.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0].Principal, { Service: 'cloudwatch.amazonaws.com' });
    assert.equal(allow[0].Action, 'sns:Publish');
    assert.equal(render(allow[0].Condition.ArnLike['aws:SourceArn']), 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*');
    assert.deepEqual(allow[0].Condition.StringEquals, { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
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
});

describe('outputs and checks', () => {
  test('DataBucketName, StateMachineArn and AlarmTopicArn, without exports', () => {
    const outputs = template.toJSON().Outputs as Json;
    const machine = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'Workflow');
    assert.deepEqual(outputs.DataBucketName.Value, { Ref: bucketId });
    assert.deepEqual(outputs.StateMachineArn.Value, { Ref: machine });
    assert.deepEqual(Object.keys(outputs).sort(), ['AlarmTopicArn', 'DataBucketName', 'StateMachineArn']);
    for (const output of Object.values(outputs)) assert.equal(output.Export, undefined);
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
