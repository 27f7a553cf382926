import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from '../../data/classes.ts';
import type { Activation, LayerSpec, ModelSpec } from '../spec.ts';
import { planLayers, type ExampleShape } from '../spec-shapes.ts';
import { GraphBuilder, type Padding, type Ref } from './graph.ts';
import { DT, type NodeDef } from './proto.ts';

/**
 * The whole training step of a model spec as one TensorFlow graph, so that native TensorFlow
 * runs a step as a single session call, with its graph optimisations (oneDNN kernels with
 * conv+bias+relu fused, max-pool workspaces, inter-op parallelism), instead of ~230 eager ops
 * each dispatched from JavaScript (4x faster; measurements in bench/README.md).
 *
 * It computes what the layers-API step computes (lib/model/train.ts TrainStepper): tfjs'
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
 * - init: initial weights (from the tfjs model, so seeds give the same start), zero moments;
 * - restore Adam: both moments and the running powers of beta in (after init, to resume from a
 *   checkpoint exactly: the powers are running products, not recomputable bit for bit);
 * - train step: example indices (and one uniform noise tensor per dropout layer) in; the
 *   batch's mean loss and count of correct predictions out; weights and Adam state updated;
 * - predict: example indices in, class probabilities out (inference: no dropout);
 * - weights: the current weights out;
 * - Adam state: both moments and the running powers of beta out (for a checkpoint).
 */

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

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
    /** float32, one per weight, in model.trainableWeights order. */
    initialWeights: string[];
    /** float32 [batch, ...], uniform [0, 1) noise, one per dropout layer with a rate above 0, in layer order. */
    noise: string[];
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
    /** float32 [batch, 10]. */
    probabilities: string;
    weights: string[];
    /** Runs the restore endpoint (feeds: `feeds.adam`). */
    restoreAdam: string;
    /** Adam's current state, in the same order as `feeds.adam`. */
    adam: AdamStateNames;
    /** For tests and diagnostics: the step's gradients (fetching them trains nothing) and its input batch, scaled. */
    gradients: string[];
    images: string;
  };
  /** Per dropout layer with noise: its index in spec.layers and the shape of one example's noise. */
  dropouts: { layer: number; shape: ExampleShape }[];
  /** Shapes of the weights, in order. */
  weightShapes: number[][];
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
}

export const DEFAULT_GRAPH_OPTIONS: Required<GraphOptions> = { adam: 'fused', windowsMaxChannels: 1, poolFirst: true };

/** Whether buildTrainGraph can express this spec (else train with the eager step). */
export function graphSupports(spec: ModelSpec): boolean {
  return spec.layers.every((layer) => layer.type !== 'batchNormalization');
}

/** Keras' backend epsilon, which tfjs' cross-entropy clips probabilities with. */
const CROSSENTROPY_EPSILON = 1e-7;

interface Trace {
  spec: LayerSpec;
  x: Ref;
  y: Ref;
  /** Before the activation: conv2d's and dense's z, max pooling's output (see forwardLayer). */
  pre?: Ref;
  kernel?: Ref;
  /** Variable indices of kernel and bias. */
  params?: LayerParams;
  /** Dropout multiplier. */
  multiplier?: Ref;
  /** Convolution input as a [k*k*channels, positions] matrix, when the kernel gradient is a matrix product. */
  windows?: Ref;
  /** The activation this layer applies: its own, 'linear' for a convolution whose pooling applies it, or that one for the pooling. */
  activation: Activation;
}

/** Variable indices of a layer's kernel and bias. */
type LayerParams = readonly [number, number];

