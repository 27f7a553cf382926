import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGE_HEIGHT, IMAGE_WIDTH, PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { renderConfusionMatrixPng } from '../../lib/report/charts/confusion-matrix.ts';
import { renderLearningCurvesPng } from '../../lib/report/charts/learning-curves.ts';
import { renderMisclassifiedGridPng } from '../../lib/report/charts/misclassified-grid.ts';
import { renderSampleGridPng } from '../../lib/report/charts/sample-grid.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import { decodePng, pngSize } from './png-helpers.ts';
import type { Pixels } from './png-helpers.ts';

// Colours the charts must contain, from matplotlib / the brief, not from the code under test.
const LIGHTEST_BLUE = [247, 251, 255] as const; // #f7fbff
const DARKEST_BLUE = [8, 48, 107] as const; // #08306b
const MID_BLUE = [106, 174, 214] as const; // Blues(0.5), see blues.test.ts
const TAB_BLUE = [31, 119, 180] as const; // #1f77b4
const TAB_ORANGE = [255, 127, 14] as const; // #ff7f0e
const TAB_RED = [214, 39, 40] as const; // #d62728
const SCALED_IMAGE_PIXELS = IMAGE_WIDTH * 4 * IMAGE_HEIGHT * 4;

function assertSaneSize(png: Buffer): { width: number; height: number } {
  const size = pngSize(png);
  assert.ok(size.width >= 200 && size.width <= 4000, `width ${size.width}`);
  assert.ok(size.height >= 60 && size.height <= 4000, `height ${size.height}`);
  return size;
}

/**
 * Finds the heatmap grid from the lightest-blue cells: the top-left and bottom-left cells of the
 * test matrices are zero, so they bound the grid on the left, top and bottom.
 */
function heatmapGeometry(pixels: Pixels, size: number) {
  const box = pixels.boundsOf(...LIGHTEST_BLUE);
  assert.ok(box, 'heatmap has lightest-blue cells');
  const cell = (box.bottom - box.top + 1) / size;
  // A point in the cell's upper-left area, clear of the centred annotation.
  const probe = (row: number, col: number): [number, number] => [box.left + (col + 0.15) * cell, box.top + (row + 0.15) * cell];
  const countInCell = (row: number, col: number, matches: (rgb: [number, number, number]) => boolean): number => {
    let n = 0;
    for (let y = Math.ceil(box.top + row * cell + 1); y < box.top + (row + 1) * cell - 1; y++) {
      for (let x = Math.ceil(box.left + col * cell + 1); x < box.left + (col + 1) * cell - 1; x++) {
        if (matches(pixels.rgb(x, y))) n++;
      }
    }
    return n;
  };
  return { cell, probe, countInCell };
}

