import { z } from 'zod';
import { parseWith } from '../lib/validation.ts';

/**
 * The figures `fmnist run` reports, read from the execution's output (the workflow's state
 * document: dataset, training, evaluation, promotion) rather than from files the run copied:
 * the output is what the execution returned, and it is validated here like any input.
 */
const figure = z.number().finite();
const RunOutput = z.looseObject({
  dataset: z.looseObject({ datasetId: z.string() }),
  training: z.looseObject({ runId: z.string(), backend: z.string(), seconds: figure.nonnegative(), imagesPerSecond: figure.nonnegative(), epochs: z.number().int().nonnegative() }),
  evaluation: z.looseObject({ runId: z.string(), accuracy: figure.min(0).max(1), loss: figure, macroF1: figure, weightedF1: figure }),
  /** Promote's record (absent when the run stopped before Promote). */
  promotion: z.looseObject({ promoted: z.boolean(), reason: z.string(), registered: z.string().optional() }).optional(),
});
export type RunOutput = z.output<typeof RunOutput>;

/** Step caching's output (lib/workflow/step-cache.ts): the execution ended with the run it reused, nothing trained. */
const ReusedOutput = z.looseObject({ reusedRun: z.string().min(1), dataset: z.looseObject({ datasetId: z.string() }) });

/** The run a succeeded execution reused instead of training, or undefined when it trained. */
export function reusedRunOf(output: unknown): string | undefined {
  const parsed = ReusedOutput.safeParse(output);
  return parsed.success ? parsed.data.reusedRun : undefined;
}

/** What `run` and `start` print for an execution that reused a completed run. */
export function reusedRunLine(runId: string): string {
  return `reused run ${runId}: it completed with the same dataset, training config and code version, so nothing was trained or evaluated (its model and report stand; --no-cache trains again)`;
}

/** Refuses (ConfigError naming the field) an output without the figures a succeeded run has. */
export function parseRunOutput(output: unknown): RunOutput {
  return parseWith(RunOutput, output, 'the execution output');
}

export function formatTestFigures({ evaluation }: RunOutput): string {
  return [
    `test loss ${evaluation.loss.toFixed(4)}`,
    `test accuracy ${evaluation.accuracy.toFixed(4)}`,
    `macro F1 ${evaluation.macroF1.toFixed(4)}`,
    `weighted F1 ${evaluation.weightedF1.toFixed(4)}`,
  ].join(' - ');
}

/** What became of the model: champion, or why not (and how to promote it by hand). */
export function formatPromotion({ promotion, evaluation }: RunOutput): string | undefined {
  if (!promotion) return undefined;
  if (promotion.promoted) return `champion of its test set: ${promotion.reason}`;
  const registered = promotion.registered ? `registered (${promotion.registered}), ` : '';
  return `${registered}not promoted: ${promotion.reason}\n  to promote it anyway: fmnist models promote ${evaluation.runId} --reason <why>`;
}

/** runs/<id>/run.json of the output directory: what `fmnist run` did, in one small record. */
export function runRecord(runId: string, output: RunOutput, totalSeconds: number) {
  const { dataset, training, evaluation } = output;
  return {
    runId,
    datasetId: dataset.datasetId,
    backend: { name: training.backend },
    epochs: training.epochs,
    trainingSeconds: training.seconds,
    imagesPerSecond: training.imagesPerSecond,
    totalSeconds,
    testAccuracy: evaluation.accuracy,
    testLoss: evaluation.loss,
    macroF1: evaluation.macroF1,
    promotion: output.promotion,
  };
}
