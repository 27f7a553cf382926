import { IMAGE_HEIGHT, IMAGE_WIDTH } from '../../data/classes.ts';
import { COMMUTES_WITH_MAX, type Activation } from '../layers/activation.ts';
import { kindOf } from '../layers/index.ts';
import type { GraphPart, TrainingPass } from '../layers/layer.ts';
import { INPUT_SHAPE, planLayers, type ExampleShape, type LayerSpec, type ModelSpec } from '../spec.ts';
import type { Precision } from '../precision.ts';
import { adamUpdates, type AdamSettings, type AdamVariables } from './adam.ts';
import { GraphBuilder, type Ref } from './graph.ts';
import { crossEntropy } from './loss.ts';
import { DT, type NodeDef } from './proto.ts';

export type { AdamSettings } from './adam.ts';
export { graphSupports } from '../layers/index.ts';

/**
 * The whole training step of a model spec as one TensorFlow graph, so that native TensorFlow
 * runs a step as a single session call, with its graph optimisations (oneDNN kernels with
 * conv+bias+relu fused, max-pool workspaces, inter-op parallelism), instead of ~230 eager ops
 * each dispatched from JavaScript (4x faster; measurements in bench/README.md).
 *
 * It computes what the layers-API step computes (lib/model/eager-step.ts TrainStepper): tfjs'
 * forward pass in training mode with the same dropout masks, tfjs' Keras-style categorical
 * cross-entropy with its clipping, the gradients tfjs' autodiff takes, tfjs' Adam. Where
 * TensorFlow offers a cheaper route to the same numbers, it is taken (GraphOptions): Adam as
 * one fused kernel per variable (the same update, rearranged), the first convolution's kernel
 * gradient as a matrix product, activation after max pooling where the two commute exactly.
 * The results differ from the eager step's only by float rounding inside kernels
 * (test/model/graph.test.ts holds the two together).
 *
 * Endpoints (feed and fetch names, see TrainGraph):
 * - load data: the whole data set, uint8 pixels and labels, into variables, once;
 * - init: initial weights and moving statistics (from the tfjs model, so seeds give the same
 *   start), zero moments;
 * - restore Adam: both moments and the running powers of beta in (after init, to resume from a
 *   checkpoint exactly: the powers are running products, not recomputable bit for bit);
 * - train step: example indices, the learning rate (and one mask of multipliers per dropout layer) in; the
 *   batch's mean loss and count of correct predictions out; weights and Adam state updated;
 *   with chains (GraphOptions.chains), the batch runs as that many pieces side by side, and a
 *   second, one-piece train step takes batches with fewer rows than chains;
 * - predict: example indices in, class probabilities out (inference: no dropout);
 * - weights: the current weights out, and the layers' state (batch normalisation's moving
 *   statistics, updated by each train step);
 * - Adam state: both moments and the running powers of beta out (for a checkpoint).
 */

/** Names to feed and fetch through a session. */
export interface TrainGraph {
  nodes: NodeDef[];
  feeds: {
    /** uint8 [n, 28, 28, 1]. */
    images: string;
    /** uint8 [n]. */
    labels: string;
    /** int32 [batch]: rows of the loaded data. */
    indices: string;
    /** float32 scalar: the train step's learning rate (lib/model/learning-rate.ts). */
    learningRate: string;
    /** With horizontalFlip: float32 [batch], 1 mirrors the example left to right, 0 leaves it. */
    flips?: string;
    /** float32, one per weight, in model.trainableWeights order. */
    initialWeights: string[];
    /** float32, one per state variable (moving statistics), in model.nonTrainableWeights order. */
    initialState: string[];
    /** float32 [batch, ...], dropout multipliers (0 or 1 / keep: fillKeepMultipliers), one per dropout layer with a rate above 0, in layer order. */
    dropoutMasks: string[];
    /** The restore endpoint's: float32 moments shaped as the weights, and the two float32 scalar running powers of beta. */
    adam: AdamStateNames;
  };
  fetches: {
    loadData: string;
    init: string;
    /** Mean loss of the batch (float32 scalar); fetching it runs the whole step, updates included. */
    loss: string;
    /** Correct predictions in the batch (float32 scalar). */
    correct: string;
    /**
     * With chains: the same step in one piece, for a batch of fewer rows than `below` (the
     * chains), whose pieces would be empty.
     */
    single?: { loss: string; correct: string; gradients: string[]; below: number };
    /** float32 [batch, 10]. */
    probabilities: string;
    /** With chains: predict in one piece, for fewer rows than `below`. */
    predictSingle?: { probabilities: string; below: number };
    weights: string[];
    /** The state variables' current values, in model.nonTrainableWeights order. */
    state: string[];
    /** Runs the restore endpoint (feeds: `feeds.adam`). */
    restoreAdam: string;
    /** Adam's current state, in the same order as `feeds.adam`. */
    adam: AdamStateNames;
    /** For tests and diagnostics: the step's gradients (fetching them trains nothing) and its input batch, scaled. */
    gradients: string[];
    images: string;
  };
  /** Per dropout layer with a mask: its index in spec.layers and the shape of one example's mask. */
  dropouts: { layer: number; shape: ExampleShape }[];
  /** Shapes of the weights, in order. */
  weightShapes: number[][];
  /** Shapes of the state variables, in order. */
  stateShapes: number[][];
  /** The pieces a training batch runs in (GraphOptions.chains; 1 for a model with state). */
  chains: number;
}

