import { FieldError } from './field-error.ts';

/** Readers for untrusted JSON: each returns a typed value or throws a FieldError naming the field. */

export type JsonObject = Record<string, unknown>;

export function readObject(value: unknown, path: string, allowedKeys: readonly string[]): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FieldError(path, `must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowedKeys.includes(key)) {
      const suggestion = closest(key, allowedKeys);
      throw new FieldError(
        join(path, key),
        `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; allowed: ${allowedKeys.join(', ')}`,
      );
    }
  }
  return value as JsonObject;
}

export function readInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FieldError(path, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number in [min, max], or [min, max) when `maxExclusive`. */
export function readNumber(value: unknown, path: string, min: number, max: number, maxExclusive = false): number {
  const inRange = typeof value === 'number' && Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!inRange) {
    throw new FieldError(path, `must be a number from ${min} to ${max}${maxExclusive ? ' (exclusive)' : ''}, got ${describe(value)}`);
  }
  return value as number;
}

/** A number above 0 (for learning rates and epsilons, where 0 is meaningless). */
export function readPositive(value: unknown, path: string, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new FieldError(path, `must be a number above 0 and at most ${max}, got ${describe(value)}`);
  }
  return value;
}

export function readChoice<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new FieldError(path, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function readArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new FieldError(path, `must be an array, got ${describe(value)}`);
  return value;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** The allowed key a typo most likely meant, if any is close enough to be a useful hint. */
function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
