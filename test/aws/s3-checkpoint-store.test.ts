import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { s3CheckpointStore } from '../../lib/aws/s3-checkpoint-store.ts';
import { checkpointPrefix } from '../../lib/workflow/layout.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { TestS3Server } from './s3-test-server.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('s3CheckpointStore: a run’s checkpoints at runs/<runId>/checkpoint/<name>/<file>', () => {
  test('writes, lists, reads and removes by name, touching nothing of other runs or of the model', async () => {
    const s3 = new FakeS3();
    try {
      s3.put('runs/run-1/model/model.json', '{}');
      s3.put('runs/run-10/checkpoint/e0001-b0000/manifest.json', 'other run');
      const store = s3CheckpointStore(s3.client, s3.bucket, 'run-1');
      assert.deepEqual(await store.list(), []);
      await store.write('e0001-b0000', 'weights.bin', new Uint8Array([1, 2, 3]));
      await store.write('e0001-b0000', 'manifest.json', bytes('{"a":1}'));
      await store.write('e0002-b0000', 'weights.bin', new Uint8Array([4]));
      // A view into a larger buffer: only its own bytes are written.
      await store.write('e0002-b0000', 'part.bin', new Uint8Array([9, 8, 7, 6]).subarray(1, 3));

      assert.equal(checkpointPrefix('run-1'), 'runs/run-1/checkpoint/');
      assert.deepEqual(s3.keys('runs/run-1/'), [
        'runs/run-1/checkpoint/e0001-b0000/manifest.json',
        'runs/run-1/checkpoint/e0001-b0000/weights.bin',
        'runs/run-1/checkpoint/e0002-b0000/part.bin',
        'runs/run-1/checkpoint/e0002-b0000/weights.bin',
        'runs/run-1/model/model.json',
      ]);
      assert.deepEqual(await store.list(), ['e0001-b0000', 'e0002-b0000']);
      assert.deepEqual(await store.read('e0001-b0000', 'weights.bin'), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await store.read('e0002-b0000', 'part.bin'), new Uint8Array([8, 7]));
      assert.equal(await store.read('e0001-b0000', 'missing.bin'), undefined);

      await store.remove('e0001-b0000');
      assert.deepEqual(await store.list(), ['e0002-b0000']);
      assert.deepEqual(s3.keys('runs/run-10/'), ['runs/run-10/checkpoint/e0001-b0000/manifest.json'], 'another run whose id starts the same is untouched');
      assert.deepEqual(s3.keys('runs/run-1/model/'), ['runs/run-1/model/model.json']);
    } finally {
      s3.restore();
    }
  });

  test('refuses names and files that would leave the checkpoint', async () => {
    const s3 = new FakeS3();
    try {
      const store = s3CheckpointStore(s3.client, s3.bucket, 'run-1');
      for (const [name, file] of [['..', 'x'], ['a/b', 'x'], ['a', '../model/model.json'], ['', 'x']]) {
        await assert.rejects(store.write(name, file, new Uint8Array(1)), /not a checkpoint name/, `${name}/${file}`);
      }
      assert.deepEqual(s3.keys(), []);
    } finally {
      s3.restore();
    }
  });
});

describe('s3CheckpointStore over HTTP, as a function that may list only its prefixes', () => {
  let server: TestS3Server;
  before(async () => {
    // 403 for a missing key (no unconditional s3:ListBucket), two keys per listing page.
    server = await new TestS3Server({ missingKey: 403, pageSize: 2 }).start();
  });
  after(() => server.stop());

  test('a missing file reads as undefined (S3’s 403 told from a denial by listing); names are listed across pages', async () => {
    for (const name of ['e0001-b0000', 'e0002-b0000', 'e0003-b0010']) {
      server.put(`runs/r/checkpoint/${name}/manifest.json`, name);
      server.put(`runs/r/checkpoint/${name}/weights.bin`, 'w');
    }
    const store = s3CheckpointStore(server.client(), server.bucket, 'r');
    assert.deepEqual(await store.list(), ['e0001-b0000', 'e0002-b0000', 'e0003-b0010']);
    assert.equal(new TextDecoder().decode(await store.read('e0003-b0010', 'manifest.json')), 'e0003-b0010');
    assert.equal(await store.read('e0003-b0010', 'adam.bin'), undefined);
  });

  test('a real denial is an error naming the object, not a missing file', async () => {
    const denying = await new TestS3Server({ denied: (request) => request.method === 'GET' }).start();
    try {
      denying.put('runs/r/checkpoint/e0001-b0000/weights.bin', 'w');
      const store = s3CheckpointStore(denying.client(), denying.bucket, 'r');
      await assert.rejects(store.read('e0001-b0000', 'weights.bin'), (error: Error) => {
        assert.equal(error.name, 'AccessDenied');
        assert.match(error.message, /s3:\/\/test-bucket\/runs\/r\/checkpoint\/e0001-b0000\/weights\.bin: GetObject failed/);
        return true;
      });
    } finally {
      await denying.stop();
    }
  });
});