/** Adam's state, as graph node names: first and second moments per weight, running powers of beta1 and beta2. */
export interface AdamStateNames {
  moments1: string[];
  moments2: string[];
  beta1Power: string;
  beta2Power: string;
}

/**
 * A model the graph step cannot build. Not a UserError: trainModel asks graphSupports first and
 * falls back to the eager step, so reaching this is a caller's bug.
 */
export class UnsupportedLayerError extends Error {
  override readonly name = 'UnsupportedLayerError';
}

/** Ways to compute the same step; the defaults are the fastest measured (bench/README.md). */
export interface GraphOptions {
  /** 'fused' (default): one ResourceApplyAdam kernel per variable; 'ops': tfjs' sequence of element-wise ops. */
  adam?: 'fused' | 'ops';
  /**
   * Convolutions with at most this many input channels (default 1: the image) compute their
   * kernel gradient as a matrix product of input windows (see windowMatrix); 0 turns it off.
   */
  windowsMaxChannels?: number;
  /**
   * A relu (or relu6) convolution followed by max pooling pools first and applies the activation
   * to the 4x smaller result (default true): the same values, since max and relu commute exactly,
   * and the same gradients, for a 4x smaller activation gradient.
   */
  poolFirst?: boolean;
  /**
   * Not a way to compute the same step but part of the step: mirror the examples a fed flag
   * [batch] marks (lib/model/augmentation.ts). Default false.
   */
  horizontalFlip?: boolean;
  /** Also part of the step: what the convolutions compute in (lib/model/precision.ts). Default float32. */
  precision?: Precision;
  /**
   * Cut each batch into this many consecutive pieces that run forward and backward side by side
   * (their weight gradients summed), so that independent kernels keep more cores busy than one
   * chain of small kernels does. The same step up to float summation order; only for models
   * without state (batch normalisation's statistics are the whole batch's). Default 1.
   */
  chains?: number;
}

export const DEFAULT_GRAPH_OPTIONS: Required<GraphOptions> = { adam: 'fused', windowsMaxChannels: 1, poolFirst: true, horizontalFlip: false, precision: 'float32', chains: 1 };

/** Where each layer's weights and state sit among the graph's variables, and the shapes around it. */
export interface Layout {
  layers: {
    spec: LayerSpec;
    graph: GraphPart<LayerSpec>;
    input: ExampleShape;
    output: ExampleShape;
    /** Its first weight's and first state variable's index, and how many of each. */
    weights: { from: number; count: number };
    state: { from: number; count: number };
  }[];
  weightShapes: number[][];
  stateShapes: number[][];
}

/** Whether `values` (weights, tensors) are exactly as many as `shapes` and each has its shape, in order. */
export function shapesMatch(values: readonly { shape: readonly (number | null)[] }[], shapes: readonly (readonly number[])[]): boolean {
  return values.length === shapes.length && values.every((value, i) => value.shape.length === shapes[i].length && value.shape.every((n, j) => n === shapes[i][j]));
}

