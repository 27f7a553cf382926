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
  return fill(out, seed, -1, 0);
}

/**
 * Fills `out` with dropout's multipliers for `rate`, floor(u + keep) / keep (0 or 1 / keep), for
 * the values u that fillUniform(out, seed) draws, bit for bit what the eager step's float32 ops
 * compute from them (SeededDropout): u is kept when its 24-bit draw is at least the smallest one
 * whose float32 sum with keep reaches 1. The graph step feeds these, so its graph multiplies once
 * where an add, a floor and a divide took three more passes over the activations; drawn in the
 * same pass as the noise, they cost about what the noise costs (3 ms for the strong preset's
 * 1.27 M values a step).
 */
export function fillKeepMultipliers(out: Float32Array, seed: number, rate: number): Float32Array {
  const keep = Math.fround(1 - rate);
  return fill(out, seed, firstKeptDraw(rate), Math.fround(1 / keep));
}

/** Dropout at `rate` keeps the draws r (u = r * 2^-24) from this one on: fround(u + keep) >= 1. */
export function firstKeptDraw(rate: number): number {
  const keep = Math.fround(1 - rate);
  let [low, high] = [0, 2 ** 24];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Math.fround(middle * 2 ** -24 + keep) >= 1) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * mulberry32's draws into `out`: as u = r * 2^-24 when `threshold` is negative, else as
 * `kept` * (r >= threshold). The length is read once: reading `out.length` in the loop's test made
 * it three times slower (7.2 vs 2.5 ms for 1.27 M values).
 */
function fill(out: Float32Array, seed: number, threshold: number, kept: number): Float32Array {
  // The seed is hashed first, so that neighbouring seeds (one per dropout call) start far apart.
  let state = hash32(seed >>> 0);
  const count = out.length;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const draw = (t ^ (t >>> 14)) >>> 8;
    // Branch-free: the draws are random, a branch on them would be mispredicted half the time.
    out[i] = threshold < 0 ? draw * 2 ** -24 : kept * (1 - ((draw - threshold) >>> 31));
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
