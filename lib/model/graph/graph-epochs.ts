import type { LabeledImages } from '../../data/dataset.ts';
import { NUM_CLASSES } from '../../data/classes.ts';
import type { CheckpointOptimizer } from '../checkpoint/checkpoint.ts';
import { checkMoments } from '../checkpoint/model-state.ts';
import type { CooperativeLoop } from '../cooperative.ts';
import type { EpochRunner, EpochTotals, RunnerState, StepSettings } from '../epoch-runner.ts';
import { evaluateLossAccuracy } from '../predict.ts';
import { GRAPH_PREDICT_BATCH, type GraphTrainer } from './graph-trainer.ts';

/** The step as one TensorFlow graph run per batch; metrics come back as numbers with the step. */
export class GraphEpochs implements EpochRunner {
  readonly kind = 'graph';
  private lossSum = 0;
  private correct = 0;
  private examples = 0;

  constructor(
    private readonly trainer: GraphTrainer,
    private readonly data: LabeledImages,
  ) {}

  get chains(): number {
    return this.trainer.chains;
  }

  step(order: Uint32Array, from: number, to: number, settings: StepSettings): void {
    const { loss, correct } = this.trainer.step(order, from, to, settings);
    this.lossSum += loss * (to - from);
    this.correct += correct;
    this.examples += to - from;
  }

  means(): { loss: number; accuracy: number } {
    return { loss: this.lossSum / this.examples, accuracy: this.correct / this.examples };
  }

  endEpoch(): { loss: number; accuracy: number } {
    const means = this.means();
    this.lossSum = this.correct = this.examples = 0;
    return means;
  }

  async validate(from: number, loop: CooperativeLoop): Promise<{ loss: number; accuracy: number }> {
    const { count } = this.data;
    const probabilities = new Float32Array((count - from) * NUM_CLASSES);
    for (let start = from; start < count; start += GRAPH_PREDICT_BATCH) {
      await loop.checkpoint();
      probabilities.set(this.trainer.predictRange(start, Math.min(start + GRAPH_PREDICT_BATCH, count)), (start - from) * NUM_CLASSES);
    }
    return evaluateLossAccuracy(probabilities, this.data.labels.subarray(from, count));
  }

  finish(): void {
    this.trainer.copyWeightsToModel();
  }

  capture(steps: number): RunnerState {
    const { weights, state, adam } = this.trainer.readState();
    return {
      trainableWeights: weights,
      nonTrainableWeights: state,
      optimizer: { iterations: steps, ...adam },
      totals: { lossSum: this.lossSum, correct: this.correct, examples: this.examples },
    };
  }

  restore(optimizer: CheckpointOptimizer, totals: EpochTotals): void {
    checkMoments(this.trainer.model.trainableWeights.map((w) => [...w.shape] as number[]), optimizer);
    this.trainer.restoreAdamState(optimizer);
    ({ lossSum: this.lossSum, correct: this.correct, examples: this.examples } = totals);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}