export function buildTrainGraph(spec: ModelSpec, adam: AdamSettings, options: GraphOptions = {}): TrainGraph {
  const { adam: adamKind, windowsMaxChannels, poolFirst } = { ...DEFAULT_GRAPH_OPTIONS, ...options };
  if (!graphSupports(spec)) throw new UnsupportedLayerError('batchNormalization has no graph implementation; use the eager step');
  const plans = planLayers(spec);
  const g = new GraphBuilder();

  // ---- variables --------------------------------------------------------------------------
  const weightShapes: number[][] = [];
  const layerParams: (LayerParams | undefined)[] = [];
  let inputShape: ExampleShape = [IMAGE_HEIGHT, IMAGE_WIDTH, 1];
  spec.layers.forEach((layer, index) => {
    if (layer.type === 'conv2d' || layer.type === 'dense') {
      layerParams[index] = [weightShapes.length, weightShapes.length + 1];
      weightShapes.push(...(layer.type === 'conv2d'
        ? [[layer.kernelSize, layer.kernelSize, inputShape[2], layer.filters], [layer.filters]]
        : [[inputShape[0], layer.units], [layer.units]]));
    }
    inputShape = plans[index].outputShape;
  });
  const weights = weightShapes.map((shape, i) => g.variable(`w${i}`, DT.float, shape));
  const moments1 = weightShapes.map((shape, i) => g.variable(`adam_m${i}`, DT.float, shape));
  const moments2 = weightShapes.map((shape, i) => g.variable(`adam_v${i}`, DT.float, shape));
  const accBeta1 = g.variable('adam_acc_beta1', DT.float, []);
  const accBeta2 = g.variable('adam_acc_beta2', DT.float, []);
  const dataImages = g.variable('data_images', DT.uint8, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]);
  const dataLabels = g.variable('data_labels', DT.uint8, [-1]);
  const pixelScale = g.variable('pixel_scale', DT.float, []);

  // ---- load data and init -----------------------------------------------------------------
  const imagesFeed = g.placeholder('feed_images', DT.uint8, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]);
  const labelsFeed = g.placeholder('feed_labels', DT.uint8, [-1]);
  const loadData = g.identity(g.scalar(0), 'load_data_done', [
    g.assign(dataImages, imagesFeed, DT.uint8),
    g.assign(dataLabels, labelsFeed, DT.uint8),
  ]);

  const initialWeights = weightShapes.map((shape, i) => g.placeholder(`feed_w${i}`, DT.float, shape));
  const initAssigns = weights.flatMap((handle, i) => {
    const zeros = g.unary('ZerosLike', initialWeights[i]);
    return [g.assign(handle, initialWeights[i]), g.assign(moments1[i], zeros), g.assign(moments2[i], zeros)];
  });
  // tfjs' Adam starts its running powers of beta at beta (not 1).
  initAssigns.push(g.assign(accBeta1, g.scalar(adam.beta1)), g.assign(accBeta2, g.scalar(adam.beta2)), g.assign(pixelScale, g.scalar(255)));
  const init = g.identity(g.scalar(0), 'init_done', initAssigns);

  const adamFeeds: AdamStateNames = {
    moments1: weightShapes.map((shape, i) => g.placeholder(`feed_adam_m${i}`, DT.float, shape)),
    moments2: weightShapes.map((shape, i) => g.placeholder(`feed_adam_v${i}`, DT.float, shape)),
    beta1Power: g.placeholder('feed_adam_acc_beta1', DT.float, []),
    beta2Power: g.placeholder('feed_adam_acc_beta2', DT.float, []),
  };
  const restoreAdam = g.identity(g.scalar(0), 'restore_adam_done', [
    ...moments1.map((handle, i) => g.assign(handle, adamFeeds.moments1[i])),
    ...moments2.map((handle, i) => g.assign(handle, adamFeeds.moments2[i])),
    g.assign(accBeta1, adamFeeds.beta1Power),
    g.assign(accBeta2, adamFeeds.beta2Power),
  ]);

  // ---- a batch ----------------------------------------------------------------------------
  const indices = g.node('Placeholder', [], { dtype: { kind: 'type', value: DT.int32 }, shape: { kind: 'shape', value: [-1] } }, 'feed_indices');
  const pixels = g.cast(g.gather(g.read(dataImages, DT.uint8), indices, DT.uint8), DT.uint8, DT.float);
  // X / 255.0 as a float32 division (for every byte value the float64 division rounded once to
  // float32, as batches.ts scales). The divisor is a variable, not a constant: TensorFlow's graph
  // optimiser rewrites division by a constant into multiplication by its reciprocal, which is
  // off by one unit in the last place for about half the byte values.
  const images = g.div(pixels, g.read(pixelScale));
  const labels = g.cast(g.gather(g.read(dataLabels, DT.uint8), indices, DT.uint8), DT.uint8, DT.int32);

  // ---- forward, training mode -------------------------------------------------------------
  const reads = weights.map((handle) => g.read(handle));
  const noiseFeeds: string[] = [];
  const dropouts: TrainGraph['dropouts'] = [];
  const traces: Trace[] = [];
  let x = images;
  inputShape = [IMAGE_HEIGHT, IMAGE_WIDTH, 1];
  const activations = layerActivations(spec, poolFirst);
  spec.layers.forEach((layer, index) => {
    const params = layerParams[index];
    const trace: Trace = { spec: layer, x, y: x, activation: activations[index], params, kernel: params && reads[params[0]] };
    if (layer.type === 'conv2d' && inputShape[2] <= windowsMaxChannels) {
      trace.windows = windowMatrix(g, x, inputShape, plans[index].outputShape, layer.kernelSize, layer.strides ?? 1, padding(layer.padding));
    }
    const forward = forwardLayer(g, layer, plans[index].outputShape, x, params && [reads[params[0]], reads[params[1]]], trace.activation);
    trace.pre = forward.pre;
    trace.y = forward.y;
    if (layer.type === 'dropout' && layer.rate > 0) {
      // tf.dropout: x * floor(u + keepProb) / keepProb, u ~ U[0, 1) fed from tfjs' seeded generator.
      const noise = g.placeholder(`feed_noise${noiseFeeds.length}`, DT.float, [-1, ...inputShape]);
      noiseFeeds.push(noise);
      dropouts.push({ layer: index, shape: inputShape });
      const keep = 1 - layer.rate;
      trace.multiplier = g.div(g.unary('Floor', g.add(noise, g.scalar(keep))), g.scalar(keep));
      trace.y = g.mul(x, trace.multiplier);
    }
    traces.push(trace);
    x = trace.y;
    inputShape = plans[index].outputShape;
  });
  const probabilities = x;

  // ---- loss and accuracy, as tfjs' categoricalCrossentropy and categoricalAccuracy --------
  const targets = g.oneHot(labels, NUM_CLASSES);
  const sum = g.reduce('Sum', probabilities, [-1], true);
  const normalised = g.div(probabilities, sum);
  const low = g.scalar(CROSSENTROPY_EPSILON);
  const high = g.scalar(1 - CROSSENTROPY_EPSILON);
  const clipped = g.node('ClipByValue', [normalised, low, high], { T: { kind: 'type', value: DT.float } });
  const perExample = g.unary('Neg', g.reduce('Sum', g.mul(targets, g.unary('Log', clipped)), [-1], false));
  const loss = g.reduce('Mean', perExample, [0], false);
  const hits = g.compare('Equal', g.argMax(targets, -1), g.argMax(probabilities, -1), DT.int32);
  const correct = g.reduce('Sum', g.cast(hits, DT.bool, DT.float), [0], false);

  // ---- backward: the gradients tfjs' autodiff takes ---------------------------------------
  // d mean / d perExample = 1/n; through neg and the row sum; d (t * log c) / d c = t / c.
  const count = g.rows(probabilities);
  const dPerExample = g.unary('Neg', g.div(g.scalar(1), count));
  const dLog = g.mul(dPerExample, targets);
  const dClipped = g.div(dLog, clipped);
  const inRange = g.logicalAnd(g.compare('GreaterEqual', normalised, low), g.compare('LessEqual', normalised, high));
  const dNormalised = g.select(inRange, dClipped, g.unary('ZerosLike', dClipped));
  // normalised = p / sum: both paths into p.
  const dSum = g.unary('Neg', g.div(g.reduce('Sum', g.mul(dNormalised, probabilities), [-1], true), g.unary('Square', sum)));
  let dy = g.add(g.div(dNormalised, sum), dSum);

  const gradients: Ref[] = new Array(weights.length);
  const firstWithParams = traces.findIndex((trace) => trace.params !== undefined);
  for (let i = traces.length - 1; i >= firstWithParams && i >= 0; i--) {
    const trace = traces[i];
    const layer = trace.spec;
    const needInputGradient = i > firstWithParams;
    switch (layer.type) {
      case 'conv2d': {
        const [k, b] = trace.params!;
        const strides = layer.strides ?? 1;
        const dz = activationGradient(g, trace.activation, dy, trace.pre!, trace.y);
        gradients[b] = g.biasAddGrad(dz);
        gradients[k] =
          trace.windows !== undefined
            ? g.reshape(g.matMul(trace.windows, g.reshape(dz, g.ints([-1, layer.filters]))), g.ints(weightShapes[k]))
            : g.conv2dBackpropFilter(trace.x, weightShapes[k], dz, strides, padding(layer.padding));
        if (needInputGradient) dy = g.conv2dBackpropInput(g.shape(trace.x), trace.kernel!, dz, strides, padding(layer.padding));
        break;
      }
      case 'dense': {
        const dz = activationGradient(g, trace.activation, dy, trace.pre!, trace.y);
        const [k, b] = trace.params!;
        gradients[k] = g.matMul(trace.x, dz, true, false);
        gradients[b] = g.biasAddGrad(dz);
        if (needInputGradient) dy = g.matMul(dz, trace.kernel!, false, true);
        break;
      }
      case 'maxPool2d':
        if (needInputGradient) {
          const dPooled = activationGradient(g, trace.activation, dy, trace.pre!, trace.y);
          dy = g.maxPoolGrad(trace.x, trace.pre!, dPooled, layer.poolSize, layer.strides ?? layer.poolSize, padding(layer.padding));
        }
        break;
      case 'flatten':
        if (needInputGradient) dy = g.reshape(dy, g.shape(trace.x));
        break;
      case 'dropout':
        if (needInputGradient && trace.multiplier !== undefined) dy = g.mul(dy, trace.multiplier);
        break;
      case 'batchNormalization':
        throw new UnsupportedLayerError('batchNormalization');
    }
  }

  // ---- Adam, as tfjs' AdamOptimizer.applyGradients ----------------------------------------
  // tfjs: var -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon), with beta^t kept
  // as running products that start at beta. The fused kernel's form, lr sqrt(1 - beta2^t) /
  // (1 - beta1^t) * m / (sqrt(v) + epsilon'), is the same update when epsilon' = epsilon sqrt(1 - beta2^t).
  const beta1Power = g.read(accBeta1);
  const beta2Power = g.read(accBeta2);
  const updates: string[] = [];
  if (adamKind === 'fused') {
    const one = g.scalar(1);
    const epsilon = g.mul(g.scalar(adam.epsilon), g.unary('Sqrt', g.sub(one, beta2Power)));
    const [lr, beta1, beta2] = [g.scalar(adam.learningRate), g.scalar(adam.beta1), g.scalar(adam.beta2)];
    weights.forEach((handle, i) => {
      updates.push(g.applyAdam(handle, moments1[i], moments2[i], beta1Power, beta2Power, lr, beta1, beta2, epsilon, gradients[i]));
    });
  } else {
    const oneMinusAccBeta1 = g.sub(g.scalar(1), beta1Power);
    const oneMinusAccBeta2 = g.sub(g.scalar(1), beta2Power);
    weights.forEach((handle, i) => {
      const gradient = gradients[i];
      const m = g.add(g.mul(g.read(moments1[i]), g.scalar(adam.beta1)), g.mul(gradient, g.scalar(1 - adam.beta1)));
      const v = g.add(g.mul(g.read(moments2[i]), g.scalar(adam.beta2)), g.mul(g.unary('Square', gradient), g.scalar(1 - adam.beta2)));
      const mHat = g.div(m, oneMinusAccBeta1);
      const vHat = g.div(v, oneMinusAccBeta2);
      const step = g.mul(g.div(mHat, g.add(g.unary('Sqrt', vHat), g.scalar(adam.epsilon))), g.scalar(-adam.learningRate));
      updates.push(g.assign(moments1[i], m), g.assign(moments2[i], v), g.assign(handle, g.add(step, reads[i])));
    });
  }
  updates.push(g.assign(accBeta1, g.mul(beta1Power, g.scalar(adam.beta1))), g.assign(accBeta2, g.mul(beta2Power, g.scalar(adam.beta2))));
  const lossOut = g.identity(loss, 'train_loss', updates);
  const correctOut = g.identity(correct, 'train_correct', updates);

  // ---- predict: inference mode on freshly read weights ------------------------------------
  const predictReads = weights.map((handle) => g.read(handle));
  let p = images;
  spec.layers.forEach((layer, index) => {
    const params = layerParams[index];
    p = forwardLayer(g, layer, plans[index].outputShape, p, params && [predictReads[params[0]], predictReads[params[1]]], activations[index]).y;
  });
  const predicted = g.identity(p, 'predict_probabilities');
  const weightsOut = predictReads.map((read, i) => g.identity(read, `weights_out${i}`));
  const gradientsOut = gradients.map((gradient, i) => g.identity(gradient, `gradient_out${i}`));
  const imagesOut = g.identity(images, 'images_out');
  const adamOut: AdamStateNames = {
    moments1: moments1.map((handle, i) => g.identity(g.read(handle), `adam_m_out${i}`)),
    moments2: moments2.map((handle, i) => g.identity(g.read(handle), `adam_v_out${i}`)),
    beta1Power: g.identity(g.read(accBeta1), 'adam_acc_beta1_out'),
    beta2Power: g.identity(g.read(accBeta2), 'adam_acc_beta2_out'),
  };

  return {
    nodes: g.nodes,
    feeds: { images: imagesFeed, labels: labelsFeed, indices, initialWeights, noise: noiseFeeds, adam: adamFeeds },
    fetches: {
      loadData,
      init,
      loss: lossOut,
      correct: correctOut,
      probabilities: predicted,
      weights: weightsOut,
      restoreAdam,
      adam: adamOut,
      gradients: gradientsOut,
      images: imagesOut,
    },
    dropouts,
    weightShapes,
  };
}

