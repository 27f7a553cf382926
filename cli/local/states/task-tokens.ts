import { randomBytes } from 'node:crypto';
import { ServiceError, type OwnerOperation } from '../cloud/control-plane.ts';
import type { IamAuthorizer } from '../cloud/iam.ts';
import { StatesError } from './errors.ts';

/**
 * Task tokens of `.waitForTaskToken` states, as Step Functions keeps them: each read of
 * `$$.Task.Token` while a state starts gets a new token; the state waits until SendTaskSuccess
 * or SendTaskFailure names it, fails with States.HeartbeatTimeout when HeartbeatSeconds pass
 * without a SendTaskHeartbeat, and once the state is over (success, failure, timeout, the
 * execution ended) every call with its token is answered TaskTimedOut. The three callbacks are
 * control-plane operations, authorised against the caller's role (resource: the state machine
 * that issued the token, see ../cloud/iam.ts); the account owner's key (an administrator, e.g.
 * `fmnist models approve`) is allowed SendTaskSuccess and SendTaskFailure without a policy check.
 *
 * Errors as Step Functions answers them: a token it never issued (or a garbled one) is
 * InvalidToken; a token whose state is over (answered, failed, timed out, the execution ended) is
 * TaskTimedOut; an output over 256 KiB (UTF-8) or a missing one is a ValidationException, and an
 * output that is not JSON is InvalidOutput.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** SendTaskSuccess's `output` and SendTaskFailure's fields, as the API limits them. */
export const TASK_OUTPUT_LIMIT = 262_144;
const ERROR_LIMIT = 256;
const CAUSE_LIMIT = 32_768;

interface TokenRecord {
  token: string;
  stateMachineArn: string;
  stateName: string;
  open: boolean;
  waiter?: { resolve: (output: JsonValue) => void; reject: (error: Error) => void };
  heartbeatTimer?: NodeJS.Timeout;
  heartbeatMs?: number;
  heartbeats: number[];
}

export class TaskTokens {
  readonly #records = new Map<string, TokenRecord>();
  #current: string | undefined;

  constructor(readonly stateMachineArn: string) {}

  /** What `$$.Task.Token` reads as: the token of the state being started, or a new one. */
  get current(): string {
    if (this.#current === undefined) {
      // Real tokens are long opaque strings; so are these (and they fit SendTask*'s 2,048 limit).
      this.#current = `AQ${randomBytes(96).toString('base64url')}`;
    }
    return this.#current;
  }

  /** The token the state being started read, taken: the next read of `$$.Task.Token` gets a new one. */
  take(): string {
    const token = this.current;
    this.#current = undefined;
    return token;
  }

  /** A Context Object `Task` member whose Token is read at each evaluation. */
  contextTask(): { readonly Token: string } {
    const tokens = this;
    return {
      get Token() {
        return tokens.current;
      },
    };
  }

  /**
   * Starts waiting on `token` for `stateName`; the next `$$.Task.Token` read gets a new token.
   * `heartbeatMs`: fail with States.HeartbeatTimeout after this long without a heartbeat.
   */
  wait(token: string, stateName: string, heartbeatMs?: number): Promise<JsonValue> {
    if (this.#records.has(token)) {
      throw new StatesError('States.Runtime', `task token of ${stateName} was already used`, { retryable: false, catchable: false });
    }
    if (token === this.#current) this.#current = undefined;
    const record: TokenRecord = { token, stateMachineArn: this.stateMachineArn, stateName, open: true, heartbeats: [] };
    this.#records.set(token, record);
    return new Promise<JsonValue>((resolve, reject) => {
      record.waiter = { resolve, reject };
      if (heartbeatMs !== undefined) this.#armHeartbeat(record, heartbeatMs);
    });
  }

  #armHeartbeat(record: TokenRecord, heartbeatMs: number): void {
    clearTimeout(record.heartbeatTimer);
    record.heartbeatTimer = setTimeout(() => {
      this.close(
        record.token,
        new StatesError(
          'States.HeartbeatTimeout',
          `${record.stateName}: no SendTaskHeartbeat, SendTaskSuccess or SendTaskFailure for ${(heartbeatMs / 1000).toFixed(3)} s (its HeartbeatSeconds)`,
        ),
      );
    }, heartbeatMs);
    record.heartbeatMs = heartbeatMs;
  }

