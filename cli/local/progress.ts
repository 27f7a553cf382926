import type { EpochLog } from '../../lib/model/history.ts';
import { STATE_NAMES } from '../../lib/workflow/states.ts';

/**
 * Human-readable progress of a local execution, one line per event, for stderr:
 *
 *   +   0.0 s  ValidateInput          started
 *   +   0.1 s  ValidateInput          finished in 0.05 s
 *   +   3.1 s  TrainOnLambda          epoch 1/2 - loss 1.2345 - accuracy 0.6100 - 1.0 s
 *   +   3.5 s  Evaluate               failed: Lambda.ServiceException: Rate exceeded
 *   +   5.5 s  Evaluate               retry 1 of 3 (Lambda.ServiceException)
 *   +   0.4 s  Ingest                 caught DataValidationError -> Failed
 *   +   9.9 s  execution SUCCEEDED in 9.9 s
 *
 * The events are aws-local-stepfunctions' execution event log (kept whole in
 * execution-events.json); this module only formats them.
 */
export interface ExecutionEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
  retry?: { retrier: { ErrorEquals: string[]; MaxAttempts?: number }; attempt: number };
  catch?: { catcher: { ErrorEquals: string[]; Next: string } };
  input?: unknown;
  output?: unknown;
  [key: string]: unknown;
}

const NAME_WIDTH = 22;

/** The message inside a Lambda error document ({"errorType","errorMessage","trace"}), else the cause itself. */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  if (cause.startsWith('{')) {
    try {
      const parsed = JSON.parse(cause) as { errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
    } catch {
      // not JSON after all
    }
  }
  return cause;
}

function firstLine(text: string, max = 300): string {
  const line = text.split('\n', 1)[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function formatEpochLine(log: EpochLog, epochs: number | undefined): string {
  const parts = [`epoch ${log.epoch}/${epochs ?? '?'}`, `loss ${log.loss.toFixed(4)}`, `accuracy ${log.accuracy.toFixed(4)}`];
  if (log.val_loss !== undefined) parts.push(`val_loss ${log.val_loss.toFixed(4)}`);
  if (log.val_accuracy !== undefined) parts.push(`val_accuracy ${log.val_accuracy.toFixed(4)}`);
  parts.push(`${log.seconds.toFixed(1)} s`);
  if (log.stopped !== undefined) parts.push(`early stopping: ${log.stopped}`);
  return parts.join(' - ');
}

/** Data that grows (Ingest's output): the dataset it grew from, the sources not parsed again, the run reused. */
export function lineageNote(output: unknown): string | undefined {
  const dataset = (output as { dataset?: { datasetId?: unknown; parent?: unknown; sourcesFromCache?: unknown; reusedRun?: unknown } } | undefined)?.dataset;
  if (!dataset) return undefined;
  const parts: string[] = [];
  if (typeof dataset.parent === 'string') parts.push(`dataset ${String(dataset.datasetId)} grew from ${dataset.parent}`);
  if (typeof dataset.sourcesFromCache === 'number' && dataset.sourcesFromCache > 0) {
    parts.push(`${dataset.sourcesFromCache} source file(s) read from the ingest's cache, not parsed again`);
  }
  if (typeof dataset.reusedRun === 'string') parts.push(`same dataset, config and code version as run ${dataset.reusedRun}: reusing it`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export class ProgressPrinter {
  readonly #entered = new Map<string, number>();
  #started: number | undefined;

  constructor(readonly write: (line: string) => void) {}

  #prefix(timestamp: number): string {
    this.#started ??= timestamp;
    return `+ ${((timestamp - this.#started) / 1000).toFixed(1).padStart(6)} s  `;
  }

  #stateLine(timestamp: number, name: string, text: string): void {
    this.write(`${this.#prefix(timestamp)}${name.padEnd(NAME_WIDTH)} ${text}`);
  }

  /** Free text in the timeline, e.g. an epoch of training, under the state it belongs to. */
  note(stateName: string, text: string, timestamp = Date.now()): void {
    this.#stateLine(timestamp, stateName, text);
  }

  event(event: ExecutionEvent): void {
    // A state of a Map iteration (or Parallel branch) is shown with its index: iterations run concurrently.
    const name = typeof event.index === 'number' ? `${event.state?.name ?? ''}[${event.index}]` : (event.state?.name ?? '');
    const kind = event.state?.type && event.state.type !== 'Task' ? ` (${event.state.type})` : '';
    switch (event.type) {
      case 'ExecutionStarted':
        this.#started = event.timestamp;
        break;
      case 'StateEntered':
        this.#entered.set(name, event.timestamp);
        if (event.state?.type === 'Task') this.#stateLine(event.timestamp, name, 'started');
        break;
      case 'StateExited': {
        const since = this.#entered.get(name) ?? event.timestamp;
        this.#stateLine(event.timestamp, name, `finished${kind} in ${((event.timestamp - since) / 1000).toFixed(2)} s`);
        if (name === STATE_NAMES.ingest) {
          const note = lineageNote(event.state?.output);
          if (note) this.#stateLine(event.timestamp, name, note);
        }
        break;
      }
      case 'StateFailed':
        if (event.state?.type === 'Fail') break;
        this.#stateLine(event.timestamp, name, `failed: ${event.Error}: ${firstLine(causeMessage(event.Cause))}`);
        break;
      case 'StateRetried': {
        const retrier = event.retry?.retrier;
        const max = retrier?.MaxAttempts ?? 3;
        this.#stateLine(event.timestamp, name, `retry ${event.retry?.attempt ?? '?'} of ${max} (${retrier?.ErrorEquals.join(', ')})`);
        break;
      }
      case 'StateCaught': {
        const catcher = event.catch?.catcher;
        this.#stateLine(event.timestamp, name, `caught (${catcher?.ErrorEquals.join(', ')}) -> ${catcher?.Next}`);
        break;
      }
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionAborted':
      case 'ExecutionTimeout': {
        const status = { ExecutionSucceeded: 'SUCCEEDED', ExecutionFailed: 'FAILED', ExecutionAborted: 'ABORTED', ExecutionTimeout: 'TIMED_OUT' }[
          event.type
        ];
        const seconds = this.#started === undefined ? 0 : (event.timestamp - this.#started) / 1000;
        let line = `${this.#prefix(event.timestamp)}execution ${status} in ${seconds.toFixed(1)} s`;
        if (event.type === 'ExecutionFailed') line += `: ${event.Error}: ${firstLine(causeMessage(event.Cause), 2000)}`;
        this.write(line);
        break;
      }
      default:
        break;
    }
  }
}
