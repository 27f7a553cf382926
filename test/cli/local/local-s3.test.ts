import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../../lib/aws/clients.ts';
import { downloadPrefix, getObjectBytes, objectExists, putObject } from '../../../lib/aws/s3.ts';
import { localS3ClientConfig, startLocalS3, type LocalS3 } from '../../../cli/local/local-s3.ts';
import { installSingleDesCompat } from '../../../cli/local/s3rver-des.ts';

const require = createRequire(import.meta.url);

describe('local S3 (s3rver)', () => {
  let s3: LocalS3;
  let scratch: string;

  before(async () => {
    s3 = await startLocalS3({ bucket: 'test-bucket' });
    scratch = await mkdtemp(join(tmpdir(), 'fmnist-local-s3-test-'));
  });
  after(async () => {
    await s3.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 on a free port, with the bucket created', async () => {
    assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(s3.endpoint, 'http://127.0.0.1:0');
    const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: 'test-bucket' }));
    assert.equal(listing.KeyCount ?? 0, 0);
    assert.equal(s3.env.AWS_ENDPOINT_URL_S3, s3.endpoint);
    assert.equal(s3.env.DATA_BUCKET, 'test-bucket');
  });

  test('put, head and get through the project helpers', async () => {
    await putObject(s3.client, { bucket: s3.bucket, key: 'a/b.json' }, '{"x":1}', 'application/json');
    assert.equal(await objectExists(s3.client, { bucket: s3.bucket, key: 'a/b.json' }), true);
    assert.equal(await objectExists(s3.client, { bucket: s3.bucket, key: 'a/missing.json' }), false);
    assert.equal((await getObjectBytes(s3.client, { bucket: s3.bucket, key: 'a/b.json' })).toString(), '{"x":1}');
  });

  test('lists more than 1,000 keys: truncated pages with continuation tokens (no --openssl-legacy-provider)', async () => {
    // s3rver takes ~5 ms a request here: 1,001 keys is the least that pages by default.
    const keys = Array.from({ length: 1001 }, (_, i) => `many/k${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((key) => putObject(s3.client, { bucket: s3.bucket, key }, key)));
    }
    const first = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'many/' }));
    assert.equal(first.Contents?.length, 1000);
    assert.equal(first.IsTruncated, true);
    assert.ok(first.NextContinuationToken);
    const second = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'many/', ContinuationToken: first.NextContinuationToken }),
    );
    assert.equal(second.IsTruncated, false);
    const listed = [...first.Contents!, ...second.Contents!].map((object) => object.Key);
    assert.deepEqual(listed, keys);
  });

  test('downloadPrefix (what the handlers use) copies a prefix with nested keys', async () => {
    await putObject(s3.client, { bucket: s3.bucket, key: 'runs/r1/model/model.json' }, '{}');
    await putObject(s3.client, { bucket: s3.bucket, key: 'runs/r1/model/weights/part-1.bin' }, Buffer.from([1, 2, 3]));
    const written = await downloadPrefix(s3.client, { bucket: s3.bucket, key: 'runs/r1/model/' }, join(scratch, 'model'));
    assert.deepEqual(written.sort(), ['model.json', 'weights/part-1.bin']);
  });

  test('a streamed upload arrives intact with checksums WHEN_REQUIRED (the project client settings)', async () => {
    const file = join(scratch, 'streamed.csv');
    const content = Array.from({ length: 20_000 }, (_, i) => `${i % 10},${i}`).join('\n');
    await writeFile(file, content);
    const { size } = await stat(file);
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/streamed.csv', Body: createReadStream(file), ContentLength: size }),
    );
    const back = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'raw/streamed.csv' }));
    assert.equal(await back.Body!.transformToString(), content);
  });

  test("the project's own client factory reaches it through AWS_ENDPOINT_URL_S3 (env only, code unchanged)", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, s3.env);
    try {
      const client = s3Client(); // lib/aws/clients.ts: one per process (this test file's)
      const file = join(scratch, 'via-env.txt');
      await writeFile(file, 'via the environment\n'.repeat(500));
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/via-env.txt', Body: createReadStream(file), ContentLength: 10_000 }));
      assert.equal((await getObjectBytes(client, { bucket: s3.bucket, key: 'raw/via-env.txt' })).toString(), 'via the environment\n'.repeat(500));
      client.destroy();
    } finally {
      for (const key of Object.keys(s3.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  test('quirk kept in view: the SDK default (streaming checksums) makes s3rver store aws-chunked framing', async () => {
    const file = join(scratch, 'streamed-default.txt');
    await writeFile(file, 'hello\n'.repeat(1000));
    const config = localS3ClientConfig(s3.endpoint);
    const defaults = new S3Client({ ...config, requestChecksumCalculation: 'WHEN_SUPPORTED', responseChecksumValidation: 'WHEN_SUPPORTED' });
    try {
      await defaults.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/default.txt', Body: createReadStream(file), ContentLength: 6000 }),
      );
      const stored = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'raw/default.txt' }))).Body!.transformToString();
      // If this ever stops failing, s3rver (or the SDK) fixed it and WHEN_REQUIRED is no longer needed.
      assert.notEqual(stored, 'hello\n'.repeat(1000));
      assert.match(stored, /^[0-9a-f]+\r\n/);
    } finally {
      defaults.destroy();
    }
  });
});

test('a state directory keeps the bucket between servers; a temporary one is removed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fmnist-local-state-'));
  try {
    const first = await startLocalS3({ directory: dir, bucket: 'kept' });
    await putObject(first.client, { bucket: 'kept', key: 'models/champion.json' }, '{}');
    await first.stop();
    await first.stop(); // idempotent
    const second = await startLocalS3({ directory: dir, bucket: 'kept' });
    try {
      assert.equal(await objectExists(second.client, { bucket: 'kept', key: 'models/champion.json' }), true);
    } finally {
      await second.stop();
    }
    assert.ok((await stat(dir)).isDirectory());

    const temporary = await startLocalS3();
    assert.equal(temporary.temporary, true);
    await temporary.stop();
    await assert.rejects(stat(temporary.directory), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("single-DES compat gives exactly OpenSSL's legacy DES bytes, and leaves other calls alone", () => {
  const crypto = require('node:crypto') as typeof import('node:crypto');
  installSingleDesCompat(crypto);
  assert.equal(installSingleDesCompat(crypto), false, 'idempotent');
  const key = Buffer.alloc(8, 'S3RVER', 'utf8');
  const iv = Buffer.from('d41d8cd98f00b204', 'hex');
  const plaintext = 'us-east-1/bucket/some/key.txt';
  const cipher = crypto.createCipheriv('des', key, iv);
  const ours = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('hex');
  const reference = execFileSync(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '-e',
      `const c = require('crypto'); const x = c.createCipheriv('des', Buffer.alloc(8, 'S3RVER', 'utf8'), Buffer.from('${iv.toString('hex')}', 'hex'));` +
        `process.stdout.write(Buffer.concat([x.update(${JSON.stringify(plaintext)}, 'utf8'), x.final()]).toString('hex'))`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(ours, reference);
  const decipher = crypto.createDecipheriv('des', key, iv);
  assert.equal(Buffer.concat([decipher.update(Buffer.from(ours, 'hex')), decipher.final()]).toString('utf8'), plaintext);
  // not single DES with an 8-byte key: the original behaviour, errors included
  assert.throws(() => crypto.createCipheriv('des', Buffer.alloc(7), iv));
  assert.throws(() => crypto.createCipheriv('no-such-cipher', key, iv), /Unknown cipher|Invalid/);
  const aes = crypto.createCipheriv('aes-128-cbc', Buffer.alloc(16, 1), Buffer.alloc(16, 2));
  assert.equal(Buffer.concat([aes.update('x'), aes.final()]).length, 16);
});
