import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

/**
 * The handlers' Powertools logger, for in-process runs: the same Logger class (levels, keys,
 * child loggers behave as in Lambda), but each record goes to a callback instead of being printed
 * as JSON on stdout, which belongs to the CLI's `--json` output. The runner shows the records on
 * stderr and reads the train handler's "epoch finished" records for progress.
 */
export interface LocalLogRecord {
  level: string;
  message: string;
  service: string;
  /** Everything else the handler attached (runId, metrics, ...), without Powertools' own keys. */
  extra: Record<string, unknown>;
}

export type LocalLogSink = (record: LocalLogRecord) => void;

const OWN_KEYS = new Set(['level', 'message', 'service', 'timestamp', 'sampling_rate', 'xray_trace_id']);

export class LocalLogger extends Logger {
  #sink: LocalLogSink | undefined;

  constructor(options: { serviceName: string; logLevel?: LogLevel; sink: LocalLogSink }) {
    super({ serviceName: options.serviceName, logLevel: options.logLevel ?? 'DEBUG' });
    this.#sink = options.sink;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes() as Record<string, unknown>;
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(attributes)) if (!OWN_KEYS.has(key)) extra[key] = value;
    this.#sink?.({
      level: String(attributes.level ?? ''),
      message: String(attributes.message ?? ''),
      service: String(attributes.service ?? ''),
      extra,
    });
  }
}
