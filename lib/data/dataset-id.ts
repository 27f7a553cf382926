import { createHash } from 'node:crypto';

export const DATASET_ID_LENGTH = 16;

export interface DatasetIdInputs {
  train: { sha256: string }[];
  test: { sha256: string }[];
  limit?: { train?: number; test?: number };
}

/**
 * A dataset's id is a hash of what it contains: the checksums of each split's sources, in order,
 * and the limit applied. File names and dates play no part, so the same bytes uploaded again
 * under another name map to the same id (and are not ingested twice). 16 hex characters (64 bits)
 * are plenty to tell datasets apart while staying readable in S3 keys.
 */
export function datasetIdFor(inputs: DatasetIdInputs): string {
  const hash = createHash('sha256');
  hash.update('fmnist-dataset-v1\n');
  for (const split of ['train', 'test'] as const) {
    const limit = inputs.limit?.[split];
    hash.update(`${split} limit=${limit ?? 'none'} sources=${inputs[split].map((source) => source.sha256).join(',')}\n`);
  }
  return hash.digest('hex').slice(0, DATASET_ID_LENGTH);
}
