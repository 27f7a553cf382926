import { listObjects } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { readChampion } from '../../lib/workflow/champion-store.ts';
import { REGISTRY_PREFIX } from '../../lib/workflow/layout.ts';
import type { Champion } from '../../lib/workflow/promotion.ts';
import type { ModelVersion } from '../../lib/workflow/registry/model-version.ts';
import { championHistory, findModelVersion, listChampions, listModelVersions } from '../../lib/workflow/registry/store.ts';
import { validateRunId } from '../../lib/workflow/run-id.ts';
import type { RegistryTarget } from './target.ts';
import { indexTestSets, resolveTestSet, type TestSetEntry } from './test-sets.ts';

/**
 * `fmnist models list` and `show`: what the registry holds, read from the records the workflow
 * (and `promote`/`rollback`) wrote, as plain objects the formatter and --json both print.
 */

export interface ChampionSummary {
  runId: string;
  accuracy: number;
  macroF1: number;
  /** When it became champion (its record's promotedAt). */
  since: string;
  by: string | null;
  reason: string;
  change: 'promotion' | 'rollback';
}

export interface VersionRow {
  runId: string;
  registeredAt: string;
  datasetId: string;
  accuracy: number;
  macroF1: number;
  trigger: string | null;
  approval: string | null;
  codeVersion: string;
  champion: boolean;
}

export interface TestSetListing {
  testSetId: string;
  datasetIds: string[];
  champion: ChampionSummary | null;
  /** Newest first. */
  versions: VersionRow[];
}

export interface ModelsListing {
  where: string;
  testSets: TestSetListing[];
}

export const championSummary = (champion: Champion): ChampionSummary => ({
  runId: champion.runId,
  accuracy: champion.accuracy,
  macroF1: champion.macroF1,
  since: champion.promotedAt,
  by: champion.by ?? null,
  reason: champion.reason,
  change: champion.change ?? 'promotion',
});

const versionRow = (version: ModelVersion, champion: Champion | undefined): VersionRow => ({
  runId: version.runId,
  registeredAt: version.registeredAt,
  datasetId: version.datasetId,
  accuracy: version.metrics.accuracy,
  macroF1: version.metrics.macroF1,
  trigger: version.trigger ?? null,
  approval: version.approval?.decision ?? null,
  codeVersion: version.codeVersion,
  champion: champion?.runId === version.runId,
});

const newestFirst = (a: string, b: string) => b.localeCompare(a);

/** The registry's state: test sets and their versions and champions, once read. */
export async function readRegistry(target: RegistryTarget): Promise<{ versions: ModelVersion[]; index: Map<string, TestSetEntry> }> {
  const versions = await listModelVersions(target.s3, target.bucket);
  const champions = await listChampions(target.s3, target.bucket);
  return { versions, index: indexTestSets(versions, champions) };
}

/** Every test set (or the one --dataset names), the latest activity first; versions newest first. */
export async function listModels(target: RegistryTarget, options: { dataset?: string } = {}): Promise<ModelsListing> {
  const { versions, index } = await readRegistry(target);
  const chosen = options.dataset === undefined ? [...index.keys()] : [resolveTestSet(options.dataset, index)];
  const testSets = chosen.map((testSetId): TestSetListing => {
    const { datasetIds, champion } = index.get(testSetId)!;
    const rows = versions
      .filter((version) => version.testSetId === testSetId)
      .map((version) => versionRow(version, champion))
      .sort((a, b) => newestFirst(a.registeredAt, b.registeredAt) || a.runId.localeCompare(b.runId));
    return { testSetId, datasetIds, champion: champion ? championSummary(champion) : null, versions: rows };
  });
  const latest = (listing: TestSetListing) => [listing.champion?.since ?? '', listing.versions[0]?.registeredAt ?? ''].sort(newestFirst)[0];
  testSets.sort((a, b) => newestFirst(latest(a), latest(b)) || a.testSetId.localeCompare(b.testSetId));
  return { where: target.where, testSets };
}

/**
 * The registered version of `runId`. The key is looked for first, so an unknown run is told apart
 * from a malformed record and named with the bucket as the user knows it (a state directory or
 * s3://…).
 */
export async function versionOfRun(target: RegistryTarget, runId: string): Promise<ModelVersion> {
  validateRunId(runId);
  for await (const object of listObjects(target.s3, target.bucket, REGISTRY_PREFIX)) {
    if (object.key.endsWith(`/${runId}.json`)) return findModelVersion(target.s3, target.bucket, runId);
  }
  throw new ConfigError(
    `no model of run ${runId} in the registry of ${target.where}: a run is registered when its Promote step runs (\`fmnist models list\` shows the registered runs)`,
  );
}

export interface ModelDetails {
  where: string;
  version: ModelVersion;
  /** Its test set's champion now (null when none). */
  champion: ChampionSummary | null;
  isChampion: boolean;
  /** Whether it was champion at some time (now included). */
  wasChampion: boolean;
  /** The champion history records naming it: as the champion, or as the one it replaced or was rolled back from. Oldest first. */
  history: Champion[];
}

export async function showModel(target: RegistryTarget, runId: string): Promise<ModelDetails> {
  const version = await versionOfRun(target, runId);
  const { champion } = await readChampion(target.s3, target.bucket, version.testSetId);
  const records = await championHistory(target.s3, target.bucket, version.testSetId);
  const history = records.filter((record) => record.runId === runId || record.previous === runId);
  const isChampion = champion?.runId === runId;
  return {
    where: target.where,
    version,
    champion: champion ? championSummary(champion) : null,
    isChampion,
    wasChampion: isChampion || history.some((record) => record.runId === runId),
    history,
  };
}
