import { createChart, crisp, drawText, FONT_SIZE, INK, textWidth, toPng } from './canvas.ts';
import type { Chart } from './canvas.ts';
import { formatTicks, niceTicks } from './ticks.ts';

type Ctx = Chart['ctx'];

/** The five fields of an epoch's record this chart draws (lib/model/history.ts' EpochLog has them). */
export interface LearningCurvePoint {
  /** 1-based. */
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly val_loss?: number;
  readonly val_accuracy?: number;
}

interface Series {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Matplotlib's first two default colours (tab:blue, tab:orange). */
const TRAIN_COLOR = '#1f77b4';
const VALIDATION_COLOR = '#ff7f0e';
const GRID_COLOR = '#e3e3e3';
const PANEL_WIDTH = 560;
const HEIGHT = 430;
const MARGIN = 16;
const TICK_LENGTH = 4;

/**
 * Loss and accuracy per epoch, training against validation, in two side-by-side panels, the
 * usual plot of Keras' `history.history`. Non-finite values (a diverged epoch) and missing
 * validation values leave a gap instead of distorting the axes.
 */
export function renderLearningCurvesPng(history: readonly LearningCurvePoint[]): Buffer {
  if (history.length === 0) throw new RangeError('history is empty: no epoch to plot');
  const epochs = [...history].sort((a, b) => a.epoch - b.epoch);

  const chart = createChart(PANEL_WIDTH * 2, HEIGHT);
  drawPanel(chart.ctx, { left: 0, top: 0, width: PANEL_WIDTH, height: HEIGHT }, 'Loss', [
    series('Training', TRAIN_COLOR, epochs, (log) => log.loss),
    series('Validation', VALIDATION_COLOR, epochs, (log) => log.val_loss),
  ]);
  drawPanel(chart.ctx, { left: PANEL_WIDTH, top: 0, width: PANEL_WIDTH, height: HEIGHT }, 'Accuracy', [
    series('Training', TRAIN_COLOR, epochs, (log) => log.accuracy),
    series('Validation', VALIDATION_COLOR, epochs, (log) => log.val_accuracy),
  ]);
  return toPng(chart);
}

function series(label: string, color: string, epochs: LearningCurvePoint[], value: (log: LearningCurvePoint) => number | undefined): Series {
  return {
    label,
    color,
    points: epochs.map((log) => ({ x: log.epoch, y: value(log) ?? Number.NaN })),
  };
}

function drawPanel(ctx: Ctx, panel: Rect, metric: string, allSeries: Series[]): void {
  const shown = allSeries.filter((s) => s.points.some((p) => Number.isFinite(p.y)));
  const xs = allSeries[0].points.map((p) => p.x);
  const ys = shown.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);

  const [xMin, xMax] = paddedRange(Math.min(...xs), Math.max(...xs), 0.05, 0.5);
  const [yMin, yMax] = ys.length > 0 ? paddedRange(Math.min(...ys), Math.max(...ys), 0.05, Math.max(0.05, Math.abs(ys[0]) * 0.1)) : [0, 1];
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), 11, true);
  const yTicks = niceTicks(yMin, yMax, 7);
  const xLabels = formatTicks(xTicks);
  const yLabels = formatTicks(yTicks);

  const yLabelWidth = Math.max(...yLabels.map((label) => textWidth(ctx, label, FONT_SIZE.tick)));
  const plot: Rect = {
    left: panel.left + MARGIN + FONT_SIZE.label + 12 + yLabelWidth + TICK_LENGTH + 6,
    top: panel.top + MARGIN + FONT_SIZE.title + 18,
    width: 0,
    height: 0,
  };
  plot.width = panel.left + panel.width - MARGIN - 8 - plot.left;
  plot.height = panel.top + panel.height - MARGIN - FONT_SIZE.label - 12 - FONT_SIZE.tick - TICK_LENGTH - 6 - plot.top;
  const toX = (x: number): number => plot.left + ((x - xMin) / (xMax - xMin)) * plot.width;
  const toY = (y: number): number => plot.top + plot.height - ((y - yMin) / (yMax - yMin)) * plot.height;

  // Gridlines first, so data is drawn over them.
  ctx.strokeStyle = GRID_COLOR;
  ctx.lineWidth = 1;
  for (const tick of xTicks) line(ctx, crisp(toX(tick)), plot.top, crisp(toX(tick)), plot.top + plot.height);
  for (const tick of yTicks) line(ctx, plot.left, crisp(toY(tick)), plot.left + plot.width, crisp(toY(tick)));

  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top, plot.width, plot.height);
  ctx.clip();
  for (const s of shown) drawSeries(ctx, s, toX, toY);
  ctx.restore();

  ctx.strokeStyle = INK;
  ctx.strokeRect(crisp(plot.left), crisp(plot.top), Math.round(plot.width), Math.round(plot.height));
  const bottom = plot.top + plot.height;
  xTicks.forEach((tick, i) => {
    const x = toX(tick);
    line(ctx, crisp(x), bottom, crisp(x), bottom + TICK_LENGTH);
    drawText(ctx, xLabels[i], x, bottom + TICK_LENGTH + 4, { size: FONT_SIZE.tick, align: 'center', baseline: 'top' });
  });
  yTicks.forEach((tick, i) => {
    const y = toY(tick);
    line(ctx, plot.left - TICK_LENGTH, crisp(y), plot.left, crisp(y));
    drawText(ctx, yLabels[i], plot.left - TICK_LENGTH - 6, y, { size: FONT_SIZE.tick, align: 'right', baseline: 'middle' });
  });

  const title = shown.length > 1 ? `Training and validation ${metric.toLowerCase()}` : `${shown[0]?.label ?? 'Training'} ${metric.toLowerCase()}`;
  drawText(ctx, title, plot.left + plot.width / 2, panel.top + MARGIN, { size: FONT_SIZE.title, align: 'center', baseline: 'top' });
  drawText(ctx, 'Epoch', plot.left + plot.width / 2, panel.top + panel.height - MARGIN, { size: FONT_SIZE.label, align: 'center', baseline: 'bottom' });
  drawText(ctx, metric, panel.left + MARGIN, plot.top + plot.height / 2, { size: FONT_SIZE.label, align: 'center', baseline: 'top', rotation: -Math.PI / 2 });

  if (shown.length > 0) drawLegend(ctx, plot, shown, toX, toY);
}

