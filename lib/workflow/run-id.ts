import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { PREFIXES } from './layout.ts';

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

/** The length of what `newRunId` makes (`20261129T140512Z-3f9a1c`). */
export const GENERATED_RUN_ID_LENGTH = 23;

/** The longest slug before `-<generated run id>` in an execution name (executionNameFor): 56. */
export const MAX_NAME_SLUG_LENGTH = MAX_EXECUTION_NAME_LENGTH - GENERATED_RUN_ID_LENGTH - 1;

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

const DATA_SUFFIX = /(\.csv)?(\.gz)?$/i;
const SPLIT_WORD = /(?<![A-Za-z])(train|test)(?![A-Za-z])/gi;

/**
 * A readable slug for an execution name, from a data source (a raw/ key, an s3:// URL, a local
 * path) or a run id: the file's path under raw/ (or its base name) without extension and split
 * word, in the allowed characters [A-Za-z0-9_-], at most `maxLength`; `fallback` when nothing is left.
 */
export function slugOf(text: string, maxLength = 40, fallback = 'fmnist'): string {
  const path = text.replace(/^s3:\/\/[^/]+\//, '');
  const stem = (path.startsWith(PREFIXES.raw) ? path.slice(PREFIXES.raw.length) : path.slice(path.lastIndexOf('/') + 1))
    .replace(DATA_SUFFIX, '')
    .replace(SPLIT_WORD, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/[-_]{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return (stem || fallback).slice(0, maxLength).replace(/[-_]+$/, '') || fallback;
}

/** `<slug>-<yyyymmddThhmmssZ>-<6 hex>`: readable, sortable, unique, at most 80 characters. */
export function executionNameFor(slugSource: string, now: Date): string {
  return `${slugOf(slugSource, MAX_NAME_SLUG_LENGTH)}-${newRunId(now)}`;
}
