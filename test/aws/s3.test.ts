import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  contentTypeFor,
  downloadPrefix,
  findObject,
  getJsonIfExists,
  getObjectBytes,
  listObjects,
  objectExists,
  S3OperationError,
  s3InputFile,
} from '../../lib/aws/s3.ts';
import { S3_MAX_ATTEMPTS } from '../../lib/aws/clients.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TestS3Server } from './s3-test-server.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** Incompressible bytes, so a body is sent in many chunks and a reset lands mid-stream. */
function noise(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) bytes[i] = (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24;
  return bytes;
}

/** The offset of a resumed GET: `bytes=<offset>-`. */
function resumedAt(range: string | undefined): number {
  const match = /^bytes=(\d+)-$/.exec(range ?? '');
  assert.ok(match, `a Range GET, got ${range}`);
  return Number(match[1]);
}

async function withServer<T>(options: ConstructorParameters<typeof TestS3Server>[0], work: (server: TestS3Server) => Promise<T>): Promise<T> {
  const server = await new TestS3Server(options).start();
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

describe('contentTypeFor (the one content-type table of uploads)', () => {
  test('maps the report and model files to types a browser displays', () => {
    assert.equal(contentTypeFor('confusion_matrix.png'), 'image/png');
    assert.equal(contentTypeFor('classification_report.json'), 'application/json');
    assert.equal(contentTypeFor('classification_report.txt'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('weights.bin'), 'application/octet-stream');
    assert.equal(contentTypeFor('README'), 'application/octet-stream');
  });
});

describe('S3 reads survive a connection reset mid-body', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fmnist-s3-test-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test('downloadPrefix resumes with Range + If-Match and writes identical files', () =>
    withServer({ pageSize: 2, breakAfter: (request, attempt) => (request.key === 'datasets/d/train-00000.bin' && attempt === 1 ? 300_000 : undefined) }, async (server) => {
      const files = { 'train-00000.bin': noise(1_000_000, 1), 'test-00000.bin': noise(200_000, 2), 'manifest.json': Buffer.from('{}') };
      for (const [name, body] of Object.entries(files)) server.put(`datasets/d/${name}`, body);
      server.put('datasets/other/manifest.json', '{"not":"this"}');
      const dir = join(scratch, 'download');
      const written = await downloadPrefix(server.client(), { bucket: server.bucket, key: 'datasets/d/' }, dir);
      assert.deepEqual(written.sort(), Object.keys(files).sort());
      for (const [name, body] of Object.entries(files)) assert.equal(sha256(await readFile(join(dir, name))), sha256(body), name);
      const gets = server.requests.filter((r) => r.key === 'datasets/d/train-00000.bin');
      assert.equal(gets.length, 2);
      assert.equal(gets[0].range, undefined);
      assert.ok(resumedAt(gets[1].range) <= 300_000, gets[1].range);
      assert.equal(gets[1].ifMatch, server.objects.get('datasets/d/train-00000.bin')!.etag);
      // Three keys at two per page: the listing took two pages.
      assert.equal(server.requests.filter((r) => r.method === 'LIST').length, 2);
    }));

  test('a CSV streamed through ingest from s3InputFile gives the same dataset despite a reset', () =>
    // Every fresh GET of the train CSV breaks (ingest opens it twice: format detection, then the read).
    withServer({ breakAfter: (request) => (request.key === 'raw/train.csv' && request.range === undefined ? 150_000 : undefined) }, async (server) => {
      const train = Buffer.from(syntheticKaggleCsv(300, 1).text);
      const testCsv = Buffer.from(syntheticKaggleCsv(20, 2).text);
      server.put('raw/train.csv', train);
      server.put('raw/test.csv', testCsv);
      const client = server.client();
      const manifest = await ingestDataset({
        train: [s3InputFile(client, { bucket: server.bucket, key: 'raw/train.csv' })],
        test: [s3InputFile(client, { bucket: server.bucket, key: 'raw/test.csv' })],
        outDir: join(scratch, 'ingested'),
      });
      assert.equal(manifest.splits.train.examples, 300);
      assert.equal(manifest.splits.train.sources[0].sha256, sha256(train));
      assert.equal(manifest.splits.train.sources[0].bytes, train.length);
      const resumed = server.requests.filter((r) => r.key === 'raw/train.csv' && r.range !== undefined);
      assert.ok(resumed.length >= 1, 'the read resumed');
      for (const r of resumed) assert.ok(resumedAt(r.range) <= 150_000, r.range);
    }));

  test('a gzip body resumed mid-stream decompresses to the same bytes', () =>
    withServer({ breakAfter: (_request, attempt) => (attempt <= 2 ? 40_000 * attempt : undefined) }, async (server) => {
      const original = noise(300_000, 3);
      server.put('raw/x.bin.gz', gzipSync(original));
      const bytes = await getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/x.bin.gz' });
      assert.equal(sha256(bytes), sha256(gzipSync(original)));
      // Each resume starts where the bytes received so far end (a reset can lose what was in flight).
      const [first, second, third] = server.requests.map((r) => r.range);
      assert.equal(first, undefined);
      assert.ok(resumedAt(second) <= 40_000 && resumedAt(third) <= resumedAt(second) + 80_000, `${second}, ${third}`);
    }));
});

describe('S3 failures name the object', () => {
  test('a server that always resets: the error names bucket, key, operation and attempts', () =>
    withServer({ breakAfter: () => 1000 }, async (server) => {
      server.put('raw/flaky.csv', noise(100_000, 4));
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/flaky.csv' }), (error: Error) => {
        assert.ok(error instanceof S3OperationError, String(error));
        assert.match(error.message, new RegExp(`^s3://test-bucket/raw/flaky\\.csv: GetObject failed after ${S3_MAX_ATTEMPTS} attempts: `));
        return true;
      });
      assert.equal(server.requests.length, S3_MAX_ATTEMPTS);
    }));

  test('NoSuchKey names the key', () =>
    withServer({}, async (server) => {
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/gone.csv' }), (error: Error) => {
        assert.equal(error.name, 'NoSuchKey');
        assert.equal(error.message, 's3://test-bucket/raw/gone.csv: GetObject failed: NoSuchKey: no object has this key');
        return true;
      });
    }));

  test("AccessDenied keeps S3's message and adds the key", () =>
    withServer({ denied: (request) => request.key === 'runs/x/model.json' }, async (server) => {
      server.put('runs/x/model.json', '{}');
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'runs/x/model.json' }), (error: Error) => {
        assert.equal(error.name, 'AccessDenied');
        assert.equal(error.message, 's3://test-bucket/runs/x/model.json: GetObject failed: AccessDenied: Access Denied');
        return true;
      });
    }));

  test('a missing key behind a 403 (no unconditional s3:ListBucket) is told apart by listing it', () =>
    withServer({ missingKey: 403 }, async (server) => {
      server.put('raw/typo.csv.gz', 'a longer key that the prefix lists');
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/typo.csv' }), (error: Error) => {
        assert.equal(error.name, 'NoSuchKey');
        assert.match(error.message, /^s3:\/\/test-bucket\/raw\/typo\.csv: GetObject failed: NoSuchKey: no object has this key \(S3 answered AccessDenied: Access Denied; a listing of the key finds nothing\)$/);
        return true;
      });
      assert.deepEqual(server.requests.map((r) => r.method), ['GET', 'LIST']);
    }));

  test('when the listing is denied too, the AccessDenied stands', () =>
    withServer({ missingKey: 403, denied: (request) => request.method === 'LIST' }, async (server) => {
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'datasets/x/manifest.json' }), {
        name: 'AccessDenied',
        message: 's3://test-bucket/datasets/x/manifest.json: GetObject failed: AccessDenied: Access Denied',
      });
    }));

  test('an object replaced between attempts fails the read instead of mixing versions', async () => {
    const server: TestS3Server = await new TestS3Server({
      // The connection breaks, and meanwhile someone uploads a new version.
      breakAfter: (_request, attempt) => {
        if (attempt !== 1) return undefined;
        server.put('raw/a.csv', noise(100_000, 6));
        return 10_000;
      },
    }).start();
    try {
      server.put('raw/a.csv', noise(100_000, 5));
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/a.csv' }), (error: Error) => {
        assert.equal(error.name, 'PreconditionFailed');
        assert.match(error.message, /^s3:\/\/test-bucket\/raw\/a\.csv: GetObject failed after 2 attempts: PreconditionFailed: the object was replaced while being read/);
        return true;
      });
      assert.equal(server.requests[1].ifMatch, `"${createHash('md5').update(noise(100_000, 5)).digest('hex')}"`);
    } finally {
      await server.stop();
    }
  });

  test('a server that ignores Range on resume is caught, not spliced', () =>
    withServer({ ignoreRange: true, breakAfter: (_r, attempt) => (attempt === 1 ? 10_000 : undefined) }, async (server) => {
      server.put('raw/b.csv', noise(50_000, 7));
      await assert.rejects(getObjectBytes(server.client(), { bucket: server.bucket, key: 'raw/b.csv' }), /asked to resume at byte \d+, the server answered with no Content-Range/);
    }));
});

