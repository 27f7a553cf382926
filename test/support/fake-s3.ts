import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * An in-memory bucket behind aws-sdk-client-mock: enough of S3 (put, get, head, list) for the
 * handlers to run for real against it, and for tests to inspect what they wrote, in what order.
 */
export class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  readonly putOrder: string[] = [];
  readonly client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  readonly mock = mockClient(this.client);

  constructor(readonly bucket = 'test-bucket') {
    const where = (bucket: string | undefined, key: string | undefined) => {
      if (bucket !== this.bucket) throw new Error(`unexpected bucket ${bucket}`);
      return key!;
    };
    this.mock.on(PutObjectCommand).callsFake(async (input) => {
      const key = where(input.Bucket, input.Key);
      this.objects.set(key, await toBuffer(input.Body));
      this.putOrder.push(key);
      return {};
    });
    this.mock.on(GetObjectCommand).callsFake((input) => {
      const body = this.objects.get(where(input.Bucket, input.Key));
      if (!body) throw new NoSuchKey({ message: `no such key ${input.Key}`, $metadata: {} });
      return { Body: sdkStreamMixin(Readable.from([body])), ContentLength: body.length };
    });
    this.mock.on(HeadObjectCommand).callsFake((input) => {
      const body = this.objects.get(where(input.Bucket, input.Key));
      if (!body) throw new NotFound({ message: 'not found', $metadata: {} });
      return { ContentLength: body.length };
    });
    this.mock.on(ListObjectsV2Command).callsFake((input) => {
      where(input.Bucket, '');
      const keys = [...this.objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
      // S3's ETag of a single-part upload (without SSE-KMS) is the MD5 of the bytes, quoted.
      const etag = (body: Buffer) => JSON.stringify(createHash('md5').update(body).digest('hex'));
      return { Contents: keys.map((Key) => ({ Key, Size: this.objects.get(Key)!.length, ETag: etag(this.objects.get(Key)!) })), IsTruncated: false };
    });
  }

  put(key: string, body: Buffer | string): void {
    this.objects.set(key, Buffer.from(body));
  }

  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  restore(): void {
    this.mock.restore();
  }
}

async function toBuffer(body: unknown): Promise<Buffer> {
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  throw new Error(`unsupported PutObject body: ${typeof body}`);
}
