import { z } from 'zod';
import { TEST_SET_ID_PATTERN } from '../data/test-set-id.ts';
import { MAX_KEY_BYTES } from './keys.ts';

/**
 * The id and key atoms the workflow's events and records share, each defined once (run ids live
 * in run-id.ts, data set prefixes in keys.ts: both carry rules of their own).
 */

/** 64 lowercase hex digits, as sha256Hex writes them. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** A sha256 field (a model file's, a source file's). */
export const Sha256 = z.string().regex(SHA256_PATTERN, 'must be a sha256 (64 lowercase hex digits)');

/** A test split's identity (lib/data/test-set-id.ts): champions are kept per test split. */
export const TestSetId = z.string().regex(TEST_SET_ID_PATTERN, 'must be a test set id (64 lowercase hex digits)');

/** A key prefix the workflow wrote: relative (no leading "/"), ending in "/", within S3's key length. */
export const S3Prefix = z
  .string()
  .max(MAX_KEY_BYTES)
  .regex(/^[^/].*\/$/, 'must be an S3 key prefix ending in "/"');
