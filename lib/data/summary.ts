import { CLASS_NAMES, PIXELS_PER_IMAGE } from './classes.ts';
import type { LabeledImages } from './dataset.ts';

/**
 * What the Keras walkthrough prints before training: `train_df.head()` (a few rows) and
 * `train_df['label'].unique()`, plus how many examples each class has.
 */
export interface DatasetSummary {
  rows: number;
  /** Distinct labels present, ascending. */
  labels: number[];
  /** One entry per label present, ascending. */
  perClass: { label: number; name: string; count: number }[];
  head: { label: number; name: string; pixels: number[]; nonZero: number; mean: number }[];
}

/** How many leading pixel values each head row shows, as pandas shows only the first columns. */
export const HEAD_PIXELS = 8;

/** The log message under which the ingest step logs each split's summary (the local runner prints it). */
export const DATASET_SUMMARY_MESSAGE = 'dataset summary';

export function summarize(data: LabeledImages, headRows = 5): DatasetSummary {
  const counts = new Map<number, number>();
  for (let i = 0; i < data.count; i++) counts.set(data.labels[i], (counts.get(data.labels[i]) ?? 0) + 1);
  const labels = [...counts.keys()].sort((a, b) => a - b);
  const perClass = labels.map((label) => ({ label, name: className(label), count: counts.get(label)! }));

  const head = [];
  for (let row = 0; row < Math.min(headRows, data.count); row++) {
    const image = data.images.subarray(row * PIXELS_PER_IMAGE, (row + 1) * PIXELS_PER_IMAGE);
    let nonZero = 0;
    let sum = 0;
    for (const value of image) {
      if (value !== 0) nonZero++;
      sum += value;
    }
    const label = data.labels[row];
    head.push({ label, name: className(label), pixels: [...image.subarray(0, HEAD_PIXELS)], nonZero, mean: sum / PIXELS_PER_IMAGE });
  }
  return { rows: data.count, labels, perClass, head };
}

export function formatSummary(title: string, s: DatasetSummary): string {
  const lines = [
    `${title}: ${s.rows} rows x ${PIXELS_PER_IMAGE + 1} columns (label, pixel1..pixel${PIXELS_PER_IMAGE})`,
    `unique labels: [${s.labels.join(', ')}]`,
    '',
    'examples per class:',
    ...table(
      ['label', 'class', 'count', 'share'],
      s.perClass.map((c) => [String(c.label), c.name, String(c.count), percent(c.count, s.rows)]),
      [true, false, true, true],
    ),
    '',
    `first ${s.head.length} rows:`,
    ...table(
      ['row', 'label', 'class', `pixel1..pixel${HEAD_PIXELS}`, 'non-zero', 'mean'],
      s.head.map((r, i) => [String(i), String(r.label), r.name, r.pixels.join(' '), `${r.nonZero}/${PIXELS_PER_IMAGE}`, r.mean.toFixed(1)]),
      [true, true, false, false, true, true],
    ),
  ];
  return lines.join('\n');
}

function className(label: number): string {
  return CLASS_NAMES[label] ?? `label ${label}`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(header: string[], rows: string[][], alignRight: boolean[]): string[] {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)));
  const format = (cells: string[]) =>
    '  ' + cells.map((cell, col) => (alignRight[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd();
  return [format(header), ...rows.map(format)];
}
