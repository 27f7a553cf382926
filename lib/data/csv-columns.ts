import { PIXELS_PER_IMAGE } from './classes.ts';

/** The Kaggle layout: `label,pixel1,...,pixel784`. */
export const CSV_COLUMNS: readonly string[] = Object.freeze([
  'label',
  ...Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => `pixel${i + 1}`),
]);
export const CSV_FIELDS_PER_ROW = CSV_COLUMNS.length;
export const CSV_HEADER = CSV_COLUMNS.join(',');

/** How errors name a column: 1-based index plus the header name when there is one, e.g. `18 (pixel17)`. */
export function columnLabel(index: number): string {
  const name = CSV_COLUMNS[index];
  return name === undefined ? `${index + 1}` : `${index + 1} (${name})`;
}