export function layout(spec: ModelSpec): Layout {
  const plans = planLayers(spec);
  const weightShapes: number[][] = [];
  const stateShapes: number[][] = [];
  const layers = spec.layers.map((layer, index) => {
    const graph = kindOf(layer).graph;
    if (graph === undefined) throw new UnsupportedLayerError(`${layer.type} has no graph implementation; use the eager step`);
    const input = index === 0 ? INPUT_SHAPE : plans[index - 1].outputShape;
    const weights = graph.weights?.(layer, input) ?? [];
    const state = graph.state?.(layer, input) ?? [];
    const slots = { weights: { from: weightShapes.length, count: weights.length }, state: { from: stateShapes.length, count: state.length } };
    weightShapes.push(...weights);
    stateShapes.push(...state);
    return { spec: layer, graph, input, output: plans[index].outputShape, ...slots };
  });
  return { layers, weightShapes, stateShapes };
}

/** The graph's variables: weights, Adam's state, layer state, the loaded data. */
interface Variables extends AdamVariables {
  weights: Ref[];
  state: Ref[];
  dataImages: Ref;
  dataLabels: Ref;
  pixelScale: Ref;
}

export function buildTrainGraph(spec: ModelSpec, adam: AdamSettings, options: GraphOptions = {}): TrainGraph {
  const settings = { ...DEFAULT_GRAPH_OPTIONS, ...options };
  const plan = layout(spec);
  const { weightShapes, stateShapes } = plan;
  const g = new GraphBuilder();
  const vars: Variables = {
    weights: weightShapes.map((shape, i) => g.variable(`w${i}`, DT.float, shape)),
    moments1: weightShapes.map((shape, i) => g.variable(`adam_m${i}`, DT.float, shape)),
    moments2: weightShapes.map((shape, i) => g.variable(`adam_v${i}`, DT.float, shape)),
    accBeta1: g.variable('adam_acc_beta1', DT.float, []),
    accBeta2: g.variable('adam_acc_beta2', DT.float, []),
    dataImages: g.variable('data_images', DT.uint8, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]),
    dataLabels: g.variable('data_labels', DT.uint8, [-1]),
    pixelScale: g.variable('pixel_scale', DT.float, []),
    state: stateShapes.map((shape, i) => g.variable(`s${i}`, DT.float, shape)),
  };
  const load = loadEndpoint(g, vars);
  const init = initEndpoint(g, vars, plan, adam);
  const restore = restoreAdamEndpoint(g, vars, weightShapes);
  const chains = stateShapes.length === 0 ? settings.chains : 1;
  const batch = batchInput(g, vars, settings.horizontalFlip);
  const learningRate = g.placeholder('feed_learning_rate', DT.float, []);
  const masks = dropoutMasks(g);

  // ---- the step: forward in training mode, loss, backward, Adam --------------------------
  const reads = vars.weights.map((handle) => g.read(handle));
  const stateReads = vars.state.map((handle) => g.read(handle));
  const activations = layerActivations(plan, settings.poolFirst);
  const stepIn = (pieces: number, suffix: string) => {
    const cut = rowCutter(g, batch.indices, pieces);
    const maskPieces = new Map<number, Ref[]>();
    const maskPiece = (layer: number, shape: ExampleShape, chain: number): Ref => {
      if (!maskPieces.has(layer)) maskPieces.set(layer, cut(masks.feed(layer, shape)));
      return maskPieces.get(layer)![chain];
    };
    const forwards = cut(batch.images).map((images, chain) => trainingPass(g, plan, images, { weights: reads, state: stateReads }, activations, settings, (layer, shape) => maskPiece(layer, shape, chain)));
    const objective = crossEntropy(g, pieces > 1 ? g.concatRows(forwards.map((f) => f.probabilities)) : forwards[0].probabilities, batch.labels);
    const dPieces = cut(objective.gradient());
    const chainGradients = forwards.map((f, chain) => backwardPass(f.passes, dPieces[chain], weightShapes.length));
    const gradients = weightShapes.map((_, i) => g.addN(chainGradients.map((chain) => chain[i])));
    const updates = [
      ...adamUpdates(g, settings.adam, adam, learningRate, vars, { handles: vars.weights, reads, gradients }),
      // A model with state runs in one piece (chains is 1).
      ...forwards[0].stateUpdates.map((value, i) => g.assign(vars.state[i], value)),
    ];
    return {
      loss: g.identity(objective.loss, `train_loss${suffix}`, updates),
      correct: g.identity(objective.correct, `train_correct${suffix}`, updates),
      gradients: gradients.map((gradient, i) => g.identity(gradient, `gradient${suffix}_out${i}`)),
    };
  };
  const step = stepIn(chains, '');
  // A batch with fewer rows than chains (an epoch's last) would leave pieces empty, which some
  // of TensorFlow's kernels refuse: it runs in one piece, on the same variables.
  const single = chains > 1 ? { ...stepIn(1, '_single'), below: chains } : undefined;

  // ---- predict: inference mode on freshly read weights ------------------------------------
  const predictReads = vars.weights.map((handle) => g.read(handle));
  const predictStateReads = vars.state.map((handle) => g.read(handle));
  const predictIn = (pieces: number, name: string) =>
    g.identity(inferenceInChains(g, plan, batch.unaugmented, { weights: predictReads, state: predictStateReads }, activations, pieces), name);
  const predicted = predictIn(settings.chains, 'predict_probabilities');
  const predictedSingle = settings.chains > 1 ? { probabilities: predictIn(1, 'predict_probabilities_single'), below: settings.chains } : undefined;
  return {
    nodes: g.nodes,
    feeds: { images: load.images, labels: load.labels, indices: batch.indices, learningRate, ...(batch.flips && { flips: batch.flips }), ...init.feeds, dropoutMasks: masks.feeds, adam: restore.feeds },
    fetches: {
      loadData: load.done,
      init: init.done,
      loss: step.loss,
      correct: step.correct,
      ...(single && { single }),
      probabilities: predicted,
      ...(predictedSingle && { predictSingle: predictedSingle }),
      weights: predictReads.map((read, i) => g.identity(read, `weights_out${i}`)),
      restoreAdam: restore.done,
      gradients: step.gradients,
      images: g.identity(batch.images, 'images_out'),
      adam: {
        moments1: vars.moments1.map((handle, i) => g.identity(g.read(handle), `adam_m_out${i}`)),
        moments2: vars.moments2.map((handle, i) => g.identity(g.read(handle), `adam_v_out${i}`)),
        beta1Power: g.identity(g.read(vars.accBeta1), 'adam_acc_beta1_out'),
        beta2Power: g.identity(g.read(vars.accBeta2), 'adam_acc_beta2_out'),
      },
      state: predictStateReads.map((read, i) => g.identity(read, `state_out${i}`)),
    },
    dropouts: masks.dropouts,
    weightShapes,
    stateShapes,
    chains,
  };
}