describe('renderConfusionMatrixPng', () => {
  it('colours the largest count darkest, zeros lightest, rows = true class', async () => {
    const matrix = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    matrix[3][7] = 50; // true class 3 predicted as 7
    const png = renderConfusionMatrixPng(matrix);
    assertSaneSize(png);
    const pixels = await decodePng(png);
    const { cell, probe, countInCell } = heatmapGeometry(pixels, 10);
    assert.ok(cell >= 28, `cells of ${cell}px`);
    assert.deepEqual(pixels.rgb(...probe(3, 7)), DARKEST_BLUE);
    assert.deepEqual(pixels.rgb(...probe(3, 6)), LIGHTEST_BLUE);
    assert.deepEqual(pixels.rgb(...probe(7, 3)), LIGHTEST_BLUE, 'not transposed');
    // Annotations: white text on the dark cell, near-black text (".15") on a light one; the
    // other cells are one flat colour, so any near-white / near-black pixel is text.
    const nearWhite = ([r, g, b]: [number, number, number]): boolean => r > 200 && g > 200 && b > 200;
    const nearBlack = ([r, g, b]: [number, number, number]): boolean => r < 90 && g < 90 && b < 90;
    assert.ok(countInCell(3, 7, nearWhite) > 20, 'white digits on the dark cell');
    assert.equal(countInCell(3, 7, nearBlack), 0, 'no dark text on the dark cell');
    assert.ok(countInCell(0, 0, nearBlack) > 10, 'dark digit on a light cell');
    const whiterThanLightestBlue = ([r, g]: [number, number, number]): boolean => r > LIGHTEST_BLUE[0] || g > LIGHTEST_BLUE[1];
    assert.equal(countInCell(0, 0, whiterThanLightestBlue), 0, 'no white text on a light cell');
  });

  it('puts row shares on a fixed 0..1 scale when normalised', async () => {
    const png = renderConfusionMatrixPng(
      [
        [0, 1, 0],
        [0.5, 0.5, 0],
        [0, 0, 1],
      ],
      { normalized: true, classNames: ['a', 'b', 'c'] },
    );
    const pixels = await decodePng(png);
    const { probe } = heatmapGeometry(pixels, 3);
    assert.deepEqual(pixels.rgb(...probe(0, 1)), DARKEST_BLUE);
    assert.deepEqual(pixels.rgb(...probe(1, 0)), MID_BLUE);
    assert.deepEqual(pixels.rgb(...probe(1, 2)), LIGHTEST_BLUE);
  });

  it('draws the same count chart for a realistic 10,000-example matrix with a colour bar', async () => {
    const matrix = Array.from({ length: 10 }, (_, t) => Array.from({ length: 10 }, (_, p) => (t === p ? 900 : 11)));
    const pixels = await decodePng(renderConfusionMatrixPng(matrix));
    // Diagonal cells are the maximum, so darkest; the colour bar adds a gradient strip of many blues.
    const { probe } = heatmapGeometry(pixels, 10);
    for (let i = 0; i < 10; i++) assert.deepEqual(pixels.rgb(...probe(i, i)), DARKEST_BLUE);
    assert.notDeepEqual(pixels.rgb(...probe(0, 1)), DARKEST_BLUE);
    assert.ok(pixels.count(...MID_BLUE) > 0, 'colour bar passes through the middle of the map');
  });

  it('rejects a non-square matrix and a wrong number of class names', () => {
    assert.throws(() => renderConfusionMatrixPng([[1, 2]]), /not square/);
    assert.throws(() => renderConfusionMatrixPng([[1]], { classNames: ['a', 'b'] }), /2 class names for a 1x1/);
    assert.throws(() => renderConfusionMatrixPng([]), /empty/);
  });
});

describe('renderLearningCurvesPng', () => {
  const history: EpochLog[] = Array.from({ length: 10 }, (_, i) => ({
    epoch: i + 1,
    loss: 0.7 - 0.04 * i,
    accuracy: 0.75 + 0.015 * i,
    val_loss: 0.6 - 0.02 * i,
    val_accuracy: 0.78 + 0.01 * i,
    seconds: 12,
  }));

  it('draws training (blue) and validation (orange) series side by side', async () => {
    const png = renderLearningCurvesPng(history);
    const { width, height } = assertSaneSize(png);
    assert.ok(width > height, 'two panels side by side');
    const pixels = await decodePng(png);
    assert.ok(pixels.count(...TAB_BLUE) > 200, 'training lines');
    assert.ok(pixels.count(...TAB_ORANGE) > 200, 'validation lines');
  });

  it('leaves validation out when the history has none', async () => {
    const trainingOnly = history.map(({ val_loss: _l, val_accuracy: _a, ...rest }) => rest);
    const pixels = await decodePng(renderLearningCurvesPng(trainingOnly));
    assert.ok(pixels.count(...TAB_BLUE) > 200);
    assert.equal(pixels.count(...TAB_ORANGE), 0);
  });

  it('copes with a single epoch and a non-finite loss', () => {
    assertSaneSize(renderLearningCurvesPng(history.slice(0, 1)));
    assertSaneSize(renderLearningCurvesPng([history[0], { ...history[1], loss: Number.NaN }, history[2]]));
  });

  it('rejects an empty history', () => {
    assert.throws(() => renderLearningCurvesPng([]), /empty/);
  });
});

