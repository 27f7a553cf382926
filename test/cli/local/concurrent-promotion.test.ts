import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getObjectBytes, listObjects } from '../../../lib/aws/s3.ts';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';
import { runWorkflowLocally } from '../../../cli/local/runner.ts';
import type { LambdaDouble } from '../../../cli/local/states/integrations.ts';
import { fetchChampionFiles, readChampion } from '../../../lib/workflow/champion-store.ts';
import type { EvaluateResult } from '../../../lib/workflow/events.ts';
import { syntheticKaggleCsv } from '../../support/kaggle-csv.ts';
import { TINY_MODEL } from '../../support/tiny-model.ts';
import { setReportedAccuracy } from '../../support/reported-accuracy.ts';

/**
 * Two executions of the deployed workflow at once, on one local cloud (one bucket): each trains
 * on its own training data and both are judged on the same test split, so they compete for one
 * champion (models/champions/<testSetId>.json). Their Promote invocations are released together
 * on warm environments, so their reads and writes of the champion overlap (usually one write is
 * refused with 412 and that execution decides again: the diagnostic line shows `attempts`). Whatever
 * the interleaving, the compare-and-swap must leave the better model, and each execution's
 * promotion record must say what it saw. Then a third execution
 * reuses a run id and must fail at ValidateInput without changing anything under that run.
 */
const CONFIG = { epochs: 1, batchSize: 16, model: TINY_MODEL };

interface PromotionRecord {
  promoted: boolean | string;
  reason: string;
  sawRunId: string | null;
  attempts: number;
}

