import * as tf from '@tensorflow/tfjs';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from '../../data/classes.ts';
import type { LabeledImages } from '../../data/dataset.ts';
import { SeededDropout } from '../seeded-dropout.ts';
import { fillKeepMultipliers } from '../uniform-noise.ts';
import { size } from '../layers/layer.ts';
import type { ModelSpec } from '../spec.ts';
import { GraphSession, type Feed, type NativeBinding } from './session.ts';
import type { AdamSettings } from './adam.ts';
import type { StepSettings } from '../epoch-runner.ts';
import { buildTrainGraph, shapesMatch, type GraphOptions, type TrainGraph } from './train-graph.ts';
import { endpointFor } from './chains.ts';

/** Rows per predict run: big enough to keep TensorFlow's kernels busy, small enough for modest activations (~45 MB). */
export const GRAPH_PREDICT_BATCH = 512;

/**
 * Trains a tfjs model's weights inside one TensorFlow session (see train-graph.ts): the data
 * set is uploaded once as uint8, each step feeds only example indices and dropout masks, and
 * the weights come back into the tfjs model at the end (`copyWeightsToModel`). Same start, same
 * dropout masks and same arithmetic as the layers-API step (TrainStepper).
 */
export class GraphTrainer {
  private readonly dropouts: { layer: SeededDropout; shape: number[] }[];
  private readonly indices: Int32Array;
  /** The step's rate as the float32 scalar fed (tfjs, too, rounds the rate to float32). */
  private readonly learningRate = new Float32Array(1);
  private readonly masks: Float32Array[] = [];

  private constructor(
    private readonly session: GraphSession,
    private readonly graph: TrainGraph,
    /** The model whose weights this trains. */
    readonly model: tf.LayersModel,
    batchSize: number,
    private readonly count: number,
  ) {
    this.dropouts = graph.dropouts.map(({ layer, shape }) => {
      const instance = model.layers[layer];
      if (!(instance instanceof SeededDropout)) throw new Error(`layer ${layer} is not the model's seeded dropout`);
      return { layer: instance, shape };
    });
    this.indices = new Int32Array(Math.max(batchSize, GRAPH_PREDICT_BATCH));
  }

  /**
   * Builds the graph for `spec`, loads it, uploads `data` (every example, validation included)
   * and the model's current weights. The model must have been built from `spec` with an Adam
   * optimiser (buildModel).
   */
  static async create(
    binding: NativeBinding,
    model: tf.LayersModel,
    spec: ModelSpec,
    data: LabeledImages,
    batchSize: number,
    options?: GraphOptions,
  ): Promise<GraphTrainer> {
    const graph = buildTrainGraph(spec, adamSettings(model), options);
    const weights = model.trainableWeights.map((weight) => weight.read());
    const state = model.nonTrainableWeights.map((weight) => weight.read());
    if (!shapesMatch(weights, graph.weightShapes) || !shapesMatch(state, graph.stateShapes)) {
      throw new Error('the model does not match its spec: weight shapes differ');
    }
    const session = await GraphSession.load(binding, graph.nodes);
    try {
      session.run(
        [
          { name: graph.feeds.images, shape: [data.count, IMAGE_HEIGHT, IMAGE_WIDTH, 1], values: data.images },
          { name: graph.feeds.labels, shape: [data.count], values: data.labels },
        ],
        [graph.fetches.loadData],
      );
      const initial = [
        ...weights.map((w, i) => ({ name: graph.feeds.initialWeights[i], shape: w.shape, values: w.dataSync() as Float32Array })),
        ...state.map((s, i) => ({ name: graph.feeds.initialState[i], shape: s.shape, values: s.dataSync() as Float32Array })),
      ];
      session.run(initial, [graph.fetches.init]);
      return new GraphTrainer(session, graph, model, batchSize, data.count);
    } catch (error) {
      session.dispose();
      throw error;
    }
  }

