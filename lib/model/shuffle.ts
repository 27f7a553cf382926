/** A seeded generator of floats in [0, 1), whose whole state is one uint32 (so a checkpoint can carry it). */
export interface SeededRandom {
  (): number;
  /** The generator's state: `seededRandom(random.state)` continues exactly where `random` stands. */
  readonly state: number;
}

/**
 * Reproducible shuffling for the per-epoch example order. Mulberry32: tiny, fast, and good
 * enough for ordering examples (not for cryptography). Its state is the seed itself, advanced
 * by a constant per draw, so a generator resumes from a saved `state` as from a seed.
 */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.defineProperty(random, 'state', { get: () => state, enumerable: true }) as SeededRandom;
}

/** Fisher-Yates, in place. */
export function shuffleInPlace(values: Uint32Array, random: () => number): Uint32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i];
    values[i] = values[j];
    values[j] = swap;
  }
  return values;
}
