import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * The workflow's ids and their rules, in one place: run ids (S3 key segments, directory names,
 * execution names by default) and Step Functions execution names. Everything that checks, makes
 * or recognises one imports it from here.
 */

/** Run ids become S3 key segments and directory names: a safe alphabet, never "." or "..". */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** A run id field of an event, a record or a note (zod). */
export const RunId = z.string().regex(RUN_ID_PATTERN, "1-80 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** What `newRunId` makes, unanchored (regex source), for names that end in a generated id. */
export const GENERATED_RUN_ID_SOURCE = String.raw`\d{8}T\d{6}Z-[0-9a-f]{6}`;

/** Step Functions' limit on an execution name's length (characters). */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/** Sortable and unique: `20261129T140512Z-3f9a1c` (GENERATED_RUN_ID_SOURCE). */
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