  /** One Adam step on examples `order[from]`…`order[to - 1]`: the batch's mean loss and its count of correct predictions. */
  step(order: ArrayLike<number>, from: number, to: number, settings: StepSettings): { loss: number; correct: number } {
    this.learningRate[0] = settings.learningRate;
    const feeds = [...this.batchFeeds(order, from, to, settings.flips), { name: this.graph.feeds.learningRate, shape: [], values: this.learningRate }];
    const endpoint = this.stepEndpoint(to - from);
    const [loss, correct] = this.session.run(feeds, [endpoint.loss, endpoint.correct]);
    return { loss: loss[0], correct: correct[0] };
  }

  /** The chained step, or the one-piece step for a batch with fewer rows than chains (TrainGraph.fetches.single). */
  private stepEndpoint(rows: number): { loss: string; correct: string; gradients: string[] } {
    return endpointFor<{ loss: string; correct: string; gradients: string[] }>(rows, this.graph.fetches, this.graph.fetches.single);
  }

  /**
   * For tests and diagnostics: what `step` would compute on these examples, without updating
   * anything (it does use up a dropout mask, as a step would): gradients in weight order, and
   * the scaled input batch.
   */
  inspectStep(order: ArrayLike<number>, from: number, to: number, flips?: Float32Array): { gradients: Float32Array[]; images: Float32Array } {
    const fetched = this.session.run(this.batchFeeds(order, from, to, flips), [...this.stepEndpoint(to - from).gradients, this.graph.fetches.images]) as Float32Array[];
    return { gradients: fetched.slice(0, -1), images: fetched[fetched.length - 1] };
  }

  /** Dropout layer `i`'s multipliers for `count` values, in a buffer reused from step to step (the feed copies it). */
  private masksFor(i: number, count: number, layer: SeededDropout): Float32Array {
    if ((this.masks[i]?.length ?? 0) < count) this.masks[i] = new Float32Array(count);
    return fillKeepMultipliers(this.masks[i].subarray(0, count), layer.nextSeed(), layer.rate);
  }

  private batchFeeds(order: ArrayLike<number>, from: number, to: number, flips: Float32Array | undefined): Feed[] {
    const n = this.checkRange(from, to);
    const indices = this.indices.subarray(0, n);
    for (let i = 0; i < n; i++) indices[i] = order[from + i];
    const feeds: Feed[] = [{ name: this.graph.feeds.indices, shape: [n], values: indices }];
    const flipFeed = this.graph.feeds.flips;
    if ((flipFeed !== undefined) !== (flips !== undefined)) throw new Error(`the graph was built ${flipFeed ? 'with' : 'without'} horizontal flips; the step ${flips ? 'gives' : 'gives no'} flip flags`);
    if (flipFeed !== undefined && flips !== undefined) {
      if (flips.length !== n) throw new RangeError(`${flips.length} flip flags for a batch of ${n}`);
      feeds.push({ name: flipFeed, shape: [n], values: flips });
    }
    this.dropouts.forEach(({ layer, shape }, i) => {
      feeds.push({ name: this.graph.feeds.dropoutMasks[i], shape: [n, ...shape], values: this.masksFor(i, n * size(shape), layer) });
    });
    return feeds;
  }

