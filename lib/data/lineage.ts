import { datasetIdFor, type DatasetIdInputs } from './dataset-id.ts';
import type { Lineage } from './manifest.ts';

/**
 * A dataset's lineage (manifest `lineage`): which uploads, in what order, and the dataset it grew
 * from. Data that grows is the same train files plus one more at the end (raw/datasets/<name>/train/,
 * in key order: lib/workflow/raw-datasets.ts), so the parent is found by content alone: the ids of
 * the strict prefixes of this dataset's train sources, with the same test sources and limit, are
 * exactly the datasets it can have grown from; the longest one that is stored is the parent. No
 * name, date or pointer is needed, and the dataset id itself stays "same files, same id".
 */

type Source = { name: string; sha256: string };

export interface LineageSources {
  train: Source[];
  test: Source[];
  limit?: DatasetIdInputs['limit'];
}

/** The dataset ids this one may have grown from, the longest train prefix first. */
export function parentCandidates({ train, test, limit }: LineageSources): { id: string; fromParent: number }[] {
  const candidates: { id: string; fromParent: number }[] = [];
  for (let length = train.length - 1; length >= 1; length--) {
    candidates.push({ id: datasetIdFor({ train: train.slice(0, length), test, limit }), fromParent: length });
  }
  return candidates;
}

/**
 * The lineage, asking `isStored` about the candidates longest first (a few listings at most: an
 * execution takes 50 files per split); parent null when none is stored or nobody can tell.
 */
export async function lineageOf(sources: LineageSources, isStored?: (datasetId: string) => Promise<boolean>): Promise<Lineage> {
  const uploads = [
    ...sources.train.map(({ name, sha256 }) => ({ split: 'train' as const, name, sha256 })),
    ...sources.test.map(({ name, sha256 }) => ({ split: 'test' as const, name, sha256 })),
  ];
  if (isStored) {
    for (const candidate of parentCandidates(sources)) {
      if (await isStored(candidate.id)) return { parent: candidate.id, fromParent: candidate.fromParent, uploads };
    }
  }
  return { parent: null, fromParent: 0, uploads };
}
