import type { GraphBuilder, Ref } from './graph.ts';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam's variables in the graph: moments per weight, running powers of beta1 and beta2. */
export interface AdamVariables {
  moments1: Ref[];
  moments2: Ref[];
  accBeta1: Ref;
  accBeta2: Ref;
}

/**
 * Adam's updates, as tfjs' AdamOptimizer.applyGradients computes them, and the running powers'
 * update; returns the assign nodes the step must run.
 *
 * tfjs: var -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon), with beta^t kept
 * as running products that start at beta. 'fused' (one ResourceApplyAdam kernel per variable)
 * computes lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon'): the same update when
 * epsilon' = epsilon sqrt(1 - beta2^t). 'ops' is tfjs' sequence of element-wise ops.
 */
export function adamUpdates(
  g: GraphBuilder,
  kind: 'fused' | 'ops',
  adam: AdamSettings,
  /** float32 scalar: the step's learning rate (fed, so that a schedule can move it). */
  learningRate: Ref,
  state: AdamVariables,
  weights: { handles: Ref[]; reads: Ref[]; gradients: Ref[] },
): string[] {
  const { moments1, moments2, accBeta1, accBeta2 } = state;
  const beta1Power = g.read(accBeta1);
  const beta2Power = g.read(accBeta2);
  const updates: string[] = [];
  if (kind === 'fused') {
    const one = g.scalar(1);
    const epsilon = g.mul(g.scalar(adam.epsilon), g.unary('Sqrt', g.sub(one, beta2Power)));
    const [beta1, beta2] = [g.scalar(adam.beta1), g.scalar(adam.beta2)];
    weights.handles.forEach((handle, i) => {
      updates.push(g.applyAdam(handle, moments1[i], moments2[i], beta1Power, beta2Power, learningRate, beta1, beta2, epsilon, weights.gradients[i]));
    });
  } else {
    const oneMinusAccBeta1 = g.sub(g.scalar(1), beta1Power);
    const oneMinusAccBeta2 = g.sub(g.scalar(1), beta2Power);
    const minusLearningRate = g.unary('Neg', learningRate);
    weights.handles.forEach((handle, i) => {
      const gradient = weights.gradients[i];
      const m = g.add(g.mul(g.read(moments1[i]), g.scalar(adam.beta1)), g.mul(gradient, g.scalar(1 - adam.beta1)));
      const v = g.add(g.mul(g.read(moments2[i]), g.scalar(adam.beta2)), g.mul(g.unary('Square', gradient), g.scalar(1 - adam.beta2)));
      const mHat = g.div(m, oneMinusAccBeta1);
      const vHat = g.div(v, oneMinusAccBeta2);
      const step = g.mul(g.div(mHat, g.add(g.unary('Sqrt', vHat), g.scalar(adam.epsilon))), minusLearningRate);
      updates.push(g.assign(moments1[i], m), g.assign(moments2[i], v), g.assign(handle, g.add(step, weights.reads[i])));
    });
  }
  updates.push(g.assign(accBeta1, g.mul(beta1Power, g.scalar(adam.beta1))), g.assign(accBeta2, g.mul(beta2Power, g.scalar(adam.beta2))));
  return updates;
}
