import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';

/**
 * The upload trigger, deployed from the stack's template: an S3 "Object Created" event goes
 * through the stack's own EventBridge rule to the trigger function, which lists raw/ and starts
 * an execution with its own role. StartExecution is answered by a recorder here (this test is
 * about the trigger, not the workflow), after the same IAM check the others get.
 */
let cloud: LocalCloud;
const started: { name: string; input: unknown; stateMachineArn: string }[] = [];

before(async () => {
  cloud = await LocalCloud.start({ template: (await loadStackTemplate()).template });
  cloud.operations['AWSStepFunctions.StartExecution'] = async (caller, input) => {
    await cloud.authorizer.authorize(caller, { action: 'states:StartExecution', resource: String(input.stateMachineArn) });
    started.push({ name: String(input.name), input: JSON.parse(String(input.input)), stateMachineArn: String(input.stateMachineArn) });
    return { executionArn: `${String(input.stateMachineArn).replace(':stateMachine:', ':execution:')}:${String(input.name)}`, startDate: Date.now() / 1000 };
  };
});
after(() => cloud?.stop());

const created = (key: string, etag = '"0"') => ({
  source: 'aws.s3',
  'detail-type': 'Object Created',
  resources: [`arn:aws:s3:::${cloud.bucket}`],
  detail: { bucket: { name: cloud.bucket }, object: { key, etag, size: 1 } },
});

test('an upload completing a raw/ pair reaches the trigger through the rule, which starts one execution named from the data', async () => {
  for (const split of ['train', 'test']) {
    await cloud.s3.client.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: `raw/fmnist/${split}.csv`, Body: `label,pixel1\n${split}` }));
  }
  cloud.events.put(created('raw/notes.txt'));
  await cloud.events.drain();
  assert.equal(cloud.events.deliveries.length, 0, 'no rule matches a .txt upload');

  cloud.events.put(created('raw/fmnist/test.csv'));
  await cloud.events.drain();
  assert.deepEqual(
    cloud.events.deliveries.map((delivery) => [delivery.outcome, delivery.attempts, delivery.error]),
    [['succeeded', 1, undefined]],
  );
  assert.equal(started.length, 1);
  assert.equal(started[0].stateMachineArn, cloud.model.stateMachine.arn);
  assert.deepEqual(started[0].input, { train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], trigger: 'new-data' });
  assert.match(started[0].name, /^fmnist-[0-9a-f]{16}$/);
});
