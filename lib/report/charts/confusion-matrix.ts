import { CLASS_NAMES } from '../../data/classes.ts';
import { annotationColorOn, blues, toCss } from './blues.ts';
import { createChart, crisp, drawText, fitText, FONT_SIZE, INK, textWidth, toPng } from './canvas.ts';
import { formatTicks, niceTicks } from './ticks.ts';

export interface ConfusionMatrixChartOptions {
  /** Axis labels, one per row/column. Defaults to the Fashion-MNIST names for a 10x10 matrix, else indices. */
  classNames?: readonly string[];
  /** Cells are row shares in 0..1 (see normalizeRows): annotated with 2 decimals on a fixed 0..1 colour scale. */
  normalized?: boolean;
  title?: string;
}

const TICK_LENGTH = 4;
const MAX_TICK_LABEL_WIDTH = 160;
const COLORBAR_WIDTH = 18;
const MARGIN = 16;

/**
 * The walkthrough's `sns.heatmap(cm, annot=True, fmt='d', cmap='Blues', xticklabels=...,
 * yticklabels=...)` with xlabel 'Predicted', ylabel 'True' and a colour bar: rows are the true
 * class, columns the prediction.
 */
export function renderConfusionMatrixPng(matrix: number[][], opts: ConfusionMatrixChartOptions = {}): Buffer {
  const size = matrix.length;
  assertSquare(matrix);
  const classNames = opts.classNames ?? (size === CLASS_NAMES.length ? CLASS_NAMES : matrix.map((_, i) => String(i)));
  if (classNames.length !== size) {
    throw new RangeError(`${classNames.length} class names for a ${size}x${size} matrix`);
  }
  const normalized = opts.normalized ?? false;
  const title = opts.title ?? (normalized ? 'Confusion Matrix (row-normalised)' : 'Confusion Matrix');
  const annotate = (value: number): string => (normalized ? value.toFixed(2) : String(value));

  // Counts use the data's own range, as seaborn does; shares use 0..1 so that two runs'
  // normalised charts are comparable by colour.
  const values = matrix.flat();
  const vmin = normalized ? 0 : Math.min(...values);
  const vmax = normalized ? 1 : Math.max(...values);
  const scale = (value: number): number => (vmax === vmin ? 0 : (value - vmin) / (vmax - vmin));

  const cell = Math.max(28, Math.min(80, Math.floor(560 / size)));
  const grid = cell * size;
  const annotationSize = Math.min(14, Math.max(9, Math.floor(cell / 4)));

  // Measure every label first so the margins fit the text instead of clipping it.
  const scratch = createChart(1, 1).ctx;
  const labels = classNames.map((name) => fitText(scratch, name, FONT_SIZE.tick, MAX_TICK_LABEL_WIDTH));
  const widestLabel = Math.max(...labels.map((label) => textWidth(scratch, label, FONT_SIZE.tick)));
  // Horizontal column labels when they fit under their cell, else rotated 45° like plt.xticks(rotation=45, ha='right').
  const rotateColumnLabels = widestLabel > cell - 6;
  const columnLabelDepth = rotateColumnLabels ? widestLabel * Math.SQRT1_2 + FONT_SIZE.tick : FONT_SIZE.tick + 4;
  const colorbarTicks = niceTicks(vmin, vmax, 7, !normalized);
  const colorbarLabels = formatTicks(colorbarTicks);
  const colorbarLabelWidth = Math.max(...colorbarLabels.map((label) => textWidth(scratch, label, FONT_SIZE.tick)));

  // Whole-pixel origin so cell edges fall on pixel boundaries instead of blending neighbours.
  const left = Math.ceil(MARGIN + FONT_SIZE.label + 12 + widestLabel + TICK_LENGTH + 6);
  const top = MARGIN + FONT_SIZE.title + 16;
  const colorbarLeft = left + grid + 24;
  const width = colorbarLeft + COLORBAR_WIDTH + TICK_LENGTH + 6 + colorbarLabelWidth + MARGIN;
  const height = top + grid + TICK_LENGTH + 6 + columnLabelDepth + 14 + FONT_SIZE.label + MARGIN;

  const chart = createChart(width, height);
  const { ctx } = chart;

  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const color = blues(scale(matrix[row][col]));
      const x = left + col * cell;
      const y = top + row * cell;
      ctx.fillStyle = toCss(color);
      ctx.fillRect(x, y, cell, cell);
      drawText(ctx, annotate(matrix[row][col]), x + cell / 2, y + cell / 2, {
        size: annotationSize,
        color: annotationColorOn(color),
        align: 'center',
        baseline: 'middle',
      });
    }
  }

  ctx.strokeStyle = INK;
  ctx.lineWidth = 1;
  for (let i = 0; i < size; i++) {
    const centre = i * cell + cell / 2;
    // Row (true class) labels, right-aligned against the tick marks.
    drawTick(ctx, left - TICK_LENGTH, crisp(top + centre), left, crisp(top + centre));
    drawText(ctx, labels[i], left - TICK_LENGTH - 6, top + centre, { size: FONT_SIZE.tick, align: 'right', baseline: 'middle' });
    // Column (predicted class) labels.
    const x = left + centre;
    drawTick(ctx, crisp(x), top + grid, crisp(x), top + grid + TICK_LENGTH);
    const labelTop = top + grid + TICK_LENGTH + 6;
    if (rotateColumnLabels) {
      // Anchored at its end, so each label ends under its own column.
      drawText(ctx, labels[i], x + 4, labelTop + 4, { size: FONT_SIZE.tick, align: 'right', baseline: 'middle', rotation: -Math.PI / 4 });
    } else {
      drawText(ctx, labels[i], x, labelTop, { size: FONT_SIZE.tick, align: 'center', baseline: 'top' });
    }
  }

  drawText(ctx, 'Predicted', left + grid / 2, height - MARGIN, { size: FONT_SIZE.label, align: 'center', baseline: 'bottom' });
  drawText(ctx, 'True', MARGIN, top + grid / 2, { size: FONT_SIZE.label, align: 'center', baseline: 'top', rotation: -Math.PI / 2 });
  drawText(ctx, title, left + grid / 2, MARGIN, { size: FONT_SIZE.title, align: 'center', baseline: 'top' });

  drawColorbar(ctx, colorbarLeft, top, grid, (t) => toCss(blues(t)));
  for (let i = 0; i < colorbarTicks.length; i++) {
    const y = top + grid - scale(colorbarTicks[i]) * grid;
    const tickX = colorbarLeft + COLORBAR_WIDTH;
    drawTick(ctx, tickX, crisp(y), tickX + TICK_LENGTH, crisp(y));
    drawText(ctx, colorbarLabels[i], tickX + TICK_LENGTH + 6, y, { size: FONT_SIZE.tick, baseline: 'middle' });
  }

  return toPng(chart);
}

type Ctx = ReturnType<typeof createChart>['ctx'];

function drawTick(ctx: Ctx, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

/** A vertical strip of the colormap, low values at the bottom, one colour per pixel row. */
function drawColorbar(ctx: Ctx, x: number, top: number, height: number, colorAt: (t: number) => string): void {
  for (let row = 0; row < height; row++) {
    ctx.fillStyle = colorAt(1 - (row + 0.5) / height);
    ctx.fillRect(x, top + row, COLORBAR_WIDTH, 1);
  }
  ctx.strokeStyle = INK;
  ctx.strokeRect(crisp(x), crisp(top), COLORBAR_WIDTH - 1, height - 1);
}

function assertSquare(matrix: number[][]): void {
  if (matrix.length === 0) throw new RangeError('confusion matrix is empty');
  for (const row of matrix) {
    if (row.length !== matrix.length) throw new RangeError(`confusion matrix is not square (${matrix.length} rows, a row of ${row.length})`);
    for (const value of row) {
      if (!Number.isFinite(value)) throw new RangeError(`confusion matrix holds a non-finite value: ${value}`);
    }
  }
}