/**
 * One layer's forward pass without dropout (the training pass adds it): `pre` is the value
 * before the activation (conv2d's and dense's z, max pooling's output), for the backward pass.
 */
function forwardLayer(
  g: GraphBuilder,
  layer: LayerSpec,
  outputShape: ExampleShape,
  x: Ref,
  weights: readonly [Ref, Ref] | undefined,
  activation: Activation,
): { pre?: Ref; y: Ref } {
  let pre: Ref;
  switch (layer.type) {
    case 'conv2d':
      pre = g.biasAdd(g.conv2d(x, weights![0], layer.strides ?? 1, padding(layer.padding)), weights![1]);
      break;
    case 'dense':
      pre = g.biasAdd(g.matMul(x, weights![0]), weights![1]);
      break;
    case 'maxPool2d':
      pre = g.maxPool(x, layer.poolSize, layer.strides ?? layer.poolSize, padding(layer.padding));
      break;
    case 'flatten':
      return { y: g.reshape(x, g.ints([-1, outputShape[0]])) };
    case 'dropout':
      return { y: x };
    case 'batchNormalization':
      throw new UnsupportedLayerError('batchNormalization');
  }
  return { pre, y: activate(g, activation, pre) };
}

/** Activations that commute exactly with max pooling: max(f(a), f(b)) = f(max(a, b)), bit for bit. */
const COMMUTES_WITH_MAX: readonly Activation[] = ['relu', 'relu6'];