  /** Class probabilities (inference: dropout off) for examples `from`…`to - 1`, row-major [to - from, 10]. */
  predictRange(from: number, to: number): Float32Array {
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= this.count)) {
      throw new RangeError(`rows ${from}..${to} are outside the ${this.count} loaded examples`);
    }
    const probabilities = new Float32Array((to - from) * NUM_CLASSES);
    for (let start = from; start < to; start += GRAPH_PREDICT_BATCH) {
      const end = Math.min(start + GRAPH_PREDICT_BATCH, to);
      const indices = this.indices.subarray(0, end - start);
      for (let i = 0; i < indices.length; i++) indices[i] = start + i;
      const { probabilities: fetch } = endpointFor(indices.length, { probabilities: this.graph.fetches.probabilities }, this.graph.fetches.predictSingle);
      const [batch] = this.session.run([{ name: this.graph.feeds.indices, shape: [indices.length], values: indices }], [fetch]);
      probabilities.set(batch, (start - from) * NUM_CLASSES);
    }
    return probabilities;
  }

  /**
   * The weights, the layers' state and Adam's state as they stand, in one session run (copies:
   * they stay valid while training goes on). Weights and moments in model.trainableWeights
   * order, state in model.nonTrainableWeights order.
   */
  readState(): { weights: Float32Array[]; state: Float32Array[]; adam: AdamState } {
    const { weights, state, adam } = this.graph.fetches;
    const n = weights.length;
    const values = this.session.run([], [...weights, ...adam.moments1, ...adam.moments2, adam.beta1Power, adam.beta2Power, ...state]) as Float32Array[];
    return {
      weights: values.slice(0, n),
      state: values.slice(3 * n + 2),
      adam: { moments1: values.slice(n, 2 * n), moments2: values.slice(2 * n, 3 * n), beta1Power: values[3 * n][0], beta2Power: values[3 * n + 1][0] },
    };
  }

  /**
   * Sets Adam's moments and running powers of beta (the weights come from the model at
   * create). The powers are set as given, not recomputed from a step count: the running
   * products differ from beta^t in the last bits.
   */
  restoreAdamState(state: AdamState): void {
    const { adam } = this.graph.feeds;
    const shapes = this.graph.weightShapes;
    if (state.moments1.length !== shapes.length || state.moments2.length !== shapes.length) {
      throw new Error(`Adam state for ${state.moments1.length}/${state.moments2.length} weights; the graph has ${shapes.length}`);
    }
    const feeds: Feed[] = [];
    shapes.forEach((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      for (const [name, values] of [[adam.moments1[i], state.moments1[i]], [adam.moments2[i], state.moments2[i]]] as const) {
        if (values.length !== size) throw new Error(`Adam moment ${i} has ${values.length} values; weight ${i} has ${size}`);
        feeds.push({ name, shape, values });
      }
    });
    feeds.push(
      { name: adam.beta1Power, shape: [], values: Float32Array.of(state.beta1Power) },
      { name: adam.beta2Power, shape: [], values: Float32Array.of(state.beta2Power) },
    );
    this.session.run(feeds, [this.graph.fetches.restoreAdam]);
  }

  /** Sets the model's weights (and moving statistics) to the trained ones. */
  copyWeightsToModel(): void {
    const { weights, state } = this.graph.fetches;
    const values = this.session.run([], [...weights, ...state]) as Float32Array[];
    const shapes = [...this.graph.weightShapes, ...this.graph.stateShapes];
    const tensors = values.map((v, i) => tf.tensor(v, shapes[i], 'float32'));
    try {
      [...this.model.trainableWeights, ...this.model.nonTrainableWeights].forEach((weight, i) => weight.write(tensors[i]));
    } finally {
      tf.dispose(tensors);
    }
  }

  /** The pieces each batch runs in (TrainGraph.chains). */
  get chains(): number {
    return this.graph.chains;
  }

  dispose(): void {
    this.session.dispose();
  }

  private checkRange(from: number, to: number): number {
    const n = to - from;
    if (n < 1 || n > this.indices.length) throw new RangeError(`a batch of ${n} examples does not fit buffers for ${this.indices.length}`);
    return n;
  }
}

/** Adam's state: moments per trainable weight (in order) and the running powers of beta1 and beta2 (float32 values). */
export interface AdamState {
  moments1: Float32Array[];
  moments2: Float32Array[];
  beta1Power: number;
  beta2Power: number;
}

/** The model's Adam settings, as its optimiser reports them. */
function adamSettings(model: tf.LayersModel): AdamSettings {
  const optimizer = model.optimizer;
  if (optimizer?.getClassName() !== 'Adam') throw new Error(`the graph step implements Adam only, not ${optimizer?.getClassName()}`);
  const config = optimizer.getConfig() as { beta1: number; beta2: number; epsilon: number };
  return { beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon };
}
