import { DATASET_SUMMARY_MESSAGE, type DatasetSummary, formatSummary } from '../../lib/data/summary.ts';
import type { TrainHooks } from '../../lib/model/train.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import { formatEpochLine, type ProgressPrinter } from './progress.ts';

/**
 * What a person sees of the functions' and tasks' output during a local run, as they would see
 * it in CloudWatch: each sandbox writes Powertools JSON records to stdout; this reads them back.
 * Records at or above the chosen level are shown; the dataset summary and each finished epoch
 * become readable lines; anything that is not a log record (native libraries' notices, an
 * uncaught exception's trace) is shown only at DEBUG (a crashed runtime's last stderr lines go
 * into its Runtime.ExitError). Training progress within an epoch comes from the train function's progress
 * channel, relayed by the local Lambda runtime, and drives `trainHooks` (the CLI's progress bar).
 */
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
const rank = (level: string) => {
  const index = LEVELS.indexOf(level.toUpperCase());
  return index < 0 ? 1 : index;
};

export interface LogRecord {
  level: string;
  message: string;
  service?: string;
  [key: string]: unknown;
}

export class LogDisplay {
  #epochs: number | undefined;
  /** Sandboxes whose progress messages arrive (their epochs are reported through them, not their log). */
  readonly #progressFrom = new Set<string>();

  constructor(
    readonly printer: ProgressPrinter,
    readonly say: (line: string) => void,
    readonly options: { logLevel?: string; trainHooks?: TrainHooks } = {},
  ) {}

  /** A line a sandbox wrote; `source` names it (function or task), `state` the Task state it serves. */
  line(source: string, state: string | undefined, line: string): void {
    const record = parseRecord(line);
    if (!record) {
      if (rank(this.options.logLevel ?? 'WARN') === 0) this.say(`           [${source}] ${line}`);
      return;
    }
    if (record.message === DATASET_SUMMARY_MESSAGE) {
      const { split, summary } = record as unknown as { split: string; summary: DatasetSummary };
      this.say(formatSummary(`${split} split`, summary));
    } else if (record.message === 'training started') {
      const epochs = (record.config as { epochs?: number } | undefined)?.epochs;
      if (typeof epochs === 'number') this.#epochs = epochs;
    } else if (record.message === 'epoch finished' && !this.#progressFrom.has(source)) {
      const log = record as unknown as EpochLog;
      if (typeof log.epoch === 'number') {
        if (this.options.trainHooks?.onEpochEnd) this.options.trainHooks.onEpochEnd(log);
        else this.printer.note(state ?? source, formatEpochLine(log, this.#epochs));
      }
    }
    if (rank(record.level) >= rank(this.options.logLevel ?? 'WARN')) {
      const { level, message, service, timestamp: _t, sampling_rate: _s, xray_trace_id: _x, ...extra } = record;
      const rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      this.say(`           [${service ?? source}] ${level} ${message}${rest}`);
    }
  }

  /** A message from the training progress channel of `source` (a function), serving `state`. */
  progress(source: string, state: string, message: unknown): void {
    const hooks = this.options.trainHooks;
    const m = message as { kind?: string; epoch?: number; epochs?: number; batches?: number; batch?: number; loss?: number; accuracy?: number; log?: EpochLog };
    this.#progressFrom.add(source);
    if (m.kind === 'epochBegin') {
      this.#epochs = m.epochs;
      hooks?.onEpochBegin?.(m.epoch!, m.epochs!, m.batches!);
    } else if (m.kind === 'batchEnd') {
      hooks?.onBatchEnd?.(m.epoch!, m.batch!, m.batches!, { loss: m.loss!, accuracy: m.accuracy! });
    } else if (m.kind === 'epochEnd' && m.log) {
      if (hooks?.onEpochEnd) hooks.onEpochEnd(m.log);
      else this.printer.note(state, formatEpochLine(m.log, this.#epochs));
    }
  }
}

function parseRecord(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    // Embedded-metric-format lines (Powertools Metrics) are data for CloudWatch, not messages.
    if (typeof value.level !== 'string' || typeof value.message !== 'string' || '_aws' in value) return undefined;
    return value as LogRecord;
  } catch {
    return undefined;
  }
}
