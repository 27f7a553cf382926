import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';

/**
 * A small Kaggle-format CSV whose images are learnable: each class lights a different band of
 * rows, so even a one-epoch model does better than chance. Deterministic for a given seed.
 */
export function syntheticKaggleCsv(rows: number, seed = 1): { text: string; labels: number[]; pixels: Uint8Array } {
  let state = seed >>> 0;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const header = ['label', ...Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => `pixel${i + 1}`)].join(',');
  const labels: number[] = [];
  const pixels = new Uint8Array(rows * PIXELS_PER_IMAGE);
  const lines = [header];
  for (let row = 0; row < rows; row++) {
    const label = row % 10;
    labels.push(label);
    for (let i = 0; i < PIXELS_PER_IMAGE; i++) {
      const imageRow = Math.floor(i / 28);
      const lit = Math.floor(imageRow / 2.8) === label;
      pixels[row * PIXELS_PER_IMAGE + i] = lit ? 180 + Math.floor(random() * 75) : Math.floor(random() * 40);
    }
    lines.push([label, ...pixels.subarray(row * PIXELS_PER_IMAGE, (row + 1) * PIXELS_PER_IMAGE)].join(','));
  }
  return { text: lines.join('\n') + '\n', labels, pixels };
}

/**
 * syntheticKaggleCsv with unequal class supports (every row of classes 0-4, only the first row of
 * classes 5-9), so a macro average and a weighted average of per-class scores differ: a metric
 * reported under the other's name shows.
 */
export function unbalancedKaggleCsv(rows: number, seed = 1): { text: string; labels: number[] } {
  const whole = syntheticKaggleCsv(rows, seed);
  const [header, ...lines] = whole.text.trim().split('\n');
  const kept = whole.labels.map((label, row) => label < 5 || row < 10);
  return {
    text: [header, ...lines.filter((_, row) => kept[row])].join('\n') + '\n',
    labels: whole.labels.filter((_, row) => kept[row]),
  };
}
