// The embedded S3 (startLocalS3) honours S3's conditional writes, through the real S3 client:
// If-None-Match: * and If-Match: <etag> on PutObject, CompleteMultipartUpload and CopyObject,
// atomically. What S3 does, and the sources: cli/local/s3/write-preconditions.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../../cli/local/local-s3.ts';

const BUCKET = 'conditional';

describe('local S3: conditional writes', () => {
  let s3: LocalS3;
  let keys = 0;
  /** A key no other test uses. */
  const freshKey = (what: string) => `cw/${++keys}-${what}`;

  before(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
  });
  after(async () => {
    await s3.stop();
  });

  const put = async (key: string, body: string | Buffer, condition: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
    (await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...condition }))).ETag!;

  const read = async (key: string): Promise<string | undefined> => {
    try {
      const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return await object.Body!.transformToString();
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };

  /** Create, upload the parts, complete with `condition`; resolves to the completed ETag. */
  const multipart = async (key: string, parts: string[], condition: { IfNoneMatch?: string; IfMatch?: string } = {}) => {
    const upload = await startMultipart(key, parts);
    return complete(key, upload, condition);
  };
  const startMultipart = async (key: string, parts: string[]) => {
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const uploaded = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await s3.client.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: body }),
      );
      uploaded.push({ ETag, PartNumber: i + 1 });
    }
    return { UploadId: UploadId!, Parts: uploaded };
  };
  const complete = async (
    key: string,
    upload: { UploadId: string; Parts: { ETag?: string; PartNumber: number }[] },
    condition: { IfNoneMatch?: string; IfMatch?: string } = {},
  ) =>
    (
      await s3.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: upload.UploadId,
          MultipartUpload: { Parts: upload.Parts },
          ...condition,
        }),
      )
    ).ETag!;

  /** The error `operation` is rejected with, checked to be the S3 error `code` with `status`. */
  async function refused(operation: Promise<unknown>, code: string, status: number): Promise<S3ServiceException> {
    const error = (await operation.then(
      () => assert.fail(`expected ${code}, but the write succeeded`),
      (e: unknown) => e,
    )) as S3ServiceException;
    assert.equal(error.name, code, String(error));
    assert.equal(error.$metadata.httpStatusCode, status);
    return error;
  }
  const preconditionFailed = async (operation: Promise<unknown>, condition: 'If-None-Match' | 'If-Match') => {
    const error = await refused(operation, 'PreconditionFailed', 412);
    assert.equal((error as unknown as { Condition?: string }).Condition, condition);
  };

  describe('PutObject', () => {
    test('If-None-Match: * creates a missing key', async () => {
      const key = freshKey('create');
      await put(key, 'first', { IfNoneMatch: '*' });
      assert.equal(await read(key), 'first');
    });

    test('If-None-Match: * on an existing key: 412 PreconditionFailed, the object unchanged', async () => {
      const key = freshKey('exists');
      await put(key, 'first');
      // A body of several MB: the refusal comes after s3rver started receiving it.
      await preconditionFailed(put(key, Buffer.alloc(3 << 20, 'x'), { IfNoneMatch: '*' }), 'If-None-Match');
      assert.equal(await read(key), 'first');
    });

    test('the 412 is S3 error XML (Code PreconditionFailed, Condition)', async () => {
      const key = freshKey('xml');
      await put(key, 'first');
      // s3rver checks the key id of a SigV4 Authorization header, not the signature.
      const response = await fetch(`${s3.endpoint}/${BUCKET}/${key}`, {
        method: 'PUT',
        body: 'second',
        headers: {
          'if-none-match': '*',
          authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        },
      });
      assert.equal(response.status, 412);
      assert.match(response.headers.get('content-type') ?? '', /^application\/xml/);
      const xml = await response.text();
      assert.match(xml, /<Error><Code>PreconditionFailed<\/Code>/);
      assert.match(xml, /<Message>At least one of the pre-conditions you specified did not hold<\/Message>/);
      assert.match(xml, /<Condition>If-None-Match<\/Condition>/);
      assert.equal(await read(key), 'first');
    });

    test("If-Match with the object's ETag replaces it", async () => {
      const key = freshKey('cas');
      const etag = await put(key, 'first');
      const next = await put(key, 'second', { IfMatch: etag });
      assert.notEqual(next, etag);
      assert.equal(await read(key), 'second');
    });

    test('If-Match takes the ETag with or without its double quotes (as the S3 guide\'s CLI example sends it)', async () => {
      const key = freshKey('bare-etag');
      const etag = await put(key, 'first');
      await put(key, 'second', { IfMatch: etag.replaceAll('"', '') });
      assert.equal(await read(key), 'second');
    });

    test('If-Match with another ETag: 412 PreconditionFailed, the object unchanged', async () => {
      const key = freshKey('stale');
      const stale = await put(key, 'first');
      await put(key, 'second');
      await preconditionFailed(put(key, 'third', { IfMatch: stale }), 'If-Match');
      assert.equal(await read(key), 'second');
    });

    test('If-Match on a missing key: 404 NoSuchKey, nothing written', async () => {
      const key = freshKey('missing');
      const error = await refused(put(key, 'first', { IfMatch: '"0cc175b9c0f1b6a831c399e269772661"' }), 'NoSuchKey', 404);
      assert.equal((error as unknown as { Key?: string }).Key, key);
      assert.equal(await read(key), undefined);
    });

    test('values S3 does not accept: 501 NotImplemented, nothing written', async () => {
      const key = freshKey('unsupported');
      const etag = await put(key, 'first');
      await refused(put(key, 'second', { IfNoneMatch: etag }), 'NotImplemented', 501);
      await refused(put(key, 'second', { IfMatch: '*' }), 'NotImplemented', 501);
      await refused(put(key, 'second', { IfMatch: etag, IfNoneMatch: '*' }), 'NotImplemented', 501);
      await refused(put(freshKey('unsupported-missing'), 'x', { IfNoneMatch: etag }), 'NotImplemented', 501);
      assert.equal(await read(key), 'first');
    });

    test('an unconditional put still overwrites', async () => {
      const key = freshKey('plain');
      await put(key, 'first', { IfNoneMatch: '*' });
      await put(key, 'second');
      assert.equal(await read(key), 'second');
    });
  });

  describe('CompleteMultipartUpload', () => {
    test('If-None-Match: * completes onto a missing key', async () => {
      const key = freshKey('mpu-create');
      await multipart(key, ['ab', 'cd'], { IfNoneMatch: '*' });
      assert.equal(await read(key), 'abcd');
    });

    test('If-None-Match: * after another writer created the key during the upload: 412', async () => {
      // The S3 guide's scenario: an upload in progress is not an object, so a conditional
      // PutObject meanwhile succeeds, and the upload's conditional completion then fails.
      const key = freshKey('mpu-race');
      const upload = await startMultipart(key, ['from the upload']);
      await put(key, 'from put', { IfNoneMatch: '*' });
      await preconditionFailed(complete(key, upload, { IfNoneMatch: '*' }), 'If-None-Match');
      assert.equal(await read(key), 'from put');
    });

    test("If-Match with the object's ETag replaces it; another ETag: 412", async () => {
      const key = freshKey('mpu-cas');
      const etag = await put(key, 'first');
      await preconditionFailed(multipart(key, ['x'], { IfMatch: '"ffffffffffffffffffffffffffffffff"' }), 'If-Match');
      assert.equal(await read(key), 'first');
      await multipart(key, ['se', 'cond'], { IfMatch: etag });
      assert.equal(await read(key), 'second');
    });

    test('If-Match on a missing key: 404 NoSuchKey, nothing written', async () => {
      const key = freshKey('mpu-missing');
      await refused(multipart(key, ['x'], { IfMatch: '"0cc175b9c0f1b6a831c399e269772661"' }), 'NoSuchKey', 404);
      assert.equal(await read(key), undefined);
    });

    test('an unconditional completion still overwrites', async () => {
      const key = freshKey('mpu-plain');
      await put(key, 'first');
      await multipart(key, ['sec', 'ond']);
      assert.equal(await read(key), 'second');
    });
  });

  describe('CopyObject (the destination)', () => {
    test('If-None-Match: * copies onto a missing key, and 412 onto an existing one', async () => {
      const source = freshKey('copy-source');
      const target = freshKey('copy-target');
      await put(source, 'copied');
      const copy = (condition: { IfNoneMatch?: string; IfMatch?: string }) =>
        s3.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: target, CopySource: `${BUCKET}/${source}`, ...condition }));
      await copy({ IfNoneMatch: '*' });
      assert.equal(await read(target), 'copied');
      await put(target, 'replaced');
      await preconditionFailed(copy({ IfNoneMatch: '*' }), 'If-None-Match');
      assert.equal(await read(target), 'replaced');
    });

    test('If-Match against the destination: 412 on another ETag, 404 on a missing key', async () => {
      const source = freshKey('copy-source');
      const target = freshKey('copy-target');
      await put(source, 'copied');
      const copy = (condition: { IfMatch: string }) =>
        s3.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: target, CopySource: `${BUCKET}/${source}`, ...condition }));
      await refused(copy({ IfMatch: '"0cc175b9c0f1b6a831c399e269772661"' }), 'NoSuchKey', 404);
      const etag = await put(target, 'first');
      await preconditionFailed(copy({ IfMatch: '"0cc175b9c0f1b6a831c399e269772661"' }), 'If-Match');
      assert.equal(await read(target), 'first');
      await copy({ IfMatch: etag });
      assert.equal(await read(target), 'copied');
    });
  });

  describe('atomic: concurrent conditional writes to one key', () => {
    const WRITERS = 8;

    /** Settles every write; returns the indexes that succeeded, checking the rest got a 412. */
    async function winners(writes: Promise<unknown>[], condition: 'If-None-Match' | 'If-Match'): Promise<number[]> {
      const results = await Promise.allSettled(writes);
      for (const result of results) {
        if (result.status === 'rejected') {
          const error = result.reason as S3ServiceException;
          assert.equal(error.name, 'PreconditionFailed', String(error));
          assert.equal((error as unknown as { Condition?: string }).Condition, condition);
        }
      }
      return results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
    }

    test(`${WRITERS} PutObjects with If-None-Match: * at once: exactly one succeeds, and its body is stored`, async () => {
      const key = freshKey('race-create');
      const bodies = Array.from({ length: WRITERS }, (_, i) => `writer ${i} `.repeat(20_000));
      const won = await winners(bodies.map((body) => put(key, body, { IfNoneMatch: '*' })), 'If-None-Match');
      assert.equal(won.length, 1, `writers that succeeded: ${won.join(', ')}`);
      assert.equal(await read(key), bodies[won[0]!]);
    });

    test(`${WRITERS} PutObjects with If-Match on the same ETag at once: exactly one succeeds`, async () => {
      const key = freshKey('race-cas');
      const etag = await put(key, 'initial');
      const bodies = Array.from({ length: WRITERS }, (_, i) => `update ${i}`);
      const won = await winners(bodies.map((body) => put(key, body, { IfMatch: etag })), 'If-Match');
      assert.equal(won.length, 1, `writers that succeeded: ${won.join(', ')}`);
      assert.equal(await read(key), bodies[won[0]!]);
    });

    test('concurrent multipart completions with If-None-Match: * : exactly one succeeds', async () => {
      const key = freshKey('race-mpu');
      const uploads = [];
      for (let i = 0; i < 4; i++) uploads.push(await startMultipart(key, [`upload ${i} `, 'done']));
      const won = await winners(uploads.map((upload) => complete(key, upload, { IfNoneMatch: '*' })), 'If-None-Match');
      assert.equal(won.length, 1, `completions that succeeded: ${won.join(', ')}`);
      assert.equal(await read(key), `upload ${won[0]} done`);
    });

    test('If-None-Match: * writes to different keys at once all succeed (one lock per key)', async () => {
      const keysWritten = Array.from({ length: WRITERS }, (_, i) => freshKey(`parallel-${i}`));
      await Promise.all(keysWritten.map((key) => put(key, key, { IfNoneMatch: '*' })));
      for (const key of keysWritten) {
        await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      }
    });
  });
});