describe('existence checks by listing, for a principal that may only list its prefixes', () => {
  test('objectExists and getJsonIfExists compare keys exactly and never HEAD or GET a missing key', () =>
    withServer({ missingKey: 403 }, async (server) => {
      const client = server.client();
      const at = (key: string) => ({ bucket: server.bucket, key });
      server.put('models/champion.json.bak', '{"old":true}');
      server.put('datasets/abc/manifest.jsonx', '{}');
      assert.equal(await objectExists(client, at('datasets/abc/manifest.json')), false);
      assert.equal(await getJsonIfExists(client, at('models/champion.json')), undefined);
      assert.deepEqual(server.requests.filter((r) => r.method !== 'LIST'), [], 'no HEAD or GET of a missing key');
      server.put('models/champion.json', '{"runId":"r1"}');
      assert.deepEqual(await getJsonIfExists(client, at('models/champion.json')), { runId: 'r1' });
      assert.equal(await objectExists(client, at('models/champion.json')), true);
      assert.equal((await findObject(client, at('models/champion.json')))?.etag, server.objects.get('models/champion.json')!.etag);
    }));

  test('listObjects pages through every key under the prefix, and a failure names the prefix', () =>
    withServer({ pageSize: 3 }, async (server) => {
      const keys = Array.from({ length: 10 }, (_, i) => `raw/k${i}.csv`);
      for (const key of keys) server.put(key, key);
      server.put('rawish.csv', 'x');
      const listed: string[] = [];
      for await (const object of listObjects(server.client(), server.bucket, 'raw/')) listed.push(object.key);
      assert.deepEqual(listed, [...keys].sort());
      assert.equal(server.requests.filter((r) => r.method === 'LIST').length, 4);
      await assert.rejects(
        (async () => {
          for await (const _ of listObjects(server.client(), 'other-bucket', 'raw/')) void _;
        })(),
        { message: 's3://other-bucket/raw/: ListObjectsV2 failed: NoSuchBucket: the bucket does not exist' },
      );
    }));
});