let dir: string;
let cloud: LocalCloud;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-concurrent-promotion-'));
  const testCsv = syntheticKaggleCsv(40, 9).text;
  // Same test split under two names (no upload touches the other run's keys); other training data.
  await writeFile(join(dir, 'train-a.csv'), syntheticKaggleCsv(80, 1).text);
  await writeFile(join(dir, 'train-b.csv'), syntheticKaggleCsv(80, 2).text);
  await writeFile(join(dir, 'test-a.csv'), testCsv);
  await writeFile(join(dir, 'test-b.csv'), testCsv);
  cloud = await LocalCloud.start({ template: (await loadStackTemplate()).template });
});
after(async () => {
  await cloud?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Resolves every waiter once each of `count` parties has arrived or ended (an execution that fails
 * before Promote ends, so the other does not wait out its state timeout; it fails the test on its
 * own status). `met()`: whether all of them arrived.
 */
function barrier(count: number): { wait: () => Promise<void>; end: () => void; met: () => boolean } {
  let arrived = 0;
  let settled = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  const settle = () => {
    if (++settled === count) release();
  };
  return {
    wait: async () => {
      arrived++;
      settle();
      await all;
    },
    end: settle,
    met: () => arrived === count,
  };
}

async function bucketUnder(prefix: string): Promise<Map<string, string>> {
  const contents = new Map<string, string>();
  for await (const object of listObjects(cloud.s3.client, cloud.bucket, prefix)) {
    contents.set(object.key, (await getObjectBytes(cloud.s3.client, { bucket: cloud.bucket, key: object.key })).toString('base64'));
  }
  return contents;
}

describe('two executions promoting at once on one bucket', () => {
  test('the better model is champion; each promotion record says what it saw; a reused run id fails at ValidateInput', async (t) => {
    const bothAtPromote = barrier(2);
    const bothWarm = barrier(2);
    // Test accuracy set after the real Evaluate, in its result and in the stored report alike
    // (Promote registers the run only when the two agree), so which run is better is known: b.
    const execution = (name: 'a' | 'b', accuracy: number) => {
      const reached = { promote: false, warm: false };
      const doubles: Partial<Record<string, LambdaDouble>> = {
        Evaluate: async (event, invoke) => {
          const result = (await invoke(event)) as unknown as EvaluateResult;
          await setReportedAccuracy(cloud.s3.client, cloud.bucket, result.reportPrefix, accuracy);
          return { ...result, accuracy };
        },
        Promote: async (event, invoke) => {
          reached.promote = true;
          await bothAtPromote.wait();
          // Two warm environments, so neither real invocation waits for a process start: one call
          // each that Promote refuses at once (its event check), then both real ones together.
          await invoke({ warmUp: true }).catch(() => undefined);
          reached.warm = true;
          await bothWarm.wait();
          return invoke(event);
        },
      };
      return runWorkflowLocally({
        cloud,
        train: [join(dir, `train-${name}.csv`)],
        test: [join(dir, `test-${name}.csv`)],
        outDir: join(dir, `out-${name}`),
        input: { trainOn: 'lambda', config: CONFIG },
        retryIntervalMs: 0,
        progress: false,
        doubles,
      }).finally(() => {
        // An execution that ends short of a barrier releases it for the other one.
        if (!reached.promote) bothAtPromote.end();
        if (!reached.warm) bothWarm.end();
      });
    };
    const [a, b] = await Promise.all([execution('a', 0.6), execution('b', 0.7)]);
    for (const result of [a, b]) assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    assert.ok(bothAtPromote.met() && bothWarm.met(), 'both executions reached Promote and promoted together');

    type Output = { dataset: { datasetId: string; testSetId: string }; promotion: PromotionRecord };
    const outA = a.output as Output;
    const outB = b.output as Output;
    assert.notEqual(outA.dataset.datasetId, outB.dataset.datasetId, 'trained on different data');
    assert.equal(outA.dataset.testSetId, outB.dataset.testSetId, 'judged on the same test split');

    const { champion } = await readChampion(cloud.s3.client, cloud.bucket, outA.dataset.testSetId);
    assert.equal(champion?.runId, b.runId, 'the better model is champion');
    assert.equal(champion?.accuracy, 0.7);
    // Its pinned files are the model b trained, verifiably.
    await fetchChampionFiles(cloud.s3.client, cloud.bucket, champion!);

    // Exactly one of them saw no champion (the first to write); the other saw that one.
    const records = [
      { run: a.runId!, record: outA.promotion },
      { run: b.runId!, record: outB.promotion },
    ];
    t.diagnostic(`promotion records: ${JSON.stringify(records)}`);
    const first = records.find(({ record }) => record.sawRunId === null);
    const second = records.find(({ record }) => record.sawRunId !== null);
    assert.ok(first && second, `one saw none, one saw the other: ${JSON.stringify(records)}`);
    assert.equal(second.record.sawRunId, first.run);
    assert.equal(String(first.record.promoted), 'true');
    for (const { record } of records) assert.ok(record.attempts >= 1 && record.attempts <= 5, JSON.stringify(record));
    if (first.run === a.runId) {
      // a wrote first: b saw it and beat it.
      assert.equal(String(outB.promotion.promoted), 'true');
      assert.match(outB.promotion.reason, /70\.00% beats the champion's 60\.00%/);
      assert.equal(champion?.previous, a.runId);
    } else {
      // b wrote first: a saw it and lost, whether on its first read or after a refused write.
      assert.equal(String(outA.promotion.promoted), 'false');
      assert.match(outA.promotion.reason, /60\.00% does not beat the champion's 70\.00%/);
      assert.equal(champion?.previous, null);
    }
    // What each copied out is the champion of its own test split.
    for (const result of [a, b]) assert.ok(result.files.includes('champion.json'), result.files.join(', '));

    // A third execution reusing a's run id: refused before any work, nothing under the run changes.
    const runA = a.runId!;
    const before = await bucketUnder(`runs/${runA}/`);
    assert.ok(before.has(`runs/${runA}/run.json`) && before.has(`runs/${runA}/model/model.json`), [...before.keys()].join(', '));
    const again = await runWorkflowLocally({
      cloud,
      train: [join(dir, 'train-a.csv')],
      test: [join(dir, 'test-a.csv')],
      outDir: join(dir, 'out-again'),
      input: { runId: runA, config: CONFIG },
      retryIntervalMs: 0,
      progress: false,
    });
    assert.equal(again.status, 'FAILED');
    assert.equal(again.error, 'ConfigError');
    assert.match(again.cause ?? '', new RegExp(`run id \\\\?"${runA}\\\\?" already exists`));
    const entered = again.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
    assert.deepEqual(entered, ['ValidateInput', 'Failed']);
    assert.deepEqual(await bucketUnder(`runs/${runA}/`), before);
  });
});
