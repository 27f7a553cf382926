/**
 * What tells a sweep's trials apart: the config fields whose values differ between them, and
 * each such field as a chart axis. Shared by the sweep's report page (sweep-page.ts) and
 * `fmnist sweep status`, so both show the same columns in the same order.
 *
 * A trial's config holds only its overrides; a field a trial does not set takes the default,
 * so "absent" is a value of its own (shown as "default"), different from every given value.
 */

/** Shown for a field a trial's config does not set. */
export const DEFAULT_VALUE_TEXT = 'default';

/**
 * A config as leaves by dotted path (`model.preset`): nested objects are flattened, because a
 * sweep varies one setting inside them; arrays and scalars are kept whole, a value each.
 */
export function configLeaves(config: Readonly<Record<string, unknown>>, prefix = ''): Map<string, unknown> {
  const leaves = new Map<string, unknown>();
  for (const [key, value] of Object.entries(config)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [child, leaf] of configLeaves(value, path)) leaves.set(child, leaf);
    } else {
      leaves.set(path, value);
    }
  }
  return leaves;
}

/** The fields whose value is not the same in every config (absent counting as a value), in the order they first appear. */
export function varyingFields(configs: readonly Readonly<Record<string, unknown>>[]): string[] {
  const leaves = configs.map((config) => configLeaves(config));
  const fields = [...new Set(leaves.flatMap((leafMap) => [...leafMap.keys()]))];
  return fields.filter((field) => new Set(leaves.map((leafMap) => valueKey(leafMap.get(field)))).size > 1);
}

/** A field's value in one config; undefined when the config does not set it (the default). */
export function fieldValue(config: Readonly<Record<string, unknown>>, field: string): unknown {
  return configLeaves(config).get(field);
}

/** A value as one short cell: strings and numbers as they are, "default" for absent, JSON for the rest. */
export function formatFieldValue(value: unknown): string {
  if (value === undefined) return DEFAULT_VALUE_TEXT;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * A field as a chart axis. Numeric when every trial gives it a finite number: linear, or
 * logarithmic when all values are positive and the largest is at least 100 times the smallest
 * (two decades, e.g. learning rates); otherwise ordered categories.
 */
export type FieldAxis =
  | { kind: 'linear' | 'log'; field: string; min: number; max: number }
  | { kind: 'categorical'; field: string; categories: string[] };

export function fieldAxis(field: string, values: readonly unknown[]): FieldAxis {
  if (values.length > 0 && values.every((value) => typeof value === 'number' && Number.isFinite(value))) {
    const numbers = values as number[];
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    return { kind: min > 0 && max / min >= 100 ? 'log' : 'linear', field, min, max };
  }
  return { kind: 'categorical', field, categories: orderedCategories(values) };
}

/**
 * Where a value sits on its axis, from 0 (the first category, the minimum) to 1 (the last, the
 * maximum); 0.5 when the axis has a single value.
 */
export function axisPosition(axis: FieldAxis, value: unknown): number {
  if (axis.kind === 'categorical') {
    const index = axis.categories.indexOf(categoryOf(value));
    if (index < 0) throw new RangeError(`${axis.field}: ${categoryOf(value)} is not one of its categories`);
    return axis.categories.length === 1 ? 0.5 : index / (axis.categories.length - 1);
  }
  if (typeof value !== 'number') throw new RangeError(`${axis.field}: ${String(value)} is not a number`);
  if (axis.max === axis.min) return 0.5;
  const scale = axis.kind === 'log' ? Math.log10 : (x: number) => x;
  return (scale(value) - scale(axis.min)) / (scale(axis.max) - scale(axis.min));
}

/** A category's label: the value as a cell shows it. */
export const categoryOf = (value: unknown): string => formatFieldValue(value);

/**
 * The distinct values in reading order: the default first, then numbers ascending, false before
 * true, strings in code-point order, and anything else (arrays, objects) by its JSON.
 */
function orderedCategories(values: readonly unknown[]): string[] {
  const rank = (value: unknown) => (value === undefined ? 0 : typeof value === 'number' ? 1 : typeof value === 'boolean' ? 2 : typeof value === 'string' ? 3 : 4);
  // Sorted as boxes: Array.prototype.sort moves undefined to the end without asking the comparator.
  const distinct = [...new Map(values.map((value) => [valueKey(value), { value }])).values()];
  distinct.sort(({ value: a }, { value: b }) => {
    const byKind = rank(a) - rank(b);
    if (byKind !== 0) return byKind;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
    const [ka, kb] = [valueKey(a), valueKey(b)];
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  // Two values may print alike (a string "1" and a number 1): a label stays one category.
  return [...new Set(distinct.map(({ value }) => categoryOf(value)))];
}

/** Identity of a value for comparing configs: absent is distinct from every JSON value. */
function valueKey(value: unknown): string {
  return value === undefined ? '\u0000absent' : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