/** The activation each layer applies, moving a convolution's to the max pooling right after it when allowed. */
function layerActivations(spec: ModelSpec, poolFirst: boolean): Activation[] {
  const activations = spec.layers.map((layer): Activation => (layer.type === 'conv2d' || layer.type === 'dense' ? layer.activation : 'linear'));
  spec.layers.forEach((layer, index) => {
    if (poolFirst && layer.type === 'conv2d' && COMMUTES_WITH_MAX.includes(layer.activation) && spec.layers[index + 1]?.type === 'maxPool2d') {
      activations[index + 1] = layer.activation;
      activations[index] = 'linear';
    }
  });
  return activations;
}

/**
 * A convolution's input windows as a [k*k*channels, positions] matrix (rows in the kernel's
 * (row, column, channel) order; positions in (example, row, column) order), built from k*k
 * strided slices: then the kernel gradient is one matrix product, far cheaper than
 * Conv2DBackpropFilter (or ExtractImagePatches) when there are few input channels.
 */
function windowMatrix(g: GraphBuilder, x: Ref, input: ExampleShape, output: ExampleShape, size: number, strides: number, mode: Padding): Ref {
  const [height, width, channels] = input;
  const [outHeight, outWidth] = output;
  let source = x;
  if (mode === 'SAME') {
    const pads = [[height, outHeight], [width, outWidth]].map(([inSize, outSize]) => {
      const total = Math.max((outSize - 1) * strides + size - inSize, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as const;
    });
    source = g.pad(x, [[0, 0], pads[0], pads[1], [0, 0]]);
  }
  const slices: Ref[] = [];
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      slices.push(g.sliceWindow(source, row, row + (outHeight - 1) * strides + 1, column, column + (outWidth - 1) * strides + 1, strides));
    }
  }
  const stacked = g.pack(slices);
  if (channels === 1) return g.reshape(stacked, g.ints([size * size, -1]));
  return g.reshape(g.transpose(g.reshape(stacked, g.ints([size * size, -1, channels])), [0, 2, 1]), g.ints([size * size * channels, -1]));
}