/** Uploads the whole data set, uint8, into variables. */
function loadEndpoint(g: GraphBuilder, vars: Variables): { images: string; labels: string; done: string } {
  const images = g.placeholder('feed_images', DT.uint8, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]);
  const labels = g.placeholder('feed_labels', DT.uint8, [-1]);
  const done = g.identity(g.scalar(0), 'load_data_done', [g.assign(vars.dataImages, images, DT.uint8), g.assign(vars.dataLabels, labels, DT.uint8)]);
  return { images, labels, done };
}

/** Initial weights and state in, Adam's moments zeroed and its powers of beta started. */
function initEndpoint(g: GraphBuilder, vars: Variables, plan: Layout, adam: AdamSettings) {
  const initialWeights = plan.weightShapes.map((shape, i) => g.placeholder(`feed_w${i}`, DT.float, shape));
  const initialState = plan.stateShapes.map((shape, i) => g.placeholder(`feed_s${i}`, DT.float, shape));
  const assigns = vars.weights.flatMap((handle, i) => {
    const zeros = g.unary('ZerosLike', initialWeights[i]);
    return [g.assign(handle, initialWeights[i]), g.assign(vars.moments1[i], zeros), g.assign(vars.moments2[i], zeros)];
  });
  // tfjs' Adam starts its running powers of beta at beta (not 1).
  assigns.push(
    g.assign(vars.accBeta1, g.scalar(adam.beta1)),
    g.assign(vars.accBeta2, g.scalar(adam.beta2)),
    g.assign(vars.pixelScale, g.scalar(255)),
    ...vars.state.map((handle, i) => g.assign(handle, initialState[i])),
  );
  return { feeds: { initialWeights, initialState }, done: g.identity(g.scalar(0), 'init_done', assigns) };
}

