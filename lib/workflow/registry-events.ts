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
