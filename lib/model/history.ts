/**
 * One epoch of training history, Keras' `history.history` as one record per epoch. Identical
 * to lib/report/history.ts's EpochLog, which the report layer owns; kept here so the model
 * layer does not depend on the report layer.
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
}
