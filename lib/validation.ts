import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * The one validation dialect: every input from outside (config, manifest, event, setting, stored
 * record) is a zod schema, parsed with `parseWith`. This module keeps the messages users already
 * know: each problem names its field (`layers[0].strides`), an unknown key suggests the spelling
 * that was probably meant, and numbers say the range and what they got.
 */

/** Parses `value` or throws a ConfigError `source: field: reason; field: reason`. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(`${source}: ${formatIssues(result.error.issues).join('; ')}`);
}

/** Parses JSON text against a schema; bad JSON is reported like a bad field, naming the source. */
export function parseJsonWith<S extends z.ZodType>(schema: S, text: string, source: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  return parseWith(schema, value, source);
}

/** One `field: reason` line per issue; an unknown key is named in the path, as a user would look for it. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    const field = fieldPath(path);
    return field ? `${field}: ${issue.message}` : issue.message;
  });
}

/** `train[0]`, `candidate.modelPrefix`: the way every error names fields. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
    '',
  );
}

/**
 * z.strictObject whose unknown-key error suggests the key that was probably meant and lists the
 * allowed ones: `layers[0].strid: unknown key (did you mean "strides"?); allowed: type, filters, …`.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return unknownKeyMessage(String(issue.keys[0]), allowed);
      if (issue.code === 'invalid_type') return `must be an object, got ${describe(issue.input)}`;
      return undefined;
    },
  });
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closest(key, allowed);
  return `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; allowed: ${allowed.join(', ')}`;
}

/** An integer in [min, max]: `must be an integer from 1 to 1000, got 0`. */
export function integerIn(min: number, max: number) {
  const message = (input: unknown) => `must be an integer from ${min} to ${max}, got ${describe(input)}`;
  return z
    .number({ error: (issue) => message(issue.input) })
    .refine((value) => Number.isInteger(value) && value >= min && value <= max, { error: (issue) => message(issue.input) });
}

/** A finite number in [min, max], or [min, max) when `maxExclusive`. */
export function numberIn(min: number, max: number, maxExclusive = false) {
  const message = (input: unknown) => `must be a number from ${min} to ${max}${maxExclusive ? ' (exclusive)' : ''}, got ${describe(input)}`;
  return z
    .number({ error: (issue) => message(issue.input) })
    .refine((value) => Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max), {
      error: (issue) => message(issue.input),
    });
}

/** A number above 0 and at most max (learning rates, epsilons: 0 is meaningless there). */
export function positiveAtMost(max: number) {
  const message = (input: unknown) => `must be a number above 0 and at most ${max}, got ${describe(input)}`;
  return z
    .number({ error: (issue) => message(issue.input) })
    .refine((value) => Number.isFinite(value) && value > 0 && value <= max, { error: (issue) => message(issue.input) });
}

/** A finite number of at least `min` with no upper bound (tolerances): `must be a number >= 0, got -1`. */
export function atLeast(min: number) {
  const message = (input: unknown) => `must be a number >= ${min}, got ${describe(input)}`;
  return z
    .number({ error: (issue) => message(issue.input) })
    .refine((value) => Number.isFinite(value) && value >= min, { error: (issue) => message(issue.input) });
}

/** true or false, with the message the other readers use. */
export function boolean() {
  return z.boolean({ error: (issue) => `must be true or false, got ${describe(issue.input)}` });
}

/** One of a fixed set of strings: `must be one of "same", "valid", got "vaild"`. */
export function oneOf<const T extends readonly [string, ...string[]]>(choices: T) {
  return z.enum(choices, {
    error: (issue) => `must be one of ${choices.map((choice) => `"${choice}"`).join(', ')}, got ${describe(issue.input)}`,
  });
}

/** An array, with the message the other readers use. */
export function arrayOf<T extends z.ZodType>(element: T) {
  return z.array(element, { error: (issue) => `must be an array, got ${describe(issue.input)}` });
}

/** A short, safe rendering of a rejected value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** The allowed key a typo most likely meant, if any is close enough to be a useful hint. */
export function closest(key: string, candidates: readonly string[]): string | undefined {
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