function padding(value: 'valid' | 'same' | undefined): Padding {
  return (value ?? 'valid') === 'same' ? 'SAME' : 'VALID';
}

const ACTIVATION_OPS: Record<Exclude<Activation, 'linear' | 'softmax'>, { forward: string; gradient: (dy: Ref, z: Ref, y: Ref) => [string, Ref, Ref] }> = {
  relu: { forward: 'Relu', gradient: (dy, _z, y) => ['ReluGrad', dy, y] },
  relu6: { forward: 'Relu6', gradient: (dy, z) => ['Relu6Grad', dy, z] },
  elu: { forward: 'Elu', gradient: (dy, _z, y) => ['EluGrad', dy, y] },
  selu: { forward: 'Selu', gradient: (dy, _z, y) => ['SeluGrad', dy, y] },
  sigmoid: { forward: 'Sigmoid', gradient: (dy, _z, y) => ['SigmoidGrad', y, dy] },
  tanh: { forward: 'Tanh', gradient: (dy, _z, y) => ['TanhGrad', y, dy] },
  softplus: { forward: 'Softplus', gradient: (dy, z) => ['SoftplusGrad', dy, z] },
};

function activate(g: GraphBuilder, activation: Activation, z: Ref): Ref {
  if (activation === 'linear') return z;
  if (activation === 'softmax') return g.unary('Softmax', z);
  return g.unary(ACTIVATION_OPS[activation].forward, z);
}

/** d loss / d z from d loss / d y, for y = activation(z). */
function activationGradient(g: GraphBuilder, activation: Activation, dy: Ref, z: Ref, y: Ref): Ref {
  if (activation === 'linear') return dy;
  if (activation === 'softmax') {
    // tfjs' Softmax gradient: dy*y - sum(dy*y, -1) * y
    const dyTimesY = g.mul(dy, y);
    return g.sub(dyTimesY, g.mul(g.reduce('Sum', dyTimesY, [-1], true), y));
  }
  const [op, a, b] = ACTIVATION_OPS[activation].gradient(dy, z, y);
  return g.grad(op, a, b);
}
