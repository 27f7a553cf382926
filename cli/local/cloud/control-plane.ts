import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessKeyIdOf, type Credentials } from './credentials.ts';
import { AccessDeniedError, type Caller } from './iam.ts';

/**
 * The local endpoint for AWS's JSON-protocol APIs the workflow's code calls (Step Functions'
 * task-token callbacks and execution history, ECS task control): one HTTP server on 127.0.0.1
 * that speaks AWS JSON 1.0/1.1 (POST /, X-Amz-Target: <service>.<Operation>, a JSON body; errors
 * as `{"__type": Name, "message": ...}` with status 400), which the unchanged SDK clients reach
 * through AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_ECS. Callers are told apart by the access key
 * of their signature; every operation authorises its caller (./iam.ts) before doing anything.
 */
export type Operation = (caller: Caller, input: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * What the account owner's key (credentials.ts ADMIN_ACCESS_KEY) may call here: answering a task
 * token, as a person with administrator rights may in AWS (`fmnist models approve`/`reject` of a
 * local run, from another process). Everything else serves the workflow's own roles only.
 */
export const OWNER_TARGETS = ['AWSStepFunctions.SendTaskSuccess', 'AWSStepFunctions.SendTaskFailure'] as const;
export type OwnerTarget = (typeof OWNER_TARGETS)[number];
/** An operation the owner may call too: `caller` is 'admin' then (no role policy applies). */
export type OwnerOperation = (caller: Caller | 'admin', input: Record<string, unknown>) => Promise<Record<string, unknown>>;
export type OwnerOperations = Partial<Record<OwnerTarget, OwnerOperation>>;

/** An error as the JSON protocols return it: the SDK raises it with this name. */
export class ServiceError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = name;
  }
}

export interface ControlPlane {
  readonly endpoint: string;
  /** Every call received, in order: target, caller and outcome (tests count heartbeats with it). */
  readonly calls: { target: string; principal: string; at: number; error?: string }[];
  close(): Promise<void>;
}

/** `operations` and `ownerOperations` are looked up per call: the services and the runner register theirs after the start. */
export async function startControlPlane(credentials: Credentials, operations: Record<string, Operation>, ownerOperations: OwnerOperations = {}): Promise<ControlPlane> {
  const calls: ControlPlane['calls'] = [];
  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const record: ControlPlane['calls'][number] = { target, principal: '', at: Date.now() };
    try {
      const body = await readBody(request);
      const caller = credentials.lookup(accessKeyIdOf(request.headers));
      if (caller === undefined) throw new ServiceError('UnrecognizedClientException', 'The security token included in the request is invalid.');
      record.principal = caller === 'admin' ? 'admin' : `${caller.role.name}/${caller.session}`;
      // The owner's call, bound to its caller: the owner reaches only the owner's operations.
      const operation =
        caller === 'admin' ? bind(ownerOperation(target, ownerOperations), caller) : bind(operations[target], caller);
      if (!operation) throw new ServiceError('UnknownOperationException', `the local control plane does not implement ${target || '(no X-Amz-Target)'}`);
      let input: Record<string, unknown>;
      try {
        input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      } catch {
        throw new ServiceError('SerializationException', 'the request body is not JSON');
      }
      calls.push(record);
      const output = await operation(input);
      reply(response, 200, output);
    } catch (error) {
      const failure =
        error instanceof ServiceError
          ? error
          : error instanceof AccessDeniedError
            ? new ServiceError('AccessDeniedException', error.message)
            : new ServiceError('InternalFailure', (error as Error).message, 500);
      record.error = failure.name;
      if (!calls.includes(record)) calls.push(record);
      reply(response, failure.status, { __type: failure.name, message: failure.message });
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function bind<C>(operation: ((caller: C, input: Record<string, unknown>) => Promise<Record<string, unknown>>) | undefined, caller: C) {
  return operation && ((input: Record<string, unknown>) => operation(caller, input));
}

/** The owner's operation for `target`; refused (AccessDeniedException) for every target but OWNER_TARGETS. */
function ownerOperation(target: string, ownerOperations: OwnerOperations): OwnerOperation | undefined {
  if (!(OWNER_TARGETS as readonly string[]).includes(target)) {
    throw new ServiceError(
      'AccessDeniedException',
      `the local control plane serves the account owner's key only for ${OWNER_TARGETS.join(' and ')}; ${target || '(no X-Amz-Target)'} serves the workflow's own roles`,
    );
  }
  return ownerOperations[target as OwnerTarget];
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
