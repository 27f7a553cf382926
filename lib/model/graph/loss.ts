import { NUM_CLASSES } from '../../data/classes.ts';
import { DT } from './proto.ts';
import type { GraphBuilder, Ref } from './graph.ts';

/** Keras' backend epsilon, which tfjs' cross-entropy clips probabilities with. */
const CROSSENTROPY_EPSILON = 1e-7;

/**
 * Loss and accuracy as tfjs' categoricalCrossentropy and categoricalAccuracy compute them, and
 * `gradient()`: d mean loss / d probabilities, the gradient tfjs' autodiff takes.
 */
export function crossEntropy(g: GraphBuilder, probabilities: Ref, labels: Ref): { loss: Ref; correct: Ref; gradient(): Ref } {
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

  const gradient = (): Ref => {
    // d mean / d perExample = 1/n; through neg and the row sum; d (t * log c) / d c = t / c.
    const count = g.rows(probabilities);
    const dPerExample = g.unary('Neg', g.div(g.scalar(1), count));
    const dLog = g.mul(dPerExample, targets);
    const dClipped = g.div(dLog, clipped);
    const inRange = g.logicalAnd(g.compare('GreaterEqual', normalised, low), g.compare('LessEqual', normalised, high));
    const dNormalised = g.select(inRange, dClipped, g.unary('ZerosLike', dClipped));
    // normalised = p / sum: both paths into p.
    const dSum = g.unary('Neg', g.div(g.reduce('Sum', g.mul(dNormalised, probabilities), [-1], true), g.unary('Square', sum)));
    return g.add(g.div(dNormalised, sum), dSum);
  };
  return { loss, correct, gradient };
}
