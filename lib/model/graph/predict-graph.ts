import { IMAGE_HEIGHT, IMAGE_WIDTH } from '../../data/classes.ts';
import type { ModelSpec } from '../spec.ts';
import { GraphBuilder, type Ref } from './graph.ts';
import { DT, type NodeDef } from './proto.ts';
import { DEFAULT_GRAPH_OPTIONS, inferenceInChains, layerActivations, layout } from './train-graph.ts';

/**
 * The inference endpoint of a trained model as its own TensorFlow graph, for the evaluate step:
 * uint8 images in, class probabilities out, in one session call per batch instead of tfjs
 * dispatching each layer's ops from JavaScript. It is the training graph's predict endpoint
 * (train-graph.ts inferencePass, each layer's `infer` part: dropout off, batch normalisation
 * with its moving statistics) with the weights baked in as constants, so nothing needs loading
 * into variables and TensorFlow's optimiser may fold what depends on weights alone.
 */
export interface PredictGraph {
  nodes: NodeDef[];
  feeds: {
    /** uint8 [n, 28, 28, 1]: raw pixels. */
    images: string;
    /** float32 scalar: 255, fed (see buildPredictGraph). */
    pixelScale: string;
  };
  fetches: {
    /** float32 [n, 10]. */
    probabilities: string;
    /** With chains: the same in one piece, for a call of fewer rows than `below` (the chains), whose pieces would be empty. */
    single?: { probabilities: string; below: number };
  };
}

/** The values the graph bakes in, in tfjs order (model.trainableWeights, model.nonTrainableWeights). */
export interface TrainedValues {
  weights: readonly Float32Array[];
  state: readonly Float32Array[];
}

/** Shapes of a spec's weights and state, in tfjs order: what `buildPredictGraph` expects. */
export function valueShapes(spec: ModelSpec): { weightShapes: number[][]; stateShapes: number[][] } {
  const { weightShapes, stateShapes } = layout(spec);
  return { weightShapes, stateShapes };
}

/**
 * @param chains pieces each call's rows run in side by side (lib/model/graph/chains.ts)
 * @throws UnsupportedLayerError when a layer has no graph part (ask graphSupports first)
 * @throws RangeError when the values do not fit the spec's shapes
 */
export function buildPredictGraph(spec: ModelSpec, values: TrainedValues, chains = 1): PredictGraph {
  const plan = layout(spec);
  checkValues('weights', values.weights, plan.weightShapes);
  checkValues('state', values.state, plan.stateShapes);
  const g = new GraphBuilder();
  const images = g.placeholder('feed_images', DT.uint8, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]);
  // X / 255.0 as the training graph and batches.ts scale (float32 division, one rounding). The
  // divisor is fed, not a constant: TensorFlow's optimiser turns division by a constant into
  // multiplication by its reciprocal, off by one unit in the last place for half the bytes.
  const pixelScale = g.placeholder('feed_pixel_scale', DT.float, []);
  const scaled = g.div(g.cast(images, DT.uint8, DT.float), pixelScale);
  const constants = (list: readonly Float32Array[], shapes: number[][], prefix: string) =>
    list.map((data, i) => floatConstant(g, data, shapes[i], `${prefix}${i}`));
  const reads = { weights: constants(values.weights, plan.weightShapes, 'w'), state: constants(values.state, plan.stateShapes, 's') };
  const activations = layerActivations(plan, DEFAULT_GRAPH_OPTIONS.poolFirst);
  const probabilities = g.identity(inferenceInChains(g, plan, scaled, reads, activations, chains), 'predict_probabilities');
  const single = chains > 1 ? { probabilities: g.identity(inferenceInChains(g, plan, scaled, reads, activations, 1), 'predict_probabilities_single'), below: chains } : undefined;
  return { nodes: g.nodes, feeds: { images, pixelScale }, fetches: { probabilities, ...(single && { single }) } };
}

function checkValues(what: string, values: readonly Float32Array[], shapes: number[][]): void {
  if (values.length !== shapes.length) throw new RangeError(`the spec has ${shapes.length} ${what} tensors, got ${values.length}`);
  shapes.forEach((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values[i].length !== size) throw new RangeError(`${what}[${i}] should hold ${size} values ([${shape.join(', ')}]), got ${values[i].length}`);
  });
}

/** A float32 constant tensor (little-endian bytes, as TensorProto.tensor_content holds them). */
function floatConstant(g: GraphBuilder, values: Float32Array, shape: readonly number[], name: string): Ref {
  const content = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return g.node('Const', [], { dtype: { kind: 'type', value: DT.float }, value: { kind: 'tensor', value: { dtype: DT.float, shape, content } } }, name);
}
