/**
 * The EventBridge events the model registry puts on the account's default bus, one per change of
 * a test set's champion (the Promote step, `fmnist models promote` and `rollback`). One home for
 * their names: the emitters, the stack's notification rules and the local runtime's EventBridge
 * all read them from here.
 */
export const REGISTRY_EVENT_SOURCE = 'fmnist.registry';

export const REGISTRY_DETAIL_TYPES = {
  promoted: 'Champion Promoted',
  rolledBack: 'Champion Rolled Back',
} as const;
export type RegistryDetailType = (typeof REGISTRY_DETAIL_TYPES)[keyof typeof REGISTRY_DETAIL_TYPES];

/** What every registry event carries: enough to act on without reading the bucket. */
export interface ChampionChangeDetail {
  runId: string;
  testSetId: string;
  datasetId: string;
  accuracy: number;
  macroF1: number;
  modelPrefix: string;
  reportPrefix: string;
  /** The champion it replaced (a promotion) or the one rolled back from (a rollback); null when none. */
  previous: string | null;
  reason: string;
  by: string;
  bucket: string;
}

/** Puts one registry event; emitters get it injected (EventBridge in AWS and locally, a recorder in tests). */
export type PublishRegistryEvent = (detailType: RegistryDetailType, detail: ChampionChangeDetail) => Promise<void>;
