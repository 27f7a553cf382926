import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getObjectBytes, putObject } from '../../../lib/aws/s3.ts';
import { startLocalS3, type LocalS3 } from '../../../cli/local/local-s3.ts';
import { until } from '../../support/until.ts';

const REPO = new URL('../../../', import.meta.url).pathname;
const BUCKET = 'atomic-bucket';

/** Every file under `dir` (relative), to find temporary files left behind. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/**
 * A raw PUT that declares `declared` bytes and sends `sent`, signed the way s3rver checks (the
 * access key id only), so a test controls exactly when the body stops.
 */
function startPut(endpoint: string, key: string, declared: number): { send(bytes: Buffer): void; abort(): void; done: Promise<number | undefined> } {
  const url = new URL(`/${BUCKET}/${key}`, endpoint);
  const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const req = request(url, {
    method: 'PUT',
    headers: {
      'content-length': declared,
      'x-amz-date': date,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
    },
  });
  const done = new Promise<number | undefined>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
  });
  return { send: (bytes) => req.write(bytes), abort: () => req.destroy(), done };
}

describe('local S3: objects are written atomically', () => {
  let scratch: string;
  let s3: LocalS3;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fmnist-atomic-'));
    s3 = await startLocalS3({ bucket: BUCKET, directory: join(scratch, 'state') });
  });
  after(async () => {
    await s3.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('a client that dies mid-body replaces nothing: the previous object stays, nothing partial is kept', async () => {
    await putObject(s3.client, { bucket: BUCKET, key: 'models/champion.json' }, '{"runId":"old"}');
    // The client is another process, killed with SIGKILL after half of its declared body.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { request } from 'node:http';
        const date = new Date().toISOString().replace(/[-:]|\\.\\d{3}/g, '');
        const req = request(new URL('/${BUCKET}/models/champion.json', process.argv[1]), { method: 'PUT', headers: {
          'content-length': 1000000, 'x-amz-date': date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/' + date.slice(0, 8) + '/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=' + '0'.repeat(64) } });
        req.on('error', () => {});
        req.write(Buffer.alloc(500000, 120), () => console.log('half sent'));
        `,
        s3.endpoint,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const stateDir = join(scratch, 'state');
    // Killed once the server is writing the body (its temporary file exists).
    await until('the half-written upload', async () => ((await files(stateDir)).some((file) => file.includes('.fmnist-partial-')) ? true : undefined), 20_000);
    child.kill('SIGKILL');
    await exited(child);
    await until('the server to drop the partial upload', async () => ((await files(stateDir)).some((file) => file.includes('.fmnist-partial-')) ? undefined : true), 20_000);
    assert.equal((await getObjectBytes(s3.client, { bucket: BUCKET, key: 'models/champion.json' })).toString(), '{"runId":"old"}');
  });

  test('a body shorter than its Content-Length is refused (IncompleteBody) and never stored', async () => {
    const put = startPut(s3.endpoint, 'short.txt', 100);
    put.send(Buffer.from('only ten b'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    put.abort();
    await put.done;
    await assert.rejects(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'short.txt' })), (error: Error) => error.name === 'NotFound');
    // And a complete one with the same framing is stored: the refusal is about the length.
    const whole = startPut(s3.endpoint, 'whole.txt', 10);
    whole.send(Buffer.from('0123456789'));
    assert.equal(await whole.done, 200);
    assert.equal((await getObjectBytes(s3.client, { bucket: BUCKET, key: 'whole.txt' })).toString(), '0123456789');
  });

  test('CopyObject and CompleteMultipartUpload give whole objects with true ETags and their metadata', async () => {
    await putObject(s3.client, { bucket: BUCKET, key: 'src.json' }, '{"a":1}', 'application/json');
    await s3.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy.json', CopySource: `${BUCKET}/src.json` }));
    const copied = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy.json' }));
    assert.equal(copied.ContentType, 'application/json');
    assert.equal(copied.ETag, '"' + (await import('node:crypto')).createHash('md5').update('{"a":1}').digest('hex') + '"');
    assert.equal((await getObjectBytes(s3.client, { bucket: BUCKET, key: 'copy.json' })).toString(), '{"a":1}');

    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from('tail');
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
    const etags = [];
    for (const [i, body] of [part1, part2].entries()) {
      etags.push((await s3.client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: body }))).ETag);
    }
    await s3.client.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    assert.deepEqual(await getObjectBytes(s3.client, { bucket: BUCKET, key: 'multi.bin' }), Buffer.concat([part1, part2]));
    assert.deepEqual((await files(join(scratch, 'state'))).filter((file) => file.includes('.fmnist-')), []);
  });

  test('kill -9 of the process serving a write: the previous object survives and the next start sweeps the temporary file', async () => {
    const directory = join(scratch, 'killed');
    // The server runs in a child process, which is killed while it writes a large object.
    const script = join(scratch, 'serve.mts');
    await writeFile(
      script,
      `import { startLocalS3 } from ${JSON.stringify(join(REPO, 'cli/local/local-s3.ts'))};
       const s3 = await startLocalS3({ bucket: ${JSON.stringify(BUCKET)}, directory: process.argv[2] });
       console.log(s3.endpoint);`,
    );
    const first = await startLocalS3({ bucket: BUCKET, directory });
    await putObject(first.client, { bucket: BUCKET, key: 'datasets/d/manifest.json' }, '{"formatVersion":1}');
    await first.stop();

    const child = spawn(process.execPath, ['--import', 'tsx', script, directory], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const put = startPut(endpoint, 'datasets/d/manifest.json', 8 * 1024 * 1024);
    put.send(Buffer.alloc(1024 * 1024, 32));
    await until('the server writing', async () => ((await files(directory)).some((file) => file.includes('.fmnist-partial-')) ? true : undefined), 20_000);
    child.kill('SIGKILL');
    await exited(child);
    put.abort();
    assert.ok((await files(directory)).some((file) => file.includes('.fmnist-partial-')), 'the killed server left its temporary file');

    const again = await startLocalS3({ bucket: BUCKET, directory });
    try {
      assert.equal((await getObjectBytes(again.client, { bucket: BUCKET, key: 'datasets/d/manifest.json' })).toString(), '{"formatVersion":1}');
      assert.deepEqual((await files(directory)).filter((file) => file.includes('.fmnist-')), []);
    } finally {
      await again.stop();
    }
  });
});
