import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { ConfigError } from '../../../lib/errors.ts';
import { readChampion } from '../../../lib/workflow/champion-store.ts';
import { championKey } from '../../../lib/workflow/layout.ts';
import { championHistory } from '../../../lib/workflow/registry/store.ts';
import { REGISTRY_EVENT_SOURCE } from '../../../lib/workflow/registry-events.ts';
import type { ChampionChangeResult } from '../../../cli/registry/models-change.ts';
import type { ModelDetails, ModelsListing } from '../../../cli/registry/models.ts';
import { openRegistry } from '../../../cli/registry/target.ts';
import { etagOf, FakeS3 } from '../../support/fake-s3.ts';
import { Sink } from '../../support/sink.ts';
import { runModels, seedRegistry, TEST_SET_A, TEST_SET_B, tickingClock } from './seed.ts';

/**
 * `fmnist models ... --aws`: the deployed stack's bucket (an in-memory S3 behind
 * aws-sdk-client-mock), EventBridge mocked; each command through commander.
 */

const BUCKET = 'fmnist-data';
const REGION = 'eu-west-1';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:TrainingWorkflow`;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const CONNECT = ['--aws', '--state-machine-arn', STATE_MACHINE, '--bucket', BUCKET];

async function setup(eventsFail = false) {
  const s3 = new FakeS3(BUCKET);
  await seedRegistry(s3.client, BUCKET);
  const events = new EventBridgeClient({ region: REGION, credentials });
  const eventsMock = mockClient(events);
  eventsMock
    .on(PutEventsCommand)
    .resolves(eventsFail ? { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] } : { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  const out = new Sink();
  const log = new Sink();
  const deps = { s3: s3.client, events, out, log, env: {} as NodeJS.ProcessEnv, now: tickingClock('2026-12-02T08:00:00.000Z') };
  const run = async <T>(args: string[]): Promise<T> => {
    out.text = '';
    await runModels(deps, [...args, ...CONNECT]);
    return (args.includes('--json') ? JSON.parse(out.text) : out.text) as T;
  };
  return { s3, eventsMock, out, log, run };
}

const putEntries = (eventsMock: AwsClientStub<EventBridgeClient>) =>
  eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries!.map((entry) => ({ ...entry, Detail: JSON.parse(entry.Detail!) })));

/** The conditional writes of the champion record, in order. */
const championWrites = (s3: FakeS3, testSetId: string) =>
  s3.mock
    .commandCalls(PutObjectCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Key === championKey(testSetId))
    .map((input) => ({ IfMatch: input.IfMatch, IfNoneMatch: input.IfNoneMatch }));

describe('fmnist models --aws', () => {
  test('list and show read the stack\'s bucket, found through the stack outputs', async () => {
    const t = await setup();
    const cfn = new CloudFormationClient({ region: REGION, credentials });
    mockClient(cfn)
      .on(DescribeStacksCommand, { StackName: 'FashionMnist' })
      .resolves({
        Stacks: [
          {
            StackName: 'FashionMnist',
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date(),
            Outputs: [
              { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
              { OutputKey: 'DataBucketName', OutputValue: BUCKET },
            ],
          },
        ],
      });
    const out = new Sink();
    await runModels({ s3: t.s3.client, cfn, out, env: {} }, ['list', '--aws', '--json']);
    const listing = JSON.parse(out.text) as ModelsListing;
    assert.equal(listing.where, `s3://${BUCKET}`);
    assert.deepEqual(listing.testSets.map((set) => [set.testSetId, set.champion?.runId, set.versions.length]), [[TEST_SET_A, 'run-a3', 4], [TEST_SET_B, 'run-b1', 1]]);

    const details = await t.run<ModelDetails>(['show', 'run-a1', '--json']);
    assert.deepEqual([details.isChampion, details.wasChampion, details.champion?.runId], [false, true, 'run-a3']);
    assert.deepEqual(details.history.map((record) => [record.runId, record.previous]), [['run-a1', null], ['run-a2', 'run-a1']]);
    await assert.rejects(t.run(['show', 'run-zz']), new RegExp(`no model of run run-zz in the registry of s3://${BUCKET}`));
    assert.equal(putEntries(t.eventsMock).length, 0, 'reading publishes nothing');
  });

  test('promote: a conditional write on the champion\'s ETag, the history filed, a Champion Promoted event', async () => {
    const t = await setup();
    const before = t.s3.objects.get(championKey(TEST_SET_A))!;
    const result = await t.run<ChampionChangeResult>(['promote', 'run-a2', '--reason', 'a3 misbehaves on sandals', '--json']);
    assert.deepEqual(result.event, { detailType: 'Champion Promoted', published: true });
    assert.deepEqual(championWrites(t.s3, TEST_SET_A).at(-1), { IfMatch: etagOf(before), IfNoneMatch: undefined });
    const { champion } = await readChampion(t.s3.client, BUCKET, TEST_SET_A);
    assert.equal(champion!.runId, 'run-a2');
    assert.equal(champion!.reason, 'manual: a3 misbehaves on sandals');
    assert.equal(champion!.previous, 'run-a3');
    const history = await championHistory(t.s3.client, BUCKET, TEST_SET_A);
    assert.deepEqual(history.at(-1), champion);
    assert.deepEqual(putEntries(t.eventsMock), [
      [
        {
          Source: REGISTRY_EVENT_SOURCE,
          DetailType: 'Champion Promoted',
          EventBusName: 'default',
          Detail: {
            runId: 'run-a2',
            testSetId: TEST_SET_A,
            datasetId: champion!.datasetId,
            accuracy: 0.88,
            macroF1: 0.87,
            modelPrefix: 'runs/run-a2/model/',
            reportPrefix: 'runs/run-a2/report/',
            previous: 'run-a3',
            reason: 'manual: a3 misbehaves on sandals',
            by: champion!.by,
            bucket: BUCKET,
          },
        },
      ],
    ]);
    assert.match(champion!.by!, /^fmnist models promote \(user \S+@\S+\)$/);
    assert.equal(t.log.text, '');
  });

  test('promote refuses a changed model file and the current champion: nothing written, no event', async () => {
    const t = await setup();
    t.s3.put('runs/run-a4/model/model.json', '{"format":"layers-model","edited":true}');
    const writes = championWrites(t.s3, TEST_SET_A).length;
    await assert.rejects(t.run(['promote', 'run-a4', '--reason', 'x']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^cannot make run run-a4 champion: s3://${BUCKET}/runs/run-a4/model/model\\.json has sha256 `));
      return true;
    });
    await assert.rejects(t.run(['promote', 'run-a3', '--reason', 'x']), /run run-a3 is already the champion of test set/);
    t.s3.objects.delete('runs/run-a1/model/weights.bin');
    await assert.rejects(t.run(['promote', 'run-a1', '--reason', 'x']), new RegExp(`cannot make run run-a1 champion: s3://${BUCKET}/runs/run-a1/model/weights\\.bin no longer exists`));
    assert.equal(championWrites(t.s3, TEST_SET_A).length, writes);
    assert.equal(putEntries(t.eventsMock).length, 0);
  });

  test('rollback twice: C → B → A, each a Champion Rolled Back event naming the run rolled back from', async () => {
    const t = await setup();
    const first = await t.run<ChampionChangeResult>(['rollback', '--dataset', TEST_SET_A, '--reason', 'bad canary', '--json']);
    assert.equal(first.champion.runId, 'run-a2');
    const second = await t.run<ChampionChangeResult>(['rollback', '--dataset', TEST_SET_A.slice(0, 9), '--json']);
    assert.equal(second.champion.runId, 'run-a1');
    await assert.rejects(t.run(['rollback', '--dataset', TEST_SET_A]), /no previous champion of test set/);
    const sent = putEntries(t.eventsMock).map(([entry]) => [entry.DetailType, entry.Detail.runId, entry.Detail.previous, entry.Detail.reason]);
    assert.deepEqual(sent, [
      ['Champion Rolled Back', 'run-a2', 'run-a3', 'rolled back from run-a3: bad canary'],
      ['Champion Rolled Back', 'run-a1', 'run-a2', 'rolled back from run-a2: no reason given'],
    ]);
    const writes = championWrites(t.s3, TEST_SET_A);
    assert.ok(writes.slice(-2).every((write) => write.IfMatch !== undefined && write.IfNoneMatch === undefined), 'every change is a compare-and-swap');
  });

  test('an event EventBridge refuses is a warning: the change stands, exit code 0', async () => {
    const t = await setup(true);
    const saved = process.exitCode;
    const text = await t.run<string>(['promote', 'run-a1', '--reason', 'x']);
    assert.equal(process.exitCode, saved);
    assert.equal((await readChampion(t.s3.client, BUCKET, TEST_SET_A)).champion!.runId, 'run-a1');
    assert.match(text, /^ {2}no Champion Promoted event: EventBridge did not take it: EventBridge refused the Champion Promoted event of run run-a1: InternalFailure try later$/m);
    assert.match(t.log.text, /^fmnist: warning: the change stands, but EventBridge did not take it/);
  });

  test('EventBridge is asked in the state machine\'s region unless --region says otherwise', async () => {
    const s3 = new FakeS3(BUCKET);
    const flags = { aws: true, stateMachineArn: STATE_MACHINE, bucket: BUCKET };
    const target = await openRegistry(flags, { s3: s3.client });
    assert.equal(await target.events!().config.region(), REGION);
    const other = await openRegistry({ ...flags, region: 'us-west-2' }, { s3: s3.client });
    assert.equal(await other.events!().config.region(), 'us-west-2');
  });

  test('a denied S3 call is a ConfigError naming the command; a champion changing under every compare-and-swap, too', async () => {
    const t = await setup();
    t.s3.mock.on(ListObjectsV2Command).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: { httpStatusCode: 403 } }));
    await assert.rejects(t.run(['list']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^fmnist models list: access denied \(.*Access Denied\); check the permissions of your AWS identity$/);
      return true;
    });

    const u = await setup();
    // Another writer rewrites the champion record (same champion, new bytes, new ETag) before every write.
    u.s3.beforePut = (key) => {
      if (key === championKey(TEST_SET_A)) u.s3.put(key, u.s3.objects.get(key)!.toString().replace('"reason"', '"reason" '));
    };
    await assert.rejects(u.run(['promote', 'run-a1', '--reason', 'x']), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^s3://${BUCKET}/models/champions/${TEST_SET_A}\\.json changed under each of 5 compare-and-swap attempts; try again$`));
      return true;
    });
    assert.equal(u.s3.refusedPuts.filter((key) => key === championKey(TEST_SET_A)).length, 5);
    assert.equal(putEntries(u.eventsMock).length, 0);
  });

  test('a clock behind the workflow\'s still files each change after the one it follows', async () => {
    const t = await setup();
    const out = new Sink();
    const deps = { s3: t.s3.client, events: new EventBridgeClient({ region: REGION, credentials }), out, log: new Sink(), now: () => new Date('2026-01-01T00:00:00.000Z') };
    mockClient(deps.events).on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    await runModels(deps, ['promote', 'run-a1', '--reason', 'x', ...CONNECT]);
    await runModels(deps, ['rollback', '--dataset', TEST_SET_A, ...CONNECT]);
    const history = await championHistory(t.s3.client, BUCKET, TEST_SET_A);
    assert.deepEqual(history.slice(-3).map((record) => [record.runId, record.promotedAt]), [
      ['run-a3', '2026-12-01T12:00:01.000Z'],
      ['run-a1', '2026-12-01T12:00:01.001Z'],
      ['run-a3', '2026-12-01T12:00:01.002Z'],
    ]);
    assert.equal((await readChampion(t.s3.client, BUCKET, TEST_SET_A)).champion!.runId, 'run-a3', 'the rollback undid the promotion, not an older one');
  });
});
