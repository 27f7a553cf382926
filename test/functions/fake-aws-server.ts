import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Just enough of S3 (path-style GetObject and ListObjectsV2) and of Step Functions' JSON protocol
 * (POST / with X-Amz-Target: AWSStepFunctions.<Action>) for a child process running an unchanged
 * AWS SDK client against it (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SFN). Records the SFN calls.
 */
export interface SfnCall {
  action: string;
  input: Record<string, unknown>;
  /** performance.now() of this process when the call arrived. */
  at: number;
}

export class FakeAwsServer {
  readonly sfnCalls: SfnCall[] = [];
  private server: Server | undefined;
  /** Answers for an SFN action, by default `{}`; return an error object to fail the call. */
  sfnAnswer: (call: SfnCall) => { status: number; body: unknown } = () => ({ status: 200, body: {} });

  constructor(
    readonly bucket: string,
    readonly objects: Map<string, Buffer>,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  calls(action: string): SfnCall[] {
    return this.sfnCalls.filter((call) => call.action === action);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = request.headers['x-amz-target'];
    if (request.method === 'POST' && typeof target === 'string' && target.startsWith('AWSStepFunctions.')) {
      const call = { action: target.slice('AWSStepFunctions.'.length), input: JSON.parse(body.toString('utf8') || '{}'), at: performance.now() };
      this.sfnCalls.push(call);
      const answer = this.sfnAnswer(call);
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(answer.body));
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const [, bucket, ...keyParts] = url.pathname.split('/');
    if (request.method !== 'GET' || bucket !== this.bucket) {
      response.writeHead(400).end(`unexpected ${request.method} ${request.url}`);
      return;
    }
    if (keyParts.length === 0 || keyParts.join('/') === '') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
      const contents = keys.map((key) => `<Contents><Key>${key}</Key><Size>${this.objects.get(key)!.length}</Size></Contents>`).join('');
      response
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
            `<Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
            `<IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
        );
      return;
    }
    const key = decodeURIComponent(keyParts.join('/'));
    const object = this.objects.get(key);
    if (!object) {
      response
        .writeHead(404, { 'content-type': 'application/xml' })
        .end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>${key}</Key></Error>`);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': object.length }).end(object);
  }
}