/** Adam's moments and running powers of beta in (after init), to resume from a checkpoint exactly. */
function restoreAdamEndpoint(g: GraphBuilder, vars: Variables, weightShapes: number[][]): { feeds: AdamStateNames; done: string } {
  const feeds: AdamStateNames = {
    moments1: weightShapes.map((shape, i) => g.placeholder(`feed_adam_m${i}`, DT.float, shape)),
    moments2: weightShapes.map((shape, i) => g.placeholder(`feed_adam_v${i}`, DT.float, shape)),
    beta1Power: g.placeholder('feed_adam_acc_beta1', DT.float, []),
    beta2Power: g.placeholder('feed_adam_acc_beta2', DT.float, []),
  };
  const done = g.identity(g.scalar(0), 'restore_adam_done', [
    ...vars.moments1.map((handle, i) => g.assign(handle, feeds.moments1[i])),
    ...vars.moments2.map((handle, i) => g.assign(handle, feeds.moments2[i])),
    g.assign(vars.accBeta1, feeds.beta1Power),
    g.assign(vars.accBeta2, feeds.beta2Power),
  ]);
  return { feeds, done };
}

/** The batch: example indices in; scaled images (augmented for training, as they are for predict) and labels gathered from the loaded data. */
function batchInput(g: GraphBuilder, vars: Variables, horizontalFlip: boolean): { indices: Ref; images: Ref; unaugmented: Ref; labels: Ref; flips?: string } {
  const indices = g.node('Placeholder', [], { dtype: { kind: 'type', value: DT.int32 }, shape: { kind: 'shape', value: [-1] } }, 'feed_indices');
  const pixels = g.cast(g.gather(g.read(vars.dataImages, DT.uint8), indices, DT.uint8), DT.uint8, DT.float);
  // X / 255.0 as a float32 division (for every byte value the float64 division rounded once to
  // float32, as batches.ts scales). The divisor is a variable, not a constant: TensorFlow's graph
  // optimiser rewrites division by a constant into multiplication by its reciprocal, which is
  // off by one unit in the last place for about half the byte values.
  const scaled = g.div(pixels, g.read(vars.pixelScale));
  const labels = g.cast(g.gather(g.read(vars.dataLabels, DT.uint8), indices, DT.uint8), DT.uint8, DT.int32);
  if (!horizontalFlip) return { indices, images: scaled, unaugmented: scaled, labels };
  // x * (1 - f) + reverse(x) * f, f in {0, 1} per example: exact, and the eager step's formula (eager-step.ts mirrored).
  const flips = g.placeholder('feed_flips', DT.float, [-1]);
  const f = g.reshape(flips, g.ints([-1, 1, 1, 1]));
  const reversed = g.node('ReverseV2', [scaled, g.ints([2])], { T: { kind: 'type', value: DT.float }, Tidx: { kind: 'type', value: DT.int32 } }, 'ReverseV2');
  const images = g.add(g.mul(scaled, g.sub(g.scalar(1), f)), g.mul(reversed, f));
  return { indices, images, unaugmented: scaled, labels, flips };
}

/** Cuts a tensor with the batch's rows into `pieces` consecutive pieces (one: itself), sized as `rows` (a tensor of the batch's rows) is cut. */
function rowCutter(g: GraphBuilder, rows: Ref, pieces: number): (x: Ref) => Ref[] {
  if (pieces <= 1) return (x) => [x];
  const sizes = g.splitSizes(rows, pieces, DT.int32);
  return (x) => g.splitRows(x, sizes, pieces);
}

/** The fed dropout masks: one placeholder per dropout layer with a rate, the whole batch's, made when a pass first asks. */
function dropoutMasks(g: GraphBuilder) {
  const feeds: string[] = [];
  const dropouts: TrainGraph['dropouts'] = [];
  const byLayer = new Map<number, Ref>();
  const feed = (layer: number, shape: ExampleShape): Ref => {
    let placeholder = byLayer.get(layer);
    if (placeholder === undefined) {
      dropouts.push({ layer, shape });
      placeholder = g.placeholder(`feed_mask${feeds.length}`, DT.float, [-1, ...shape]);
      feeds.push(placeholder);
      byLayer.set(layer, placeholder);
    }
    return placeholder;
  };
  return { feeds, dropouts, feed };
}

