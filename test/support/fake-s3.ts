import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * An in-memory bucket behind aws-sdk-client-mock: enough of S3 (put, get, head, list, delete) for the
 * handlers to run for real against it, and for tests to inspect what they wrote, in what order.
 * ETags are the body's MD5 (as S3's for a single PutObject); conditional writes (If-None-Match: *,
 * If-Match) are honoured as S3 does (412 PreconditionFailed; If-Match on a missing key: NoSuchKey).
 */
export class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  readonly putOrder: string[] = [];
  /** Writes S3 refused (412), by key. */
  readonly refusedPuts: string[] = [];
  /** Called before each PutObject is applied (tests: a competing write landing first). */
  beforePut?: (key: string, input: { IfNoneMatch?: string; IfMatch?: string }) => void | Promise<void>;
  readonly client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  readonly mock = mockClient(this.client);

  constructor(readonly bucket = 'test-bucket') {
    const where = (bucket: string | undefined, key: string | undefined) => {
      if (bucket !== this.bucket) throw new Error(`unexpected bucket ${bucket}`);
      return key!;
    };
    this.mock.on(PutObjectCommand).callsFake(async (input) => {
      const key = where(input.Bucket, input.Key);
      const body = await toBuffer(input.Body);
      await this.beforePut?.(key, input);
      const current = this.objects.get(key);
      if (input.IfMatch !== undefined && current === undefined) {
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
      }
      const refused =
        (input.IfNoneMatch === '*' && current !== undefined) ||
        (input.IfMatch !== undefined && current !== undefined && bare(etagOf(current)) !== bare(input.IfMatch));
      if (refused) {
        this.refusedPuts.push(key);
        throw new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          message: 'At least one of the pre-conditions you specified did not hold',
          $metadata: { httpStatusCode: 412 },
        });
      }
      this.objects.set(key, body);
      this.putOrder.push(key);
      return { ETag: etagOf(body) };
    });
    this.mock.on(GetObjectCommand).callsFake((input) => {
      const body = this.objects.get(where(input.Bucket, input.Key));
      if (!body) throw new NoSuchKey({ message: `no such key ${input.Key}`, $metadata: {} });
      return { Body: sdkStreamMixin(Readable.from([body])), ContentLength: body.length, ETag: etagOf(body) };
    });
    this.mock.on(DeleteObjectCommand).callsFake((input) => {
      // S3 answers a delete of a missing key with success, too.
      this.objects.delete(where(input.Bucket, input.Key));
      return {};
    });
    this.mock.on(HeadObjectCommand).callsFake((input) => {
      const body = this.objects.get(where(input.Bucket, input.Key));
      if (!body) throw new NotFound({ message: 'not found', $metadata: {} });
      return { ContentLength: body.length, ETag: etagOf(body) };
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

/** S3's ETag of a single-part object: its MD5, in double quotes. */
export function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

const bare = (etag: string) => etag.replace(/^"|"$/g, '');

async function toBuffer(body: unknown): Promise<Buffer> {
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  throw new Error(`unsupported PutObject body: ${typeof body}`);
}
