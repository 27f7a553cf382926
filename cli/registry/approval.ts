import { hostname } from 'node:os';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { parseWith } from '../../lib/validation.ts';
import { approvalKey } from '../../lib/workflow/layout.ts';
import { readApprovalRequest, type ApprovalRequest } from '../../lib/workflow/registry/approval-request.ts';
import { Approval } from '../../lib/workflow/registry/model-version.ts';
import { RunId } from '../../lib/workflow/run-id.ts';
import { readRunRecord } from '../../lib/workflow/run-record.ts';
import { explainAwsError } from '../deployed/clients.ts';
import { ADMIN_ACCESS_KEY } from '../local/cloud/credentials.ts';
import { LOCAL_REGION } from '../local/local-s3.ts';
import { isAlive, readLocalRunNote } from '../local-run-note.ts';
import type { RegistryTarget } from './target.ts';
import { whoAmI } from './who.ts';

/**
 * `fmnist models approve`/`reject`: answers a run waiting in its AwaitApproval state. The run's
 * request (models/approvals/<runId>.json, filed by the request-approval function) holds the
 * state's task token; the answer is SendTaskSuccess with an Approval as the state's output, which
 * the Promote step acts on: approved promotes, rejected registers without promoting (the
 * execution succeeds either way). Deployed: the stack's Step Functions. Local: the control plane
 * of the process running the run, found through the run's note in the state directory; it
 * accepts the owner's key for this call as AWS accepts an administrator's.
 */
export type Decision = Extract<Approval['decision'], 'approved' | 'rejected'>;

/** Long enough for a sentence or two; far below the 256 KiB a task's output may have. */
export const MAX_REASON_LENGTH = 4096;
const AnswerInput = z.strictObject({
  runId: RunId,
  reason: z.string().max(MAX_REASON_LENGTH, `at most ${MAX_REASON_LENGTH} characters`),
});

export interface AnswerOptions {
  reason?: string;
  now?: Date;
  /** Who answers; default `<os user>@<host>`. */
  by?: string;
}

export interface AnsweredApproval {
  request: ApprovalRequest;
  approval: Approval;
}

/** What Step Functions answers for a token whose state no longer waits (or never waited on it). */
const NO_LONGER_WAITING = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export async function answerApproval(target: RegistryTarget, runId: string, decision: Decision, options: AnswerOptions = {}): Promise<AnsweredApproval> {
  const input = parseWith(AnswerInput, { runId, reason: options.reason ?? '' }, 'fmnist models approve/reject (runId, --reason)');
  const now = options.now ?? new Date();
  const request = await readApprovalRequest(target.s3, target.bucket, input.runId);
  if (!request) {
    throw new ConfigError(`run ${runId} is not waiting for approval (no request at ${target.where}/${approvalKey(runId)})`);
  }
  if (Date.parse(request.expiresAt) <= now.getTime()) {
    throw new ConfigError(
      `run ${runId}'s approval request expired at ${request.expiresAt} (requested ${request.requestedAt}): the run went on without promotion (ApprovalExpired)`,
    );
  }
  const approval = parseWith(Approval, { decision, by: options.by ?? whoAmI(), at: now.toISOString(), reason: input.reason }, 'the approval');
  const sfn = target.kind === 'aws' ? target.sfn!() : await localStepFunctions(target, runId);
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken: request.taskToken, output: JSON.stringify(approval) }));
  } catch (error) {
    throw answerError(error, runId, target);
  } finally {
    if (target.kind === 'local') sfn.destroy();
  }
  return { request, approval };
}


/**
 * A Step Functions client for the local run's control plane: only a process running the run now
 * can answer, and it wrote its endpoint into the run's note when its cloud started.
 */
async function localStepFunctions(target: RegistryTarget, runId: string): Promise<SFNClient> {
  const stateDir = target.stateDir!;
  // A sweep's trial waits inside its sweep's execution: the sweep's process wrote the note.
  const record = await readRunRecord(target.s3, target.bucket, runId);
  const note = await readLocalRunNote(stateDir, record?.input.trialOf?.sweepId ?? runId);
  if (!note) throw new ConfigError(`run ${runId} is not running: no note of it in ${stateDir} (was it started with another --state-dir?)`);
  if (note.host !== hostname()) {
    throw new ConfigError(`run ${runId} is not running here: its note says host ${note.host} (pid ${note.pid}); answer it on that machine`);
  }
  if (!isAlive(note)) {
    throw new ConfigError(`run ${runId} is not running: its process (pid ${note.pid} on ${note.host}) has ended; \`fmnist resume ${runId}\` runs it again`);
  }
  if (!note.controlPlane) throw new ConfigError(`run ${runId} is not running: its local cloud has not started yet (its note has no control-plane endpoint); try again in a moment`);
  return new SFNClient({
    endpoint: note.controlPlane,
    region: LOCAL_REGION,
    credentials: { accessKeyId: ADMIN_ACCESS_KEY.accessKeyId, secretAccessKey: ADMIN_ACCESS_KEY.secretAccessKey },
    // Loopback: nothing to retry; a refused connection means the run's cloud has stopped.
    maxAttempts: 1,
  });
}

function answerError(error: unknown, runId: string, target: RegistryTarget): Error {
  const name = (error as Error).name;
  const code = (error as NodeJS.ErrnoException).code;
  if (NO_LONGER_WAITING.has(name) || (target.kind === 'local' && code === 'ECONNREFUSED')) {
    return new ConfigError(`run ${runId} is no longer waiting (answered already, timed out or stopped): ${name}: ${(error as Error).message}`);
  }
  return explainAwsError(error, `answering run ${runId}'s approval (SendTaskSuccess)`);
}
