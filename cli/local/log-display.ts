import { DATASET_SUMMARY_MESSAGE, type DatasetSummary, formatSummary } from '../../lib/data/summary.ts';
import { DATA_CHECKS_MESSAGE, formatDataChecks } from '../../lib/data/data-checks-summary.ts';
import type { ManifestChecks } from '../../lib/data/manifest-checks.ts';

/**
 * The functions' and tasks' log records during a local run, as a person would see them in
 * CloudWatch: each sandbox writes Powertools JSON records to stdout; this reads them back.
 * Records at or above the chosen level are shown; anything that is not a log record (native
 * libraries' notices, an uncaught exception's trace) is shown only at DEBUG (a crashed runtime's
 * last stderr lines go into its Runtime.ExitError).
 *
 * Two records are shown whatever the level, as the walkthrough's table: the ingest step's dataset
 * summary (DATASET_SUMMARY_MESSAGE, the constant the ingest handler logs it under) and its data
 * checks (DATA_CHECKS_MESSAGE). It is a log
 * record written for people; nothing else is learned from log messages (training progress has
 * its own channel: ./training-display.ts).
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
  constructor(
    readonly say: (line: string) => void,
    readonly logLevel = 'WARN',
    /** Lines that are not log records, whatever the level (FMNIST_DEBUG=1). */
    readonly showNotices = false,
  ) {}

  /** A line a sandbox wrote; `source` names it (function or task). */
  line(source: string, line: string): void {
    const record = parseRecord(line);
    if (!record) {
      if (this.showNotices || rank(this.logLevel) === 0) this.say(`           [${source}] ${line}`);
      return;
    }
    if (record.message === DATASET_SUMMARY_MESSAGE) {
      const { split, summary } = record as unknown as { split: string; summary: DatasetSummary };
      this.say(formatSummary(`${split} split`, summary));
    }
    if (record.message === DATA_CHECKS_MESSAGE) {
      // Printed in full here; not again as a raw record.
      this.say(formatDataChecks((record as unknown as { checks: ManifestChecks }).checks));
      return;
    }
    if (rank(record.level) >= rank(this.logLevel)) {
      const { level, message, service, timestamp: _t, sampling_rate: _s, xray_trace_id: _x, ...extra } = record;
      const rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      this.say(`           [${service ?? source}] ${level} ${message}${rest}`);
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