/** The activation each layer applies, moving one that commutes with max to the max pooling right after it when allowed. */
export function layerActivations(plan: Layout, poolFirst: boolean): Activation[] {
  const activations = plan.layers.map(({ spec, graph }): Activation => graph.activation?.(spec) ?? 'linear');
  plan.layers.forEach(({ graph }, index) => {
    const next = plan.layers[index + 1]?.graph;
    if (poolFirst && graph.activation !== undefined && COMMUTES_WITH_MAX.includes(activations[index]) && next?.takesMaxCommutingActivation) {
      activations[index + 1] = activations[index];
      activations[index] = 'linear';
    }
  });
  return activations;
}

export type Reads = { weights: Ref[]; state: Ref[] };

function slice(refs: Ref[], slot: { from: number; count: number }): Ref[] {
  return refs.slice(slot.from, slot.from + slot.count);
}

/** Forward in training mode, layer by layer, keeping what each backward pass needs. */
function trainingPass(
  g: GraphBuilder,
  plan: Layout,
  images: Ref,
  reads: Reads,
  activations: Activation[],
  { windowsMaxChannels, precision }: Required<GraphOptions>,
  dropoutMask: (layer: number, shape: ExampleShape) => Ref,
) {
  const stateUpdates: Ref[] = [];
  const passes: { pass: TrainingPass; weights: { from: number; count: number } }[] = [];
  let x = images;
  plan.layers.forEach((layer, index) => {
    const pass = layer.graph.train(layer.spec, {
      g,
      x,
      input: layer.input,
      output: layer.output,
      weights: slice(reads.weights, layer.weights),
      state: slice(reads.state, layer.state),
      activation: activations[index],
      windowsMaxChannels,
      precision,
      dropoutMask: (shape) => dropoutMask(index, shape),
      updateState: (values) => {
        if (values.length !== layer.state.count) throw new Error(`layer ${index} updates ${values.length} state variables of ${layer.state.count}`);
        stateUpdates.push(...values);
      },
    });
    passes.push({ pass, weights: layer.weights });
    x = pass.y;
  });
  return { probabilities: x, passes, stateUpdates };
}

/** d loss / d every weight, layer by layer from the top, stopping at the first layer with weights. */
function backwardPass(passes: { pass: TrainingPass; weights: { from: number; count: number } }[], dProbabilities: Ref, weightCount: number): Ref[] {
  const gradients: Ref[] = new Array(weightCount);
  const firstWithWeights = passes.findIndex(({ weights }) => weights.count > 0);
  let dy = dProbabilities;
  for (let i = passes.length - 1; i >= firstWithWeights && i >= 0; i--) {
    const { pass, weights } = passes[i];
    const result = pass.backward(dy, i > firstWithWeights);
    (result.gradients ?? []).forEach((gradient, j) => (gradients[weights.from + j] = gradient));
    if (result.dx !== undefined) dy = result.dx;
  }
  return gradients;
}

/**
 * Forward in inference mode on `chains` consecutive pieces of the rows side by side (each row's
 * result is its own: inference has no batch statistics), joined again.
 */
export function inferenceInChains(g: GraphBuilder, plan: Layout, images: Ref, reads: Reads, activations: Activation[], chains: number): Ref {
  if (chains <= 1) return inferencePass(g, plan, images, reads, activations);
  const pieces = g.splitRows(images, g.splitSizes(images, chains), chains);
  return g.concatRows(pieces.map((piece) => inferencePass(g, plan, piece, reads, activations)));
}

/** Forward in inference mode (no dropout, moving statistics). */
export function inferencePass(g: GraphBuilder, plan: Layout, images: Ref, reads: Reads, activations: Activation[]): Ref {
  let x = images;
  plan.layers.forEach((layer, index) => {
    x = layer.graph.infer(layer.spec, {
      g,
      x,
      input: layer.input,
      output: layer.output,
      weights: slice(reads.weights, layer.weights),
      state: slice(reads.state, layer.state),
      activation: activations[index],
      windowsMaxChannels: 0,
      precision: 'float32',
    });
  });
  return x;
}
