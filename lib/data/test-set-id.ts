import { createHash } from 'node:crypto';
import type { Manifest } from './manifest.ts';

/** 64 lowercase hex digits: a whole sha256. */
export const TEST_SET_ID_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The identity of the test split a model is judged on: a sha256 over the test split's shards as
 * the manifest lists them (in order: each shard's example count and sha256). A shard holds the
 * split's pixels and labels verbatim, so two manifests with the same test shards describe the same
 * test examples in the same order, whatever the training data was; the sources, their names, the
 * training split and dates play no part. Derived from the manifest alone, so nobody re-reads the
 * shards to know it. (A change of the shard size would change the id of the same examples: the
 * shard layout is part of the format, versioned by its header.)
 *
 * Champions are keyed by it (lib/workflow/promotion.ts): metrics on the same test split are
 * comparable, whatever the model was trained on.
 */
export function testSetIdOf(manifest: Pick<Manifest, 'splits'>): string {
  const hash = createHash('sha256');
  hash.update('fmnist-test-set-v1\n');
  for (const shard of manifest.splits.test.shards) hash.update(`${shard.examples} ${shard.sha256}\n`);
  return hash.digest('hex');
}
