import { oneOf } from '../../validation.ts';
import type { GraphBuilder, Ref } from '../graph/graph.ts';

/** Activations a conv2d or dense layer may name (Keras' names). */
export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const activationSchema = oneOf(ACTIVATIONS);

/** Activations that commute exactly with max pooling: max(f(a), f(b)) = f(max(a, b)), bit for bit. */
export const COMMUTES_WITH_MAX: readonly Activation[] = ['relu', 'relu6'];

const ACTIVATION_OPS: Record<Exclude<Activation, 'linear' | 'softmax'>, { forward: string; gradient: (dy: Ref, z: Ref, y: Ref) => [string, Ref, Ref] }> = {
  relu: { forward: 'Relu', gradient: (dy, _z, y) => ['ReluGrad', dy, y] },
  relu6: { forward: 'Relu6', gradient: (dy, z) => ['Relu6Grad', dy, z] },
  elu: { forward: 'Elu', gradient: (dy, _z, y) => ['EluGrad', dy, y] },
  selu: { forward: 'Selu', gradient: (dy, _z, y) => ['SeluGrad', dy, y] },
  sigmoid: { forward: 'Sigmoid', gradient: (dy, _z, y) => ['SigmoidGrad', y, dy] },
  tanh: { forward: 'Tanh', gradient: (dy, _z, y) => ['TanhGrad', y, dy] },
  softplus: { forward: 'Softplus', gradient: (dy, z) => ['SoftplusGrad', dy, z] },
};

/** The graph's y = activation(z). */
export function activate(g: GraphBuilder, activation: Activation, z: Ref): Ref {
  if (activation === 'linear') return z;
  if (activation === 'softmax') return g.unary('Softmax', z);
  return g.unary(ACTIVATION_OPS[activation].forward, z);
}

/** d loss / d z from d loss / d y, for y = activation(z), as tfjs' gradients compute it. */
export function activationGradient(g: GraphBuilder, activation: Activation, dy: Ref, z: Ref, y: Ref): Ref {
  if (activation === 'linear') return dy;
  if (activation === 'softmax') {
    // tfjs' Softmax gradient: dy*y - sum(dy*y, -1) * y
    const dyTimesY = g.mul(dy, y);
    return g.sub(dyTimesY, g.mul(g.reduce('Sum', dyTimesY, [-1], true), y));
  }
  const [op, a, b] = ACTIVATION_OPS[activation].gradient(dy, z, y);
  return g.grad(op, a, b);
}
