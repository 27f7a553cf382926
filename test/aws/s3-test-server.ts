import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Client } from '../../lib/aws/clients.ts';

/**
 * Just enough of S3, over real HTTP, to test what a mocked client cannot: streams that break
 * halfway, Range and If-Match on resume, ListObjectsV2's XML and paging, and a bucket policy
 * where a missing key answers 403 (a principal without an unconditional s3:ListBucket).
 * Path-style requests only: GET /bucket/key, GET /bucket?list-type=2.
 */
export interface RecordedRequest {
  method: string;
  key?: string;
  range?: string;
  ifMatch?: string;
  prefix?: string;
}

export interface TestS3Options {
  bucket?: string;
  /** Keys per ListObjectsV2 page (S3's is 1,000): small, to make paging happen. */
  pageSize?: number;
  /** What a GET or HEAD of a missing key answers: 404 NoSuchKey (may list) or 403 AccessDenied. */
  missingKey?: 404 | 403;
  /**
   * Called per GET that has a body to send: return a byte count to send that many bytes of this
   * response's body and then destroy the socket; undefined to send it whole.
   */
  breakAfter?: (request: RecordedRequest, attempt: number) => number | undefined;
  /** Answer Range requests with the whole object (a server that ignores Range). */
  ignoreRange?: boolean;
  /** Requests a bucket policy denies (403 AccessDenied), whether or not the object exists. */
  denied?: (request: RecordedRequest) => boolean;
}

export class TestS3Server {
  readonly bucket: string;
  readonly objects = new Map<string, { body: Buffer; etag: string }>();
  readonly requests: RecordedRequest[] = [];
  private readonly gets = new Map<string, number>();
  private server!: Server;
  endpoint = '';

  constructor(private readonly options: TestS3Options = {}) {
    this.bucket = options.bucket ?? 'test-bucket';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** A client configured as the project's (lib/aws/clients.ts), pointed at this server. */
  client() {
    return createS3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  put(key: string, body: Buffer | string): void {
    const bytes = Buffer.from(body);
    this.objects.set(key, { body: bytes, etag: `"${createHash('md5').update(bytes).digest('hex')}"` });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, 'http://localhost');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (bucket !== this.bucket) return this.error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') return this.list(url, res);
    const denied = this.options.denied;
    const request: RecordedRequest = {
      method: req.method!,
      key,
      range: req.headers.range,
      ifMatch: req.headers['if-match'] as string | undefined,
    };
    this.requests.push(request);
    if (denied?.(request)) return this.error(res, 403, 'AccessDenied', 'Access Denied');
    const object = this.objects.get(key);
    if (!object) {
      if (this.options.missingKey === 403) return this.error(res, 403, 'AccessDenied', 'Access Denied');
      return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    if (request.ifMatch !== undefined && request.ifMatch !== object.etag) {
      return this.error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (req.method !== 'GET') return this.error(res, 405, 'MethodNotAllowed', 'not supported here');
    const size = object.body.length;
    const range = /^bytes=(\d+)-$/.exec(request.range ?? '');
    const from = range && !this.options.ignoreRange ? Number(range[1]) : 0;
    const body = object.body.subarray(from);
    const headers: Record<string, string | number> = { ETag: object.etag, 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' };
    if (from > 0) headers['Content-Range'] = `bytes ${from}-${size - 1}/${size}`;
    res.writeHead(from > 0 ? 206 : 200, headers);
    const attempt = (this.gets.get(key) ?? 0) + 1;
    this.gets.set(key, attempt);
    const cut = this.options.breakAfter?.(request, attempt);
    if (cut === undefined || cut >= body.length) {
      res.end(body);
      return;
    }
    // Send the first bytes, give the client a moment to read them (a reset discards what it has
    // not read yet), then drop the connection: the client sees a reset mid-body.
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
  }

  private list(url: URL, res: ServerResponse): void {
    const prefix = url.searchParams.get('prefix') ?? '';
    const request: RecordedRequest = { method: 'LIST', prefix };
    this.requests.push(request);
    if (this.options.denied?.(request)) return this.error(res, 403, 'AccessDenied', 'Access Denied');
    const pageSize = Math.min(Number(url.searchParams.get('max-keys') ?? Infinity), this.options.pageSize ?? 1000);
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    const start = Number(url.searchParams.get('continuation-token') ?? 0);
    const page = keys.slice(start, start + pageSize);
    const truncated = start + pageSize < keys.length;
    const contents = page
      .map((key) => {
        const object = this.objects.get(key)!;
        return `<Contents><Key>${escapeXml(key)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>${escapeXml(object.etag)}</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>' +
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${this.bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${start + pageSize}</NextContinuationToken>` : '') +
      `${contents}</ListBucketResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml' });
    res.end(xml);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>test</RequestId></Error>`);
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
