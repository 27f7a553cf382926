/**
 * Dropout's uniform noise, drawn in JavaScript for both training steps so that they drop the same
 * units: the eager step (SeededDropout, any backend) and the graph step (which feeds it to
 * TensorFlow). tf.randomUniform, used before, draws through seedrandom's alea one number at a
 * time into a generic buffer, about 30 ns a number here: 2 ms a step for the walkthrough's
 * 8,192 dropout units, and tens of milliseconds for dropout after a convolution. This is
 * mulberry32 (a 32-bit counter through a mixing function, public domain) written for a typed
 * array: a few ns a number, in a buffer the caller can reuse.
 *
 * Written by hand because the npm generators (seedrandom, pure-rand) return one number per call
 * through an object, which is the cost being removed; the function is ten lines.
 */

/** Fills `out` with float32 values uniform on [0, 1) (multiples of 2^-24), a function of `seed` alone. */
export function fillUniform(out: Float32Array, seed: number): Float32Array {
  // The seed is hashed first, so that neighbouring seeds (one per dropout call) start far apart.
  let state = hash32(seed >>> 0);
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 8) * 2 ** -24;
  }
  return out;
}

/** A 32-bit integer hash (the "lowbias32" mixer), seed -> a well-spread starting state. */
function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x | 0;
}
