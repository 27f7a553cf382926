import { CLASS_NAMES } from '../../data/classes.ts';
import type { LabeledImages } from '../../data/dataset.ts';
import { assertLabeledImages, imageAt } from '../labeled-images.ts';
import { renderImageGridPng } from './image-grid.ts';

/**
 * The walkthrough's data check: the first image of each class, titled with its class name, so a
 * reader can confirm label 0 looks like a T-shirt, label 1 like trousers, and so on. A class with
 * no image still gets its labelled cell, making the gap visible.
 */
export function renderSampleGridPng(data: LabeledImages, classNames: readonly string[] = CLASS_NAMES): Buffer {
  assertLabeledImages(data);
  const firstIndexOfClass = new Map<number, number>();
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i];
    if (label >= classNames.length) throw new RangeError(`labels[${i}] = ${label} has no class name (${classNames.length} names)`);
    if (!firstIndexOfClass.has(label)) firstIndexOfClass.set(label, i);
  }
  const cells = classNames.map((name, label) => {
    const index = firstIndexOfClass.get(label);
    return { pixels: index === undefined ? null : imageAt(data, index), caption: name };
  });
  return renderImageGridPng(cells, { title: 'Sample images (first of each class)', columns: 5 });
}
