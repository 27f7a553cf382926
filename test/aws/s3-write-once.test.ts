import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getObjectVersion, putObjectIf, putObjectOnce, sha256Hex, uploadDirectory } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { startLocalS3, type LocalS3 } from '../../cli/local/local-s3.ts';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { FakeS3 } from '../support/fake-s3.ts';

const BUCKET = 'write-once';

// The local S3 answers conditional writes as S3 does (cli/local/s3/conditional-writes.ts), through
// the real SDK: what the SDK makes of a 412 is what the code must recognise.
describe('write-once objects against the local S3', () => {
  let s3: LocalS3;
  let dir: string;
  before(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
    dir = await mkdtemp(join(tmpdir(), 'write-once-'));
  });
  after(async () => {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const at = (key: string) => ({ bucket: BUCKET, key });
  const read = async (key: string) => (await getObjectVersion(s3.client, at(key)))?.bytes.toString();

  test('a new key is written; the same bytes again count as written (a retried write); other bytes are refused', async () => {
    assert.equal((await putObjectOnce(s3.client, at('runs/r/report/a.json'), '{"a":1}')).written, true);
    assert.equal((await putObjectOnce(s3.client, at('runs/r/report/a.json'), Buffer.from('{"a":1}'))).written, false);
    await assert.rejects(putObjectOnce(s3.client, at('runs/r/report/a.json'), '{"a":2}'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `s3://${BUCKET}/runs/r/report/a.json already exists with different content (sha256 ${sha256Hex('{"a":1}')}, this write ${sha256Hex('{"a":2}')}): run outputs are write-once`,
      );
      return true;
    });
    assert.equal(await read('runs/r/report/a.json'), '{"a":1}');
  });

  test('If-Match: the ETag read is the ETag written; a stale one is refused (412), a missing key is NoSuchKey', async () => {
    const first = await putObjectIf(s3.client, at('models/champions/x.json'), 'one', { ifNoneMatch: '*' });
    const stored = await getObjectVersion(s3.client, at('models/champions/x.json'));
    assert.equal(stored!.etag, first.etag);
    await putObjectIf(s3.client, at('models/champions/x.json'), 'two', { ifMatch: stored!.etag! });
    await assert.rejects(putObjectIf(s3.client, at('models/champions/x.json'), 'three', { ifMatch: stored!.etag! }), { name: 'PreconditionFailed' });
    await assert.rejects(putObjectIf(s3.client, at('models/champions/none.json'), 'x', { ifMatch: '"abc"' }), { name: 'NoSuchKey' });
    assert.equal(await read('models/champions/x.json'), 'two');
    assert.equal(await getObjectVersion(s3.client, at('models/champions/none.json')), undefined);
  });

  test('uploadDirectory({ writeOnce }): a repeated upload of the same files passes, a changed file is refused and not replaced', async () => {
    const model = join(dir, 'model');
    await mkdir(model, { recursive: true });
    await writeFile(join(model, 'weights.bin'), Buffer.from([1, 2, 3]));
    await writeFile(join(model, 'model.json'), '{}');
    const target = at('runs/r/model/');
    const keys = await uploadDirectory(s3.client, model, target, ['model.json'], { writeOnce: true });
    assert.deepEqual(keys, ['runs/r/model/weights.bin', 'runs/r/model/model.json']);
    await uploadDirectory(s3.client, model, target, ['model.json'], { writeOnce: true });
    await writeFile(join(model, 'weights.bin'), Buffer.from([9, 9, 9]));
    await assert.rejects(uploadDirectory(s3.client, model, target, ['model.json'], { writeOnce: true }), /runs\/r\/model\/weights\.bin already exists with different content/);
    assert.deepEqual([...(await getObjectVersion(s3.client, at('runs/r/model/weights.bin')))!.bytes], [1, 2, 3]);
    // Without the option a write replaces (datasets, the train event): unchanged behaviour.
    await uploadDirectory(s3.client, model, target);
    assert.deepEqual([...(await getObjectVersion(s3.client, at('runs/r/model/weights.bin')))!.bytes], [9, 9, 9]);
  });
});

describe('putObjectOnce against a mocked S3', () => {
  const s3 = new FakeS3();
  after(() => s3.restore());

  test('a refused write leaves the stored object and names both hashes', async () => {
    s3.put('runs/r/report/metrics.json', 'stored');
    await assert.rejects(
      putObjectOnce(s3.client, { bucket: s3.bucket, key: 'runs/r/report/metrics.json' }, 'new'),
      new RegExp(`sha256 ${sha256Hex('stored')}, this write ${sha256Hex('new')}`),
    );
    assert.deepEqual(s3.refusedPuts, ['runs/r/report/metrics.json']);
    assert.equal(s3.objects.get('runs/r/report/metrics.json')!.toString(), 'stored');
  });
});

describe('getObjectVersion: a 403 for a missing key (a caller that may list only some prefixes)', () => {
  const denied = () =>
    new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: { httpStatusCode: 403 } });

  test('missing: the listing finds nothing, so undefined; created between the 403 and the listing: read again', async () => {
    const s3 = new FakeS3();
    let gets = 0;
    let createMeanwhile = false;
    s3.mock.on(GetObjectCommand).callsFake(() => {
      gets++;
      const body = s3.objects.get('models/champions/x.json');
      if (!body || gets === 1) {
        // Another execution's write lands right after this GET was answered.
        if (createMeanwhile) s3.put('models/champions/x.json', 'written by another execution');
        throw denied();
      }
      return { Body: sdkStreamMixin(Readable.from([body])), ContentLength: body.length, ETag: '"e1"' };
    });
    const at = { bucket: s3.bucket, key: 'models/champions/x.json' };
    assert.equal(await getObjectVersion(s3.client, at), undefined);
    gets = 0;
    createMeanwhile = true;
    const read = await getObjectVersion(s3.client, at);
    assert.equal(read?.bytes.toString(), 'written by another execution');
    assert.equal(read?.etag, '"e1"');
    assert.equal(gets, 2);
    s3.restore();
  });

  test('listed but denied on every read: the denial stands', async () => {
    const s3 = new FakeS3();
    s3.put('runs/r/run.json', '{}');
    s3.mock.on(GetObjectCommand).rejects(denied());
    await assert.rejects(getObjectVersion(s3.client, { bucket: s3.bucket, key: 'runs/r/run.json' }), { name: 'AccessDenied' });
    s3.restore();
  });
});
