import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendTaskHeartbeatCommand, SFNClient } from '@aws-sdk/client-sfn';
import { checkLogPermissions, DeploymentError, LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import { threadBounds } from '../../../cli/local/cloud/thread-bound.ts';
import type { LambdaInvocationError } from '../../../cli/local/cloud/lambda-service.ts';
import type { LambdaSpec } from '../../../cli/local/cloud/model.ts';
import { TaskTokens } from '../../../cli/local/states/task-tokens.ts';
import { bucketArnRef, cloudTemplate, objectsUnder } from '../../support/cloud-template.ts';

/**
 * The local cloud's Lambda and IAM rules, each shown failing the way AWS fails: a template of
 * tiny fixture functions (test/fixtures/local/handlers.ts) deployed into a LocalCloud.
 */
const template = cloudTemplate({
  functions: [
    { id: 'Echo', handler: 'echo', environment: { GREETING: 'hello' } },
    { id: 'Failing', handler: 'fail' },
    { id: 'Crashing', handler: 'crash' },
    // Thread counts for more vCPUs than any machine here has: capped at its cores (see thread-bound.ts).
    { id: 'Env', handler: 'environment', memory: 512, environment: { TF_NUM_INTRAOP_THREADS: '4096', OMP_NUM_THREADS: '1' } },
    { id: 'Sleeper', handler: 'sleep', timeout: 60, reservedConcurrency: 1 },
    { id: 'Hog', handler: 'allocate', memory: 192 },
    { id: 'Filler', handler: 'fillTmp', ephemeral: 512 },
    {
      id: 'Reader',
      handler: 's3Call',
      statements: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsUnder('datasets/') },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArnRef, Condition: { StringLike: { 's3:prefix': ['datasets/*'] } } },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: objectsUnder('runs/') },
      ],
    },
    {
      id: 'Lister',
      handler: 's3Call',
      statements: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsUnder('datasets/') },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArnRef },
      ],
    },
  ],
});

let cloud: LocalCloud;
const fn = (id: string): LambdaSpec => cloud.model.functions.find((candidate) => candidate.logicalId === id)!;
const failure = async (promise: Promise<unknown>): Promise<LambdaInvocationError> => {
  try {
    await promise;
  } catch (error) {
    return error as LambdaInvocationError;
  }
  assert.fail('expected the invocation to fail');
};

before(async () => {
  // Scale 0.01: the 60-second timeout of Sleeper is 0.6 s.
  cloud = await LocalCloud.start({ template, timeScale: 0.01 });
  await cloud.s3.client.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: 'datasets/d1/manifest.json', Body: '{"ok":true}' }));
  await cloud.s3.client.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: 'models/champion.json', Body: '{}' }));
});
after(() => cloud?.stop());

