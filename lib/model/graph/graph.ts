import type { Precision } from '../precision.ts';
import { DT, type AttrValue, type DataType, type NodeDef, type Shape } from './proto.ts';

/** A tensor in the graph: "node" (output 0) or "node:k". */
export type Ref = string;

const attr = {
  type: (value: DataType): AttrValue => ({ kind: 'type', value }),
  shape: (value: Shape): AttrValue => ({ kind: 'shape', value }),
  int: (value: number): AttrValue => ({ kind: 'i', value }),
  bool: (value: boolean): AttrValue => ({ kind: 'b', value }),
  string: (value: string): AttrValue => ({ kind: 's', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
};

const FLOAT = attr.type(DT.float);

export type Padding = 'VALID' | 'SAME';

/**
 * Builds a TensorFlow GraphDef op by op, with the attributes TensorFlow's kernels need spelt
 * out (defaults included, so nothing depends on the reader filling them in). Names are unique:
 * a requested name that is taken gets a numeric suffix.
 */
export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  private readonly taken = new Map<string, number>();

  /** Adds a node and returns its name (which is also a Ref to its first output). */
  node(op: string, inputs: readonly Ref[], attrs: Record<string, AttrValue> = {}, name: string = op, control: readonly string[] = []): string {
    const unique = this.uniqueName(name);
    this.nodes.push({ name: unique, op, inputs: [...inputs, ...control.map((dep) => `^${nodeOf(dep)}`)], attrs });
    return unique;
  }

  private uniqueName(name: string): string {
    const count = this.taken.get(name);
    if (count === undefined) {
      this.taken.set(name, 1);
      return name;
    }
    this.taken.set(name, count + 1);
    return this.uniqueName(`${name}_${count}`);
  }

  // ---- sources ----------------------------------------------------------------------------

  placeholder(name: string, dtype: DataType, shape: Shape): Ref {
    return this.node('Placeholder', [], { dtype: attr.type(dtype), shape: attr.shape(shape) }, name);
  }

  /** A float32 scalar constant, rounded from a JS number as tfjs rounds its scalars. */
  scalar(value: number, control: readonly string[] = []): Ref {
    const content = new Uint8Array(new Float32Array([value]).buffer);
    return this.node('Const', [], { dtype: FLOAT, value: { kind: 'tensor', value: { dtype: DT.float, shape: [], content } } }, 'scalar', control);
  }

  /** A float32 constant of any shape (values in row-major order). */
  floats(values: Float32Array, shape: readonly number[], name = 'floats'): Ref {
    const content = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this.node('Const', [], { dtype: FLOAT, value: { kind: 'tensor', value: { dtype: DT.float, shape, content } } }, name);
  }

  /** An int32 constant vector. */
  ints(values: readonly number[]): Ref {
    return this.intConstant(values, [values.length], 'ints');
  }

  intScalar(value: number): Ref {
    return this.intConstant([value], [], 'int');
  }

  private intConstant(values: readonly number[], shape: readonly number[], name: string): Ref {
    const content = new Uint8Array(Int32Array.from(values).buffer);
    return this.node('Const', [], { dtype: attr.type(DT.int32), value: { kind: 'tensor', value: { dtype: DT.int32, shape, content } } }, name);
  }

  // ---- resource variables -----------------------------------------------------------------

  variable(name: string, dtype: DataType, shape: Shape): Ref {
    return this.node(
      'VarHandleOp',
      [],
      {
        dtype: attr.type(dtype),
        shape: attr.shape(shape),
        shared_name: attr.string(name),
        container: attr.string(''),
        allowed_devices: { kind: 'strings', value: [] },
      },
      name,
    );
  }

  read(handle: Ref, dtype: DataType = DT.float): Ref {
    return this.node('ReadVariableOp', [handle], { dtype: attr.type(dtype) }, `${nodeOf(handle)}/read`);
  }

  assign(handle: Ref, value: Ref, dtype: DataType = DT.float): string {
    return this.node('AssignVariableOp', [handle, value], { dtype: attr.type(dtype), validate_shape: attr.bool(false) }, `${nodeOf(handle)}/assign`);
  }

  // ---- element-wise (float32) -------------------------------------------------------------

  unary(op: string, x: Ref): Ref {
    return this.node(op, [x], { T: FLOAT });
  }

  private binary(op: 'AddV2' | 'Sub' | 'Mul' | 'RealDiv', a: Ref, b: Ref): Ref {
    return this.node(op, [a, b], { T: FLOAT });
  }

  add(a: Ref, b: Ref): Ref {
    return this.binary('AddV2', a, b);
  }

  sub(a: Ref, b: Ref): Ref {
    return this.binary('Sub', a, b);
  }

  mul(a: Ref, b: Ref): Ref {
    return this.binary('Mul', a, b);
  }

  div(a: Ref, b: Ref): Ref {
    return this.binary('RealDiv', a, b);
  }

  /** An activation's gradient op, e.g. ReluGrad(gradients, features). */
  grad(op: string, a: Ref, b: Ref): Ref {
    return this.node(op, [a, b], { T: FLOAT });
  }

  compare(op: 'GreaterEqual' | 'LessEqual' | 'Equal', a: Ref, b: Ref, dtype: DataType = DT.float): Ref {
    const attrs: Record<string, AttrValue> = { T: attr.type(dtype) };
    if (op === 'Equal') attrs.incompatible_shape_error = attr.bool(true);
    return this.node(op, [a, b], attrs);
  }

  logicalAnd(a: Ref, b: Ref): Ref {
    return this.node('LogicalAnd', [a, b]);
  }

  select(condition: Ref, a: Ref, b: Ref): Ref {
    return this.node('SelectV2', [condition, a, b], { T: FLOAT });
  }

  cast(x: Ref, from: DataType, to: DataType): Ref {
    return this.node('Cast', [x], { SrcT: attr.type(from), DstT: attr.type(to), Truncate: attr.bool(false) });
  }

  identity(x: Ref, name: string, control: readonly string[] = []): Ref {
    return this.node('Identity', [x], { T: FLOAT }, name, control);
  }

  // ---- reductions and shapes --------------------------------------------------------------

  reduce(op: 'Sum' | 'Mean', x: Ref, axes: readonly number[], keepDims: boolean): Ref {
    return this.node(op, [x, this.ints(axes)], { T: FLOAT, Tidx: attr.type(DT.int32), keep_dims: attr.bool(keepDims) });
  }

  argMax(x: Ref, axis: number): Ref {
    return this.node('ArgMax', [x, this.intScalar(axis)], { T: FLOAT, Tidx: attr.type(DT.int32), output_type: attr.type(DT.int32) });
  }

  shape(x: Ref, dtype: DataType = DT.float): Ref {
    return this.node('Shape', [x], { T: attr.type(dtype), out_type: attr.type(DT.int32) });
  }

  /** Number of rows (the batch) of `x`, as a float32 scalar. */
  rows(x: Ref): Ref {
    return this.cast(this.rowCount(x), DT.int32, DT.float);
  }

  /** Number of rows of `x`, as an int32 scalar. */
  rowCount(x: Ref, dtype: DataType = DT.float): Ref {
    return this.node('StridedSlice', [this.shape(x, dtype), this.ints([0]), this.ints([1]), this.ints([1])], {
      T: attr.type(DT.int32),
      Index: attr.type(DT.int32),
      begin_mask: attr.int(0),
      end_mask: attr.int(0),
      ellipsis_mask: attr.int(0),
      new_axis_mask: attr.int(0),
      shrink_axis_mask: attr.int(1),
    });
  }

  /**
   * `x` cut along its first axis into `parts` consecutive pieces, the first ones floor(rows /
   * parts) rows each and the last the rest (`sizes`: an int32 vector from splitSizes).
   */
  splitRows(x: Ref, sizes: Ref, parts: number, dtype: DataType = DT.float): Ref[] {
    const split = this.node('SplitV', [x, sizes, this.intScalar(0)], { T: attr.type(dtype), Tlen: attr.type(DT.int32), num_split: attr.int(parts) });
    return Array.from({ length: parts }, (_, i) => `${split}:${i}`);
  }

  /** The sizes splitRows cuts the rows of `x` into: floor(rows / parts) each, -1 (the rest) last. */
  splitSizes(x: Ref, parts: number, dtype: DataType = DT.float): Ref {
    const each = this.node('FloorDiv', [this.rowCount(x, dtype), this.intScalar(parts)], { T: attr.type(DT.int32) });
    const sizes = [...Array.from({ length: parts - 1 }, () => each), this.intScalar(-1)];
    return this.node('Pack', sizes, { T: attr.type(DT.int32), N: attr.int(parts), axis: attr.int(0) });
  }

  /** The pieces of splitRows joined again along the first axis. */
  concatRows(parts: readonly Ref[]): Ref {
    return this.node('ConcatV2', [...parts, this.intScalar(0)], { T: FLOAT, N: attr.int(parts.length), Tidx: attr.type(DT.int32) });
  }

  /** The element-wise sum of same-shaped tensors. */
  addN(values: readonly Ref[]): Ref {
    return values.length === 1 ? values[0] : this.node('AddN', values, { T: FLOAT, N: attr.int(values.length) });
  }

  reshape(x: Ref, shape: Ref): Ref {
    return this.node('Reshape', [x, shape], { T: FLOAT, Tshape: attr.type(DT.int32) });
  }

  gather(params: Ref, indices: Ref, dtype: DataType): Ref {
    return this.node('GatherV2', [params, indices, this.intScalar(0)], {
      Tparams: attr.type(dtype),
      Tindices: attr.type(DT.int32),
      Taxis: attr.type(DT.int32),
      batch_dims: attr.int(0),
    });
  }

  oneHot(indices: Ref, depth: number): Ref {
    return this.node('OneHot', [indices, this.intScalar(depth), this.scalar(1), this.scalar(0)], {
      T: FLOAT,
      TI: attr.type(DT.int32),
      axis: attr.int(-1),
    });
  }

  // ---- neural-network ops (NHWC) ----------------------------------------------------------

  // The convolutions take float32 operands and return float32; with precision 'bfloat16' they
  // compute in bfloat16 between two casts (lib/model/precision.ts).

  conv2d(x: Ref, kernel: Ref, strides: number, padding: Padding, precision: Precision = 'float32'): Ref {
    return this.inPrecision(precision, [x, kernel], (T, [a, b]) => this.node('Conv2D', [a, b], { T, ...convAttrs(strides, padding) }));
  }

  conv2dBackpropInput(inputShape: Ref, kernel: Ref, dy: Ref, strides: number, padding: Padding, precision: Precision = 'float32'): Ref {
    return this.inPrecision(precision, [kernel, dy], (T, [k, d]) => this.node('Conv2DBackpropInput', [inputShape, k, d], { T, ...convAttrs(strides, padding) }));
  }

  conv2dBackpropFilter(x: Ref, kernelShape: readonly number[], dy: Ref, strides: number, padding: Padding, precision: Precision = 'float32'): Ref {
    return this.inPrecision(precision, [x, dy], (T, [a, d]) => this.node('Conv2DBackpropFilter', [a, this.ints(kernelShape), d], { T, ...convAttrs(strides, padding) }));
  }

  private inPrecision(precision: Precision, operands: Ref[], op: (T: AttrValue, operands: Ref[]) => Ref): Ref {
    if (precision === 'float32') return op(FLOAT, operands);
    const narrowed = operands.map((operand) => this.cast(operand, DT.float, DT.bfloat16));
    return this.cast(op(attr.type(DT.bfloat16), narrowed), DT.bfloat16, DT.float);
  }

  biasAdd(x: Ref, bias: Ref): Ref {
    return this.node('BiasAdd', [x, bias], { T: FLOAT, data_format: attr.string('NHWC') });
  }

  biasAddGrad(dy: Ref): Ref {
    return this.node('BiasAddGrad', [dy], { T: FLOAT, data_format: attr.string('NHWC') });
  }

  matMul(a: Ref, b: Ref, transposeA = false, transposeB = false): Ref {
    return this.node('MatMul', [a, b], {
      T: FLOAT,
      transpose_a: attr.bool(transposeA),
      transpose_b: attr.bool(transposeB),
      grad_a: attr.bool(false),
      grad_b: attr.bool(false),
    });
  }

  /** x[begin[0]:begin[0]+size[0], ...]; a size of -1 takes the rest of that axis. */
  slice(x: Ref, begin: readonly number[], size: readonly number[]): Ref {
    return this.node('Slice', [x, this.ints(begin), this.ints(size)], { T: FLOAT, Index: attr.type(DT.int32) });
  }

  /**
   * Adam's update of one variable in one kernel:
   *   m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
   *   var -= lr sqrt(1 - beta2Power) / (1 - beta1Power) * m / (sqrt(v) + epsilon)
   */
  applyAdam(variable: Ref, m: Ref, v: Ref, beta1Power: Ref, beta2Power: Ref, lr: Ref, beta1: Ref, beta2: Ref, epsilon: Ref, gradient: Ref): string {
    return this.node('ResourceApplyAdam', [variable, m, v, beta1Power, beta2Power, lr, beta1, beta2, epsilon, gradient], {
      T: FLOAT,
      use_locking: attr.bool(false),
      use_nesterov: attr.bool(false),
    }, `${nodeOf(variable)}/apply_adam`);
  }

  maxPool(x: Ref, size: number, strides: number, padding: Padding): Ref {
    return this.node('MaxPool', [x], { T: FLOAT, ...poolAttrs(size, strides, padding) });
  }

  maxPoolGrad(x: Ref, y: Ref, dy: Ref, size: number, strides: number, padding: Padding): Ref {
    return this.node('MaxPoolGrad', [x, y, dy], { T: FLOAT, ...poolAttrs(size, strides, padding) });
  }
}

function convAttrs(strides: number, padding: Padding): Record<string, AttrValue> {
  return {
    strides: attr.ints([1, strides, strides, 1]),
    padding: attr.string(padding),
    explicit_paddings: attr.ints([]),
    data_format: attr.string('NHWC'),
    dilations: attr.ints([1, 1, 1, 1]),
    use_cudnn_on_gpu: attr.bool(true),
  };
}

function poolAttrs(size: number, strides: number, padding: Padding): Record<string, AttrValue> {
  return {
    ksize: attr.ints([1, size, size, 1]),
    strides: attr.ints([1, strides, strides, 1]),
    padding: attr.string(padding),
    data_format: attr.string('NHWC'),
    explicit_paddings: attr.ints([]),
  };
}

/** The node a Ref belongs to. */
export function nodeOf(ref: Ref): string {
  const colon = ref.lastIndexOf(':');
  return colon < 0 ? ref : ref.slice(0, colon);
}
