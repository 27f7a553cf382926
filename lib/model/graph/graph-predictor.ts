import * as tf from '@tensorflow/tfjs';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES, PIXELS_PER_IMAGE } from '../../data/classes.ts';
import type { ModelMetadata } from '../io.ts';
import { graphSupports, kindOf } from '../layers/index.ts';
import { argmaxRows, predict, type Prediction } from '../predict.ts';
import { INPUT_SHAPE, ModelSpec, planLayers } from '../spec.ts';
import { buildPredictGraph, valueShapes, type PredictGraph } from './predict-graph.ts';
import { endpointFor, graphChains } from './chains.ts';
import { GraphSession, nativeBinding, type NativeBinding } from './session.ts';
import { shapesMatch } from './train-graph.ts';

/**
 * Rows per session call at most: on the walkthrough CNN (bench/README.md "Evaluate") larger
 * batches gained nothing measurable, and 10,000 test images make 10 equal batches (one shape for
 * TensorFlow to prepare kernels for).
 */
export const GRAPH_PREDICT_ROWS = 1000;

/** What one call's activations may take: a wide model gets fewer rows per call (the evaluate Lambda has 3 GB). */
const ACTIVATION_BUDGET_BYTES = 256 * 2 ** 20;

/**
 * Rows per call for a spec: at most GRAPH_PREDICT_ROWS, fewer when a layer's input and output
 * together would pass the budget (each layer's own count of the floats its inference output
 * takes: a flatten or a dropout takes none, its output is its input).
 */
export function predictRows(spec: ModelSpec): number {
  const plans = planLayers(spec);
  let previous = INPUT_SHAPE.reduce((a, b) => a * b, 1);
  let largest = 0;
  spec.layers.forEach((layer, i) => {
    const output = kindOf(layer).floats(layer, i === 0 ? INPUT_SHAPE : plans[i - 1].outputShape, plans[i].outputShape).output;
    largest = Math.max(largest, previous + output);
    if (output > 0) previous = output;
  });
  return Math.max(1, Math.min(GRAPH_PREDICT_ROWS, Math.floor(ACTIVATION_BUDGET_BYTES / (4 * largest))));
}

/** How a model's predictions were made: through its inference graph, or by tfjs (and why not the graph). */
export type PredictRoute = { via: 'graph' } | { via: 'tfjs'; reason: string };

/**
 * Predicts with the model's inference graph (predict-graph.ts) when it can: on the native
 * backend, for a model whose saved training record names a spec the graph can build and that
 * the loaded model matches layer for layer. Anything else (the wasm or cpu backend, a model
 * from elsewhere, a layer without a graph part) predicts with tfjs as before, and says why.
 * Both give the same probabilities up to float rounding inside kernels (test/model/graph-predict.test.ts).
 */
export async function predictModel(
  model: tf.LayersModel,
  metadata: ModelMetadata | undefined,
  data: { images: Uint8Array; count: number },
): Promise<{ prediction: Prediction; route: PredictRoute }> {
  const choice = graphRoute(model, metadata);
  if ('reason' in choice) return { prediction: await predict(model, data), route: { via: 'tfjs', reason: choice.reason } };
  const predictor = await GraphPredictor.create(choice.binding, choice.spec, model);
  try {
    return { prediction: predictor.predict(data), route: { via: 'graph' } };
  } finally {
    predictor.dispose();
  }
}

/** The binding and spec to predict through the graph with, or why not. */
export function graphRoute(model: tf.LayersModel, metadata: ModelMetadata | undefined): { binding: NativeBinding; spec: ModelSpec } | { reason: string } {
  const binding = nativeBinding();
  if (binding === undefined) return { reason: `the ${tf.getBackend()} backend has no native TensorFlow session` };
  const spec = specOf(metadata);
  if (typeof spec === 'string') return { reason: spec };
  if (!graphSupports(spec)) return { reason: 'a layer of the model has no graph part' };
  const mismatch = specMismatch(spec, model);
  if (mismatch !== undefined) return { reason: `the model does not match its recorded spec: ${mismatch}` };
  return { binding, spec };
}

/** The model spec train-step.ts records in model.json's metadata (training.config.model), or why there is none. */
export function specOf(metadata: ModelMetadata | undefined): ModelSpec | string {
  const training = metadata?.training as { config?: { model?: unknown } } | undefined;
  const recorded = training?.config?.model;
  if (recorded === undefined) return 'model.json records no model spec (training.config.model)';
  const parsed = ModelSpec.safeParse(recorded);
  return parsed.success ? parsed.data : `model.json's recorded spec is not valid (${parsed.error.issues[0]?.message ?? 'unknown issue'})`;
}

