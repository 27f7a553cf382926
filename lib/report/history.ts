/**
 * One line of the training history, as the trainer logs it after each epoch (Keras'
 * `history.history`, one record per epoch). Validation metrics are absent when training ran
 * without a validation split.
 */
export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  /** Wall-clock duration of the epoch. */
  seconds: number;
}