  /** Ends the wait (the state timed out, the execution ended): later callbacks get TaskTimedOut. */
  close(token: string, error?: Error): void {
    const record = this.#records.get(token);
    if (!record || !record.open) return;
    record.open = false;
    clearTimeout(record.heartbeatTimer);
    if (error) record.waiter?.reject(error);
  }

  /** Closes the open tokens of one state (its TimeoutSeconds passed). */
  closeState(stateName: string, error: Error): void {
    for (const record of this.#records.values()) if (record.stateName === stateName) this.close(record.token, error);
  }

  closeAll(): void {
    for (const token of this.#records.keys()) this.close(token, new StatesError('States.Runtime', 'the execution ended'));
  }

  /** Timestamps (ms) of the heartbeats received for `token`. */
  heartbeats(token: string): number[] {
    return this.#records.get(token)?.heartbeats ?? [];
  }

  /** Every token issued so far, oldest first. */
  tokens(): string[] {
    return [...this.#records.keys()];
  }

  #open(token: unknown): TokenRecord {
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048) {
      throw new ServiceError('InvalidToken', 'Invalid Token: the task token must be 1 to 2,048 characters');
    }
    const record = this.#records.get(token);
    if (!record) throw new ServiceError('InvalidToken', 'Invalid Token');
    if (!record.open) throw new ServiceError('TaskTimedOut', 'Task Timed Out');
    return record;
  }

  /**
   * SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat for the control plane (which lets the
   * owner's key reach only the first two: control-plane.ts OWNER_TARGETS).
   */
  operations(authorizer: IamAuthorizer): Record<string, OwnerOperation> {
    const authorize = async (caller: Parameters<OwnerOperation>[0], action: string, token: unknown) => {
      const record = this.#records.get(String(token));
      // The account owner: an administrator, whom no role policy limits.
      if (caller !== 'admin') await authorizer.authorize(caller, { action, resource: record?.stateMachineArn ?? this.stateMachineArn });
      return this.#open(token);
    };
    return {
      'AWSStepFunctions.SendTaskSuccess': async (caller, input) => {
        const record = await authorize(caller, 'states:SendTaskSuccess', input.taskToken);
        const output = input.output;
        if (typeof output !== 'string') {
          throw new ServiceError('ValidationException', "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null");
        }
        if (Buffer.byteLength(output, 'utf8') > TASK_OUTPUT_LIMIT) {
          throw new ServiceError('ValidationException', `1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to ${TASK_OUTPUT_LIMIT}`);
        }
        let parsed: JsonValue;
        try {
          parsed = JSON.parse(output) as JsonValue;
        } catch {
          throw new ServiceError('InvalidOutput', 'Invalid Output: the output is not valid JSON');
        }
        this.close(record.token);
        record.waiter?.resolve(parsed);
        return {};
      },
      'AWSStepFunctions.SendTaskFailure': async (caller, input) => {
        const record = await authorize(caller, 'states:SendTaskFailure', input.taskToken);
        const error = input.error === undefined ? '' : String(input.error);
        const cause = input.cause === undefined ? '' : String(input.cause);
        if (error.length > ERROR_LIMIT || cause.length > CAUSE_LIMIT) {
          throw new ServiceError('ValidationException', `error must be at most ${ERROR_LIMIT} and cause at most ${CAUSE_LIMIT} characters`);
        }
        this.close(record.token, new StatesError(error, cause));
        return {};
      },
      'AWSStepFunctions.SendTaskHeartbeat': async (caller, input) => {
        const record = await authorize(caller, 'states:SendTaskHeartbeat', input.taskToken);
        record.heartbeats.push(Date.now());
        if (record.heartbeatMs !== undefined) this.#armHeartbeat(record, record.heartbeatMs);
        return {};
      },
    };
  }
}