describe('Lambda, as configured in the template', () => {
  test("a function runs its source with the template's environment, Lambda's variables and its role's own credentials; nothing else of the host", async () => {
    const env = (await cloud.lambda.invoke(fn('Env'), {})) as Record<string, string>;
    assert.equal(env.DATA_BUCKET, cloud.bucket, 'Ref of the bucket resolved to the local bucket');
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'Env');
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '512');
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs22.x');
    assert.match(env.AWS_ACCESS_KEY_ID, /^ASIALOCAL/);
    assert.equal(env.HOME, undefined, "the CLI's environment does not leak into the function");
    assert.equal(env.TF_NUM_INTRAOP_THREADS, String(availableParallelism()), "a thread count over this machine's cores is capped at them");
    assert.equal(env.OMP_NUM_THREADS, '1', 'a thread count within them stays');
    assert.deepEqual(threadBounds(cloud.model), [`Env: TF_NUM_INTRAOP_THREADS 4096 -> ${availableParallelism()} (this machine's cores)`], "the cap is listed for the run's adjustments");
    const echo = (await cloud.lambda.invoke(fn('Echo'), { a: 1 })) as { event: unknown; bucket: string };
    assert.deepEqual(echo, { event: { a: 1 }, bucket: cloud.bucket });
  });

  test('past its Timeout the environment is killed: Sandbox.Timedout, and the next invocation gets a fresh one', async () => {
    const error = await failure(cloud.lambda.invoke(fn('Sleeper'), { ms: 3000 }));
    assert.equal(error.name, 'Sandbox.Timedout');
    assert.match(error.document.errorMessage, /Task timed out after 0\.60 seconds/);
    const ok = (await cloud.lambda.invoke(fn('Sleeper'), { ms: 10 })) as { remaining: number };
    assert.ok(ok.remaining > 0 && ok.remaining <= 600, `getRemainingTimeInMillis counts down from the timeout: ${ok.remaining}`);
    const reports = cloud.lambda.reports.filter((report) => report.function === 'Sleeper');
    assert.deepEqual(
      reports.map((report) => [report.outcome, report.coldStart]),
      [
        ['Sandbox.Timedout', true],
        ['ok', true],
      ],
    );
  });

  test('over its reserved concurrency an invocation is throttled', async () => {
    const first = cloud.lambda.invoke(fn('Sleeper'), { ms: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await failure(cloud.lambda.invoke(fn('Sleeper'), { ms: 10 }));
    assert.equal(second.name, 'Lambda.TooManyRequestsException');
    await first;
  });

  test('past its MemorySize the environment is killed: Runtime.OutOfMemory', async () => {
    const error = await failure(cloud.lambda.invoke(fn('Hog'), { mb: 400, holdMs: 2000 }));
    assert.equal(error.name, 'Runtime.OutOfMemory');
    assert.match(error.document.errorMessage, /of its 192 MB/);
    const fits = (await cloud.lambda.invoke(fn('Hog'), { mb: 10, holdMs: 300 })) as { held: number };
    assert.equal(fits.held, 10, 'a fresh environment after the kill');
  });

  test('more bytes under /tmp than its ephemeral storage fails the invocation with ENOSPC', async () => {
    const error = await failure(cloud.lambda.invoke(fn('Filler'), { mb: 600, holdMs: 2000 }));
    assert.equal(error.name, 'Error');
    assert.match(error.document.errorMessage, /ENOSPC.*over its ephemeral storage of 512 MB/);
    assert.deepEqual(await cloud.lambda.invoke(fn('Filler'), { mb: 5, holdMs: 300 }), { wrote: 5 });
  });

  test('a runtime that exits mid-invocation: Runtime.ExitError with its last stderr lines; the next invocation gets a fresh environment', async () => {
    const error = await failure(cloud.lambda.invoke(fn('Crashing'), { why: 'disk on fire' }));
    assert.equal(error.name, 'Runtime.ExitError');
    assert.match(error.document.errorMessage, /Runtime exited with error: exit status 3\nabout to crash: disk on fire/);
    const again = await failure(cloud.lambda.invoke(fn('Crashing'), { why: 'again' }));
    assert.match(again.document.errorMessage, /about to crash: again/);
  });

  test("a function's error: errorType and the runtime's error document", async () => {
    const error = await failure(cloud.lambda.invoke(fn('Failing'), { name: 'BadThing', message: 'nope' }));
    assert.equal(error.name, 'BadThing');
    assert.equal(error.document.errorMessage, 'nope');
    assert.ok(error.document.trace!.length > 0);
  });
});