/** count images, each a uniform grey of value(i). Greys below 38 never occur in the charts' text or frames. */
function uniformImages(labels: number[], value: (i: number) => number) {
  const images = new Uint8Array(labels.length * PIXELS_PER_IMAGE);
  labels.forEach((_, i) => images.fill(value(i), i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE));
  return { images, labels: Uint8Array.from(labels), count: labels.length };
}

describe('renderSampleGridPng', () => {
  it('shows the first image of each class, scaled up with nearest-neighbour blocks', async () => {
    // Two images per class except Bag (8), which has none. The first image of class c is a
    // uniform grey 3c+1; every later image is grey 33 and must not be shown.
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 9, 0, 1, 2, 3, 4, 5, 6, 7, 9];
    const data = uniformImages(labels, (i) => (i < 9 ? 3 * labels[i] + 1 : 33));
    // Make class 0's image a checkerboard of 0 and 20: smoothing would blend the two into other greys.
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) {
      data.images[p] = (Math.floor(p / IMAGE_WIDTH) + (p % IMAGE_WIDTH)) % 2 === 0 ? 0 : 20;
    }
    const png = renderSampleGridPng(data);
    assertSaneSize(png);
    const pixels = await decodePng(png);
    assert.equal(pixels.count(0, 0, 0), SCALED_IMAGE_PIXELS / 2, 'checkerboard: half black');
    assert.equal(pixels.count(20, 20, 20), SCALED_IMAGE_PIXELS / 2, 'checkerboard: half grey 20');
    for (const c of [1, 2, 3, 4, 5, 6, 7, 9]) {
      assert.equal(pixels.count(3 * c + 1, 3 * c + 1, 3 * c + 1), SCALED_IMAGE_PIXELS, `class ${c}`);
    }
    assert.equal(pixels.count(25, 25, 25), 0, 'no image for Bag');
    assert.equal(pixels.count(33, 33, 33), 0, 'only the first image of each class');
    assert.ok(pixels.count(242, 242, 242) > SCALED_IMAGE_PIXELS / 2, 'an empty placeholder cell for Bag');
  });

  it('rejects inconsistent image data', () => {
    assert.throws(() => renderSampleGridPng({ images: new Uint8Array(10), labels: new Uint8Array(1), count: 1 }), /784 pixels/);
    assert.throws(() => renderSampleGridPng(uniformImages([12], () => 0)), /no class name/);
  });
});

describe('renderMisclassifiedGridPng', () => {
  const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const data = uniformImages(labels, (i) => 3 * i + 1);
  const predicted = [0, 2, 2, 3, 5, 5, 6, 1, 8, 9]; // wrong at 1, 4 and 7

  it('shows only the images the model got wrong, captioned in red', async () => {
    const png = renderMisclassifiedGridPng(data, predicted);
    assertSaneSize(png);
    const pixels = await decodePng(png);
    for (const i of labels) {
      const expected = [1, 4, 7].includes(i) ? SCALED_IMAGE_PIXELS : 0;
      assert.equal(pixels.count(3 * i + 1, 3 * i + 1, 3 * i + 1), expected, `image ${i}`);
    }
    assert.ok(pixels.count(...TAB_RED) > 20, 'red captions');
  });

  it('stops at max, in dataset order', async () => {
    const pixels = await decodePng(renderMisclassifiedGridPng(data, predicted, undefined, 2));
    assert.equal(pixels.count(4, 4, 4), SCALED_IMAGE_PIXELS);
    assert.equal(pixels.count(13, 13, 13), SCALED_IMAGE_PIXELS);
    assert.equal(pixels.count(22, 22, 22), 0);
  });

  it('still renders a PNG when nothing is wrong', async () => {
    const png = renderMisclassifiedGridPng(data, labels);
    assertSaneSize(png);
    const pixels = await decodePng(png);
    for (const i of labels) assert.equal(pixels.count(3 * i + 1, 3 * i + 1, 3 * i + 1), 0);
  });

  it('rejects predictions that do not pair with the images', () => {
    assert.throws(() => renderMisclassifiedGridPng(data, [0, 1]), /2 predictions for 10 images/);
    assert.throws(() => renderMisclassifiedGridPng(data, [...predicted.slice(0, 9), 10]), /predicted\[9\] = 10/);
  });
});
