/**
 * One epoch of training history, Keras' `history.history` as one record per epoch. Validation
 * metrics are absent when training ran without a validation split.
 */
export interface EpochLog {
  /** 1-based. */
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  /** Wall-clock duration of the epoch, validation included (as Keras reports it). */
  seconds: number;
  /** Why training stopped after this epoch (early stopping, lib/model/early-stopping.ts); absent when it went on or ran all its epochs. */
  stopped?: string;
}
