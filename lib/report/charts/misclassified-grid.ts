import { CLASS_NAMES } from '../../data/classes.ts';
import { assertLabelsInRange } from '../labels.ts';
import type { LabeledImages } from '../../data/dataset.ts';
import { assertLabeledImages, imageAt } from '../labeled-images.ts';
import { renderImageGridPng } from './image-grid.ts';

/** Matplotlib's tab:red, the colour the TensorFlow tutorial uses for wrong predictions. */
const WRONG_COLOR = '#d62728';

/**
 * The first `max` images the model got wrong, in dataset order, each captioned
 * "true -> predicted". The title says how many mistakes there were in total.
 */
export function renderMisclassifiedGridPng(
  data: LabeledImages,
  predicted: ArrayLike<number>,
  classNames: readonly string[] = CLASS_NAMES,
  max = 25,
): Buffer {
  assertLabeledImages(data);
  if (predicted.length !== data.count) throw new RangeError(`${predicted.length} predictions for ${data.count} images`);
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be a non-negative integer, got ${max}`);
  assertLabelsInRange(data.labels, classNames.length, 'labels');
  assertLabelsInRange(predicted, classNames.length, 'predicted');

  const wrong: number[] = [];
  for (let i = 0; i < data.count; i++) {
    if (data.labels[i] !== predicted[i]) wrong.push(i);
  }
  const shown = wrong.slice(0, max);
  const cells = shown.map((index) => ({
    pixels: imageAt(data, index),
    caption: `${classNames[data.labels[index]]} -> ${classNames[predicted[index]]}`,
    captionColor: WRONG_COLOR,
  }));
  const title =
    wrong.length === 0
      ? 'Misclassified images'
      : `Misclassified images: ${shown.length} of ${wrong.length} shown (true -> predicted)`;
  return renderImageGridPng(cells, { title, columns: 5, emptyMessage: `None: all ${data.count} images classified correctly` });
}
