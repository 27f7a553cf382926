import { handlerDeps, type HandlerDeps } from '../../lib/aws/handler-deps.ts';
import { parseEvent } from '../../lib/workflow/events.ts';
import { ApprovalRequestEvent, writeApprovalRequest } from '../../lib/workflow/registry/approval-request.ts';

/**
 * The AwaitApproval state's function (lambda:invoke.waitForTaskToken): files the run's approval
 * request, with the state's task token, at models/approvals/<runId>.json, where `fmnist models
 * approve`/`reject` find it. Its result is dropped; the state waits for their answer.
 */
export function createRequestApprovalHandler(deps: HandlerDeps & { now?: () => Date } = {}) {
  const resolve = handlerDeps(deps, 'fmnist-request-approval', process.env);
  const now = deps.now ?? (() => new Date());
  return async (event: unknown): Promise<{ approvalRequest: string }> => {
    const { s3, bucket, logger } = resolve();
    const { timeoutSeconds, ...request } = parseEvent(ApprovalRequestEvent, event, 'request-approval');
    const at = now();
    const key = await writeApprovalRequest(s3, bucket, {
      ...request,
      requestedAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + timeoutSeconds * 1000).toISOString(),
    });
    logger.info('waiting for approval', { runId: request.runId, approvalRequest: key, accuracy: request.accuracy, macroF1: request.macroF1 });
    return { approvalRequest: key };
  };
}

export const handler = createRequestApprovalHandler();
