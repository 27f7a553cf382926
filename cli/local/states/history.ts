import { ServiceError, type Operation } from '../cloud/control-plane.ts';
import type { IamAuthorizer } from '../cloud/iam.ts';

/**
 * An execution's history as GetExecutionHistory returns it, for code that reads it (the
 * stop-training function finds the Fargate tasks an execution started there). Built from
 * aws-local-stepfunctions' event log plus what the local integrations record themselves
 * (TaskSubmitted: the RunTask response of an ECS state), in AWS's event shapes: ids from 1,
 * previousEventId, `<Type>StateEntered` / `<Type>StateExited`, TaskSubmitted, TaskFailed and the
 * Execution* events. Other AWS event types (TaskScheduled, LambdaFunction*, ...) are not produced.
 */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface LibraryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
  input?: unknown;
  output?: unknown;
}

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];

  constructor(
    readonly executionArn: string,
    readonly roleArn: string,
  ) {}

  #add(type: string, timestamp: number, details: Record<string, unknown> = {}): void {
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: id - 1, timestamp, type, ...details });
  }

  /** Records an event of aws-local-stepfunctions' log in AWS's shape. */
  record(event: LibraryEvent): void {
    const json = (value: unknown) => JSON.stringify(value ?? null);
    const state = event.state;
    switch (event.type) {
      case 'ExecutionStarted':
        return this.#add('ExecutionStarted', event.timestamp, { executionStartedEventDetails: { input: json(event.input), roleArn: this.roleArn } });
      case 'ExecutionSucceeded':
        return this.#add('ExecutionSucceeded', event.timestamp, { executionSucceededEventDetails: { output: json(event.output) } });
      case 'ExecutionFailed':
        return this.#add('ExecutionFailed', event.timestamp, { executionFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') } });
      case 'ExecutionAborted':
        return this.#add('ExecutionAborted', event.timestamp, { executionAbortedEventDetails: {} });
      case 'ExecutionTimeout':
        return this.#add('ExecutionTimedOut', event.timestamp, { executionTimedOutEventDetails: {} });
      case 'StateEntered':
        return this.#add(`${state!.type}StateEntered`, event.timestamp, { stateEnteredEventDetails: { name: state!.name, input: json(state!.input) } });
      case 'StateExited':
        return this.#add(`${state!.type}StateExited`, event.timestamp, { stateExitedEventDetails: { name: state!.name, output: json(state!.output) } });
      case 'StateFailed':
        if (state?.type !== 'Task') return;
        return this.#add('TaskFailed', event.timestamp, { taskFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') } });
      default:
        return;
    }
  }

  /** What Step Functions records when a service integration's request was accepted. */
  taskSubmitted(resourceType: string, resource: string, output: unknown): void {
    this.#add('TaskSubmitted', Date.now(), { taskSubmittedEventDetails: { resourceType, resource, output: JSON.stringify(output) } });
  }
}

/** GetExecutionHistory over the executions of this local cloud. */
export function historyOperations(authorizer: IamAuthorizer, executions: () => ExecutionHistory[]): Record<string, Operation> {
  return {
    'AWSStepFunctions.GetExecutionHistory': async (caller, input) => {
      const executionArn = String(input.executionArn ?? '');
      await authorizer.authorize(caller, { action: 'states:GetExecutionHistory', resource: executionArn });
      const history = executions().find((candidate) => candidate.executionArn === executionArn);
      if (!history) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
      const maxResults = Math.min(Math.max(Number(input.maxResults ?? 100) || 100, 1), 1000);
      const events = input.reverseOrder === true ? [...history.events].reverse() : history.events;
      const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
      if (!Number.isInteger(start) || start < 0 || start > events.length) throw new ServiceError('InvalidToken', 'Invalid Token');
      const page = events.slice(start, start + maxResults).map((event) => ({ ...event, timestamp: event.timestamp / 1000 }));
      const next = start + maxResults < events.length ? String(start + maxResults) : undefined;
      return { events: page, ...(next ? { nextToken: next } : {}) };
    },
  };
}
