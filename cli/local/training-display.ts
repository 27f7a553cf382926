import { z } from 'zod';
import type { TrainHooks } from '../../lib/model/train.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import type { ModelSummary } from '../../lib/model/summary.ts';
import { formatEpochLine } from './progress.ts';

/**
 * Training progress as a person sees it during a local run. It comes from one channel: the
 * messages trainModel publishes (lib/model/progress-channel.ts), relayed by every sandbox that
 * trains, Lambda or Fargate (cloud/progress-relay.ts). They drive `trainHooks` (the CLI's
 * progress bar and epoch lines); without hooks each finished epoch becomes a timeline line.
 * The train handler's "epoch finished" log records are for CloudWatch and are not read here.
 */
/** JSON turns a NaN loss (training diverged) into null: it is shown as NaN, not dropped. */
const finite = z.number().nullable().transform((value) => value ?? Number.NaN);
const count = z.number().int().nonnegative();
const EpochLogSchema = z.looseObject({
  epoch: count,
  loss: finite,
  accuracy: finite,
  val_loss: finite.optional(),
  val_accuracy: finite.optional(),
  seconds: finite,
  stopped: z.string().optional(),
});
const LayerSummarySchema = z.looseObject({ name: z.string(), type: z.string(), outputShape: z.array(count.nullable()), params: count, trainableParams: count });
const ModelSummarySchema = z.looseObject({ layers: z.array(LayerSummarySchema), totalParams: count, trainableParams: count, nonTrainableParams: count });
const TrainingProgressSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('epochBegin'), epoch: count, epochs: count, batches: count }),
  z.object({ kind: z.literal('batchEnd'), epoch: count, batch: count, batches: count, loss: finite, accuracy: finite }),
  z.object({ kind: z.literal('epochEnd'), log: EpochLogSchema }),
  z.object({ kind: z.literal('modelSummary'), summary: ModelSummarySchema }),
]);

export class TrainingDisplay {
  /** Epochs of the training under way, once its first epoch began. */
  #epochs: number | undefined;

  constructor(
    readonly hooks: TrainHooks | undefined,
    /** A line in the timeline under `state` (used without hooks). */
    readonly note: (state: string, text: string) => void,
  ) {}

  /** A message relayed from a sandbox serving Task state `state`; anything else than a progress message is ignored. */
  message(state: string, message: unknown): void {
    const parsed = TrainingProgressSchema.safeParse(message);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.kind === 'epochBegin') {
      this.#epochs = m.epochs;
      this.hooks?.onEpochBegin?.(m.epoch, m.epochs, m.batches);
    } else if (m.kind === 'batchEnd') {
      this.hooks?.onBatchEnd?.(m.epoch, m.batch, m.batches, { loss: m.loss, accuracy: m.accuracy });
    } else if (m.kind === 'modelSummary') {
      const summary = m.summary as ModelSummary;
      if (this.hooks?.onModelSummary) this.hooks.onModelSummary(summary);
      else this.note(state, `model: ${summary.layers.length} layers, ${summary.totalParams.toLocaleString('en-US')} parameters`);
    } else {
      const log = m.log as EpochLog;
      if (this.hooks?.onEpochEnd) this.hooks.onEpochEnd(log);
      else this.note(state, formatEpochLine(log, this.#epochs));
    }
  }
}