/** What decides a layer's inference output, among tfjs-layers' config fields. */
const INFERENCE_FIELDS = ['filters', 'kernelSize', 'strides', 'padding', 'dataFormat', 'dilationRate', 'activation', 'useBias', 'units', 'poolSize', 'axis', 'epsilon', 'center', 'scale'];

/**
 * Where the loaded model differs from the spec, or undefined: each layer's class and inference
 * fields against the layer the spec builds (kind.toTfjs), and every weight's shape. A recorded
 * spec is metadata; the weights are what gets evaluated, so they must be the spec's.
 */
export function specMismatch(spec: ModelSpec, model: tf.LayersModel): string | undefined {
  if (model.layers.length !== spec.layers.length) return `${model.layers.length} layers, the spec has ${spec.layers.length}`;
  const plans = planLayers(spec);
  for (const [i, layer] of spec.layers.entries()) {
    const expected = kindOf(layer).toTfjs(layer, { seed: 0, inputShape: i === 0 ? INPUT_SHAPE : undefined });
    const actual = model.layers[i];
    if (actual.getClassName() !== expected.getClassName()) return `layer ${i} is ${actual.getClassName()}, the spec's is ${expected.getClassName()}`;
    const [want, got] = [expected.getConfig(), actual.getConfig()];
    const field = INFERENCE_FIELDS.find((name) => JSON.stringify(want[name]) !== JSON.stringify(got[name]));
    if (field !== undefined) return `layer ${i}'s ${field} is ${JSON.stringify(got[field])}, the spec's ${JSON.stringify(want[field])}`;
    const output = actual.outputShape as number[];
    if (JSON.stringify(output.slice(1)) !== JSON.stringify(plans[i].outputShape)) return `layer ${i} outputs [${output.slice(1).join(', ')}], the spec [${plans[i].outputShape.join(', ')}]`;
  }
  const { weightShapes, stateShapes } = valueShapes(spec);
  if (!shapesMatch(model.trainableWeights, weightShapes) || !shapesMatch(model.nonTrainableWeights, stateShapes)) return 'weight shapes differ';
  return undefined;
}

/** A trained model's inference graph, loaded into its own TensorFlow session. */
export class GraphPredictor {
  private constructor(
    private readonly session: GraphSession,
    private readonly graph: PredictGraph,
    /** Rows per session call by default (predictRows). */
    readonly rows: number,
  ) {}

  /** The model's current weights baked into its spec's inference graph (the model must match the spec: specMismatch). */
  static async create(binding: NativeBinding, spec: ModelSpec, model: tf.LayersModel): Promise<GraphPredictor> {
    const read = (weights: tf.LayerVariable[]) => weights.map((weight) => weight.read().dataSync() as Float32Array);
    const rows = predictRows(spec);
    const graph = buildPredictGraph(spec, { weights: read(model.trainableWeights), state: read(model.nonTrainableWeights) }, graphChains(rows));
    return new GraphPredictor(await GraphSession.load(binding, graph.nodes), graph, rows);
  }

  /** Class probabilities of every image and the most probable class, as predict.ts' `predict` returns them. */
  predict(data: { images: Uint8Array; count: number }, rows = this.rows): Prediction {
    if (data.images.length !== data.count * PIXELS_PER_IMAGE) {
      throw new RangeError(`expected ${data.count * PIXELS_PER_IMAGE} pixels for ${data.count} images, got ${data.images.length}`);
    }
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer, got ${rows}`);
    const probabilities = new Float32Array(data.count * NUM_CLASSES);
    const scale = { name: this.graph.feeds.pixelScale, shape: [], values: new Float32Array([255]) };
    for (let from = 0; from < data.count; from += rows) {
      const to = Math.min(from + rows, data.count);
      const images = data.images.subarray(from * PIXELS_PER_IMAGE, to * PIXELS_PER_IMAGE);
      const [batch] = this.session.run(
        [{ name: this.graph.feeds.images, shape: [to - from, IMAGE_HEIGHT, IMAGE_WIDTH, 1], values: images }, scale],
        [endpointFor(to - from, this.graph.fetches, this.graph.fetches.single).probabilities],
      );
      probabilities.set(batch, from * NUM_CLASSES);
    }
    return { predicted: argmaxRows(probabilities, data.count), probabilities };
  }

  dispose(): void {
    this.session.dispose();
  }
}