describe('IAM, from the template, on every call the code makes', () => {
  test('S3 allows exactly what the role grants, and denies the rest naming the action and the key', async () => {
    const reader = fn('Reader');
    assert.deepEqual(await cloud.lambda.invoke(reader, { op: 'get', key: 'datasets/d1/manifest.json' }), { body: '{"ok":true}' });
    const denied = await failure(cloud.lambda.invoke(reader, { op: 'get', key: 'models/champion.json' }));
    assert.equal(denied.name, 'AccessDenied');
    assert.match(denied.document.errorMessage, /assumed-role\/ReaderRole\/Reader is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::fmnist-local\/models\/champion\.json/);
    const put = await failure(cloud.lambda.invoke(reader, { op: 'put', key: 'datasets/d2/x' }));
    assert.match(put.document.errorMessage, /s3:PutObject on resource: arn:aws:s3:::fmnist-local\/datasets\/d2\/x/);
    assert.deepEqual(await cloud.lambda.invoke(reader, { op: 'put', key: 'runs/r1/x', body: 'y' }), { put: 'runs/r1/x' });
  });

  test('listings: only under the prefixes the s3:prefix condition names; none without a prefix', async () => {
    const reader = fn('Reader');
    assert.deepEqual(await cloud.lambda.invoke(reader, { op: 'list', prefix: 'datasets/d1/' }), { keys: ['datasets/d1/manifest.json'] });
    const whole = await failure(cloud.lambda.invoke(reader, { op: 'list' }));
    assert.match(whole.document.errorMessage, /s3:ListBucket on resource: arn:aws:s3:::fmnist-local because/);
    const other = await failure(cloud.lambda.invoke(reader, { op: 'list', prefix: 'models/' }));
    assert.equal(other.name, 'AccessDenied');
  });

  test('a missing key is a 404 only to a caller that may list the bucket, else 403, as S3 answers', async () => {
    const missing = await failure(cloud.lambda.invoke(fn('Reader'), { op: 'get', key: 'datasets/d1/nope.json' }));
    assert.equal(missing.name, 'AccessDenied');
    assert.match(missing.document.errorMessage, /s3:ListBucket/);
    const notFound = await failure(cloud.lambda.invoke(fn('Lister'), { op: 'get', key: 'datasets/d1/nope.json' }));
    assert.equal(notFound.name, 'NoSuchKey');
  });

  test('unsigned requests and unknown keys are refused', async () => {
    const anonymous = cloud.s3ClientFor(cloud.callerFor(fn('Reader').role, 'x'));
    anonymous.middlewareStack.add((next) => async (args) => {
      delete (args.request as { headers: Record<string, string> }).headers.authorization;
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'strip-signature' });
    await assert.rejects(anonymous.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: 'datasets/d1/manifest.json' })), (error: Error) => error.name === 'AccessDenied');
    const stranger = cloud.s3ClientFor(cloud.callerFor(fn('Reader').role, 'y'));
    (stranger.config as { credentials: unknown }).credentials = async () => ({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' });
    await assert.rejects(stranger.send(new HeadObjectCommand({ Bucket: cloud.bucket, Key: 'datasets/d1/manifest.json' })), (error: Error & { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 403);
  });

  test('the owner (admin key) is never checked', async () => {
    const page = await cloud.s3.client.send(new ListObjectsV2Command({ Bucket: cloud.bucket }));
    assert.ok((page.KeyCount ?? 0) >= 2);
  });

  test('Step Functions callbacks are authorised too: a role without states:SendTaskHeartbeat gets AccessDeniedException', async () => {
    const tokens = new TaskTokens(cloud.model.stateMachine.arn);
    Object.assign(cloud.operations, tokens.operations(cloud.authorizer));
    const token = tokens.take();
    void tokens.wait(token, 'Somewhere').catch(() => undefined);
    const key = cloud.credentials.issue(cloud.callerFor(fn('Reader').role, 'task'));
    const sfn = new SFNClient({ endpoint: cloud.control.endpoint, region: 'us-east-1', credentials: key });
    await assert.rejects(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })), (error: Error) => {
      assert.equal(error.name, 'AccessDeniedException');
      assert.match(error.message, /ReaderRole\/task is not authorized to perform: states:SendTaskHeartbeat on resource: arn:aws:states:us-east-1:123456789012:stateMachine:Machine/);
      return true;
    });
    tokens.closeAll();
  });
});

describe('what the stack would not deploy or would lose', () => {
  test("a function's environment over Lambda's 4 KB fails before anything runs, naming the function", async () => {
    const big = cloudTemplate({ functions: [{ id: 'Big', handler: 'echo', environment: { CONFIG: 'x'.repeat(4100) } }] });
    await assert.rejects(LocalCloud.start({ template: big }), (error: Error) => {
      assert.ok(error instanceof DeploymentError);
      assert.match(error.message, /Big: InvalidParameterValueException: .*exceeded the 4KB limit \(\d+ bytes\)/);
      return true;
    });
  });

  test('a function that may not write to its own log group is refused (its logs would be lost)', async () => {
    const silent = await LocalCloud.start({ template: cloudTemplate({ functions: [{ id: 'Mute', handler: 'echo', logs: false }] }) });
    try {
      await assert.rejects(checkLogPermissions(silent.model, silent.authorizer), /Mute could not write its logs to MuteLogs: .*logs:CreateLogStream/);
    } finally {
      await silent.stop();
    }
    await checkLogPermissions(cloud.model, cloud.authorizer);
  });
});
