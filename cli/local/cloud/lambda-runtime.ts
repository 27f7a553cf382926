/**
 * Runs inside a local Lambda execution environment (a child process started by
 * ./lambda-service.ts): what the Lambda runtime does for a Node.js function. It imports the
 * function's module once (the init phase), then serves invocations one at a time: calls the
 * exported handler with the event and a context object, and answers with the JSON result or
 * the error document {errorType, errorMessage, trace}, as Lambda's runtime API does.
 *
 *   node --import tsx cli/local/cloud/lambda-runtime.ts <module> <export>
 *
 * Training progress goes to the parent too (./progress-relay.ts); nothing else crosses the boundary.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProgressReply } from './progress-relay.ts';
import './progress-relay.ts';
import { errorDocument } from './error-document.ts';

export type RuntimeRequest = { type: 'invoke'; id: number; event: unknown; deadline: number; requestId: string; functionArn: string };
export type RuntimeReply =
  | { type: 'ready' }
  | { type: 'init-error'; errorType: string; errorMessage: string; trace: string[] }
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; errorType: string; errorMessage: string; trace: string[] }
  | ProgressReply;

type Handler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

const send = (reply: RuntimeReply) => process.send!(reply);

async function main(): Promise<void> {
  const [module, exportName] = process.argv.slice(2);
  let handler: Handler;
  try {
    const loaded = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
    if (typeof loaded[exportName] !== 'function') {
      throw Object.assign(new Error(`${module} does not export a function named ${exportName}`), { name: 'Runtime.HandlerNotFound' });
    }
    handler = loaded[exportName] as Handler;
  } catch (error) {
    const document = errorDocument(error);
    send({ type: 'init-error', ...document, errorType: document.errorType === 'Error' ? 'Runtime.ImportModuleError' : document.errorType });
    return;
  }

  process.on('message', (request: RuntimeRequest) => {
    if (request.type !== 'invoke') return;
    const context = {
      awsRequestId: request.requestId,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: request.functionArn,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, request.deadline - Date.now()),
    };
    Promise.resolve()
      .then(() => handler(request.event, context))
      .then(
        (result) => send({ type: 'result', id: request.id, payload: JSON.stringify(result === undefined ? null : result) }),
        (error: unknown) => send({ type: 'error', id: request.id, ...errorDocument(error) }),
      );
  });
  send({ type: 'ready' });
}

void main();
