import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { parseWith } from '../../lib/validation.ts';
import type { Champion } from '../../lib/workflow/promotion.ts';
import type { ModelVersion } from '../../lib/workflow/registry/model-version.ts';

/**
 * The test sets the registry knows and how `--dataset ID` names one. Champions are kept per test
 * set (the test split's content hash), while people mostly know the dataset id (train + test) a
 * run printed; so either is accepted, whole or as a prefix, and resolved to the test set.
 */

/** A test set with what names it: the datasets judged on it and its champion. */
export interface TestSetEntry {
  testSetId: string;
  datasetIds: string[];
  champion?: Champion;
}

/** Prefixes shorter than this match too much to be typed on purpose. */
export const MIN_PREFIX_LENGTH = 8;

const DatasetFlag = z
  .string()
  .regex(/^[0-9a-f]+$/, 'must be a test set id or dataset id (lowercase hex digits)')
  .min(MIN_PREFIX_LENGTH, `must be a test set id or dataset id, or a prefix of at least ${MIN_PREFIX_LENGTH} hex digits`);

/** Every test set with a registered version or a champion, keyed by its id. */
export function indexTestSets(versions: ModelVersion[], champions: Champion[]): Map<string, TestSetEntry> {
  const index = new Map<string, TestSetEntry>();
  const entry = (testSetId: string) => {
    if (!index.has(testSetId)) index.set(testSetId, { testSetId, datasetIds: [] });
    return index.get(testSetId)!;
  };
  const addDataset = (testSetId: string, datasetId: string) => {
    const ids = entry(testSetId).datasetIds;
    if (!ids.includes(datasetId)) ids.push(datasetId);
  };
  for (const version of versions) addDataset(version.testSetId, version.datasetId);
  for (const champion of champions) {
    entry(champion.testSetId).champion = champion;
    addDataset(champion.testSetId, champion.datasetId);
  }
  return index;
}

const describeEntry = (entry: TestSetEntry) =>
  `test set ${entry.testSetId} (dataset ${entry.datasetIds.join(', ') || '-'}; champion ${entry.champion?.runId ?? 'none'})`;

/** `--dataset` → the test set it names: exact ids first, then unique prefixes of either kind. */
export function resolveTestSet(query: string, index: Map<string, TestSetEntry>): string {
  const id = parseWith(DatasetFlag, query, '--dataset');
  const entries = [...index.values()];
  const exact = entries.filter((entry) => entry.testSetId === id || entry.datasetIds.includes(id));
  const matches = exact.length > 0 ? exact : entries.filter((entry) => entry.testSetId.startsWith(id) || entry.datasetIds.some((d) => d.startsWith(id)));
  if (matches.length === 1) return matches[0].testSetId;
  if (matches.length === 0) {
    const known = entries.length === 0 ? 'the registry is empty' : `known: ${entries.map(describeEntry).join('; ')}`;
    throw new ConfigError(`--dataset ${id}: no test set or dataset of the registry has this id or prefix (${known})`);
  }
  throw new ConfigError(`--dataset ${id} is ambiguous: it names ${matches.map(describeEntry).join('; ')}; give more digits`);
}

/** The test set rollback works on without --dataset: the only one that has a champion. */
export function onlyChampionTestSet(index: Map<string, TestSetEntry>): string {
  const withChampion = [...index.values()]
    .filter((entry) => entry.champion)
    .sort((a, b) => b.champion!.promotedAt.localeCompare(a.champion!.promotedAt));
  if (withChampion.length === 1) return withChampion[0].testSetId;
  if (withChampion.length === 0) throw new ConfigError('no test set has a champion: nothing to roll back');
  throw new ConfigError(`${withChampion.length} test sets have a champion; choose one with --dataset: ${withChampion.map(describeEntry).join('; ')}`);
}
