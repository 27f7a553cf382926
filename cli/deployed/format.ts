import { z } from 'zod';

/** Small text helpers for the AWS commands' terminal output. */

/** 0.4 s, 12.3 s, 4m 05s, 1h 02m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(s).padStart(2, '0')}s`;
}

/** Elapsed clock for followed executions: 0:07, 12:40, 1:02:03. */
export function formatClock(ms: number): string {
  const whole = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export const formatPercent = (value: number | undefined) => (value === undefined ? '-' : `${(value * 100).toFixed(2)}%`);

/** 2026-11-29 14:05:12 (UTC). */
export function formatTime(date: Date | undefined): string {
  if (!date) return '-';
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** Wraps the padded cell (colour codes must not count towards the width). */
  style?: (row: Row, cell: string) => string;
}

/** A plain aligned table, two spaces between columns, no trailing blanks. */
export function formatTable<Row>(rows: Row[], columns: Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i].length)));
  const pad = (text: string, i: number) =>
    columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]);
  const lines = [columns.map((column, i) => pad(column.header, i)).join('  ').trimEnd()];
  rows.forEach((row, r) => {
    const line = columns.map((column, i) => {
      const padded = i === columns.length - 1 && column.align !== 'right' ? cells[r][i] : pad(cells[r][i], i);
      return column.style ? column.style(row, padded) : padded;
    });
    lines.push(line.join('  ').trimEnd());
  });
  return lines.join('\n');
}

const COLOURS = { red: 31, green: 32, yellow: 33, dim: 2 } as const;
export type Colour = keyof typeof COLOURS;

/** ANSI colour when `enabled` (a TTY without NO_COLOR), the plain text otherwise. */
export function colour(enabled: boolean, name: Colour, text: string): string {
  return enabled ? `\u001b[${COLOURS[name]}m${text}\u001b[0m` : text;
}

export function isColourTerminal(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean((stream as { isTTY?: boolean }).isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** A Lambda error's JSON error object (as a state's cause holds it). */
const LambdaError = z.object({ errorType: z.string().optional().catch(undefined), errorMessage: z.string() });

/** A Lambda error's cause is often its JSON error object: show type and message, not the trace. */
export function readableCause(cause: string | undefined): string | undefined {
  if (cause === undefined || cause === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(cause);
  } catch {
    return cause; // not JSON: the cause as written
  }
  const parsed = LambdaError.safeParse(json);
  if (!parsed.success) return cause;
  const { errorType, errorMessage } = parsed.data;
  return errorType !== undefined ? `${errorType}: ${errorMessage}` : errorMessage;
}

/** "Error: cause", without repeating the error when the cause already starts with it. */
export function errorWithCause(error: string, cause: string | undefined): string {
  if (!cause) return error;
  return cause.startsWith(`${error}: `) ? cause : `${error}: ${cause}`;
}

/** At most `max` characters, an ellipsis marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
