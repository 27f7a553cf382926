import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.ts';

/** Run ids become S3 key segments and directory names: a safe alphabet, never "." or "..". */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** Sortable and unique: `20261129T140512Z-3f9a1c`. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function validateRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new ConfigError(`runId "${runId}" must be 1-80 characters of letters, digits, '.', '_' or '-'`);
  }
  return runId;
}
