import { z } from 'zod';

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

/** A loss or accuracy: JSON holds a diverged run's NaN as null, so null reads back as NaN. */
const metric = z.union([z.number(), z.null().transform(() => Number.NaN)]);

/**
 * history.json as the train step writes it (one EpochLog per epoch), for readers of a stored
 * run's history (the evaluate step's report page, the sweep page).
 */
export const EpochLogsFile = z.array(
  z.object({
    epoch: z.int().min(1),
    loss: metric,
    accuracy: metric,
    val_loss: metric.optional(),
    val_accuracy: metric.optional(),
    seconds: z.number().min(0),
    stopped: z.string().optional(),
  }),
) satisfies z.ZodType<EpochLog[], unknown>;
