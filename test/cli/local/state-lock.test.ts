import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getObjectBytes } from '../../../lib/aws/s3.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { startLocalS3 } from '../../../cli/local/local-s3.ts';
import { acquireFileLock, withFileLock } from '../../../cli/local/state-lock.ts';
import { deadPid } from '../support/spawn-cli.ts';

describe('a lock between processes on one state directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-state-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a live holder is waited for, and past the wait the error names it', async () => {
    const path = join(dir, 'live.lock');
    const release = await acquireFileLock(path, { purpose: 'first' });
    await assert.rejects(acquireFileLock(path, { purpose: 'second', waitMs: 100 }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`locked by process ${process.pid} on ${hostname()} \\(first, since `));
      return true;
    });
    const order: string[] = [];
    const waiting = withFileLock(path, { purpose: 'third' }, async () => order.push('third'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    order.push('released');
    await release();
    await waiting;
    assert.deepEqual(order, ['released', 'third']);
  });

  test('a lock whose holder is gone is taken over', async () => {
    const path = join(dir, 'stale.lock');
    await writeFile(path, JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: new Date().toISOString(), purpose: 'killed' }));
    assert.equal(await withFileLock(path, { purpose: 'next', waitMs: 1000 }, async () => 'ran'), 'ran');
  });

  test('two servers on one directory: of concurrent If-None-Match writes to a key exactly one succeeds', async () => {
    const directory = join(dir, 'shared');
    const servers = [await startLocalS3({ bucket: 'b', directory }), await startLocalS3({ bucket: 'b', directory })];
    try {
      const attempts = Array.from({ length: 8 }, (_, i) =>
        servers[i % 2].client.send(new PutObjectCommand({ Bucket: 'b', Key: 'models/champion.json', Body: `writer ${i}`, IfNoneMatch: '*' })).then(
          () => i,
          (error: Error) => {
            assert.equal(error.name, 'PreconditionFailed');
            return undefined;
          },
        ),
      );
      const winners = (await Promise.all(attempts)).filter((i) => i !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await getObjectBytes(servers[1].client, { bucket: 'b', key: 'models/champion.json' })).toString(), `writer ${winners[0]}`);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
});