/** Lines between consecutive finite points, a dot on each point so single epochs stay visible. */
function drawSeries(ctx: Ctx, s: Series, toX: (x: number) => number, toY: (y: number) => number): void {
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  ctx.lineWidth = 2;
  ctx.lineJoin = 'round';
  ctx.beginPath();
  let penDown = false;
  for (const p of s.points) {
    if (!Number.isFinite(p.y)) {
      penDown = false;
      continue;
    }
    if (penDown) ctx.lineTo(toX(p.x), toY(p.y));
    else ctx.moveTo(toX(p.x), toY(p.y));
    penDown = true;
  }
  ctx.stroke();
  for (const p of s.points) {
    if (!Number.isFinite(p.y)) continue;
    ctx.beginPath();
    ctx.arc(toX(p.x), toY(p.y), 3.5, 0, Math.PI * 2);
    ctx.fill();
  }
}

/** Put in whichever corner covers the fewest data points, like matplotlib's loc='best'. */
function drawLegend(ctx: Ctx, plot: Rect, shown: Series[], toX: (x: number) => number, toY: (y: number) => number): void {
  const rowHeight = FONT_SIZE.tick + 8;
  const sample = 26;
  const width = 10 + sample + 8 + Math.max(...shown.map((s) => textWidth(ctx, s.label, FONT_SIZE.tick))) + 10;
  const height = shown.length * rowHeight + 8;
  const inset = 8;
  const corners: Rect[] = [
    { left: plot.left + plot.width - width - inset, top: plot.top + inset, width, height },
    { left: plot.left + plot.width - width - inset, top: plot.top + plot.height - height - inset, width, height },
    { left: plot.left + inset, top: plot.top + inset, width, height },
    { left: plot.left + inset, top: plot.top + plot.height - height - inset, width, height },
  ];
  const screenPoints = shown.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)).map((p) => ({ x: toX(p.x), y: toY(p.y) })));
  const covered = (box: Rect): number =>
    screenPoints.filter((p) => p.x >= box.left - 6 && p.x <= box.left + box.width + 6 && p.y >= box.top - 6 && p.y <= box.top + box.height + 6).length;
  const box = corners.reduce((best, candidate) => (covered(candidate) < covered(best) ? candidate : best));

  ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
  ctx.fillRect(box.left, box.top, box.width, box.height);
  ctx.strokeStyle = '#cccccc';
  ctx.lineWidth = 1;
  ctx.strokeRect(crisp(box.left), crisp(box.top), Math.round(box.width), Math.round(box.height));
  shown.forEach((s, i) => {
    const y = box.top + 4 + rowHeight * i + rowHeight / 2;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    line(ctx, box.left + 10, y, box.left + 10 + sample, y);
    ctx.beginPath();
    ctx.arc(box.left + 10 + sample / 2, y, 3.5, 0, Math.PI * 2);
    ctx.fill();
    drawText(ctx, s.label, box.left + 10 + sample + 8, y, { size: FONT_SIZE.tick, baseline: 'middle' });
  });
}

/** Data range widened by a fraction on each side (matplotlib's 5% margins); a flat range is opened to ±flatHalfWidth. */
function paddedRange(min: number, max: number, fraction: number, flatHalfWidth: number): [number, number] {
  if (min === max) return [min - flatHalfWidth, max + flatHalfWidth];
  const pad = (max - min) * fraction;
  return [min - pad, max + pad];
}

function line(ctx: Ctx, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}
