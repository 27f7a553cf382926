import { IMAGE_HEIGHT, IMAGE_WIDTH } from '../../data/classes.ts';
import { createChart, drawText, fitText, FONT_SIZE, INK, textWidth, toPng } from './canvas.ts';
import { drawGrayscaleImage } from './grayscale-image.ts';

export interface GridCell {
  /** 784 grayscale pixels, or null for a labelled placeholder (e.g. a class with no example). */
  pixels: Uint8Array | null;
  caption: string;
  captionColor?: string;
}

export interface ImageGridOptions {
  title: string;
  columns: number;
  /** Shown instead of the grid when there are no cells. */
  emptyMessage?: string;
}

const SCALE = 4;
const IMAGE_SIZE = IMAGE_WIDTH * SCALE;
const MAX_CAPTION_WIDTH = 240;
const COLUMN_GAP = 14;
const ROW_GAP = 20;
const MARGIN = 20;

/** A titled grid of captioned 28x28 images, caption above each image like plt.title in a subplot grid. */
export function renderImageGridPng(cells: GridCell[], options: ImageGridOptions): Buffer {
  const scratch = createChart(1, 1).ctx;
  const captions = cells.map((cell) => fitText(scratch, cell.caption, FONT_SIZE.caption, MAX_CAPTION_WIDTH));
  const captionWidth = Math.max(0, ...captions.map((caption) => textWidth(scratch, caption, FONT_SIZE.caption)));
  const cellWidth = Math.ceil(Math.max(IMAGE_SIZE, captionWidth));
  const captionHeight = FONT_SIZE.caption + 8;
  const cellHeight = captionHeight + IMAGE_HEIGHT * SCALE;
  const columns = Math.max(1, Math.min(options.columns, cells.length));
  const rows = Math.ceil(cells.length / columns);

  const titleHeight = FONT_SIZE.title + 18;
  const titleWidth = textWidth(scratch, options.title, FONT_SIZE.title);
  const gridWidth = columns * cellWidth + (columns - 1) * COLUMN_GAP;
  const bodyHeight = rows > 0 ? rows * cellHeight + (rows - 1) * ROW_GAP : FONT_SIZE.label + 8;
  const width = Math.max(gridWidth, titleWidth, options.emptyMessage ? textWidth(scratch, options.emptyMessage, FONT_SIZE.label) : 0) + 2 * MARGIN;
  const height = MARGIN + titleHeight + bodyHeight + MARGIN;

  const chart = createChart(width, height);
  const { ctx } = chart;
  drawText(ctx, options.title, width / 2, MARGIN, { size: FONT_SIZE.title, align: 'center', baseline: 'top' });
  const gridLeft = Math.round((width - gridWidth) / 2);
  const gridTop = MARGIN + titleHeight;

  if (cells.length === 0 && options.emptyMessage) {
    drawText(ctx, options.emptyMessage, width / 2, gridTop, { size: FONT_SIZE.label, align: 'center', baseline: 'top', color: '#666666' });
  }

  cells.forEach((cell, i) => {
    const left = gridLeft + (i % columns) * (cellWidth + COLUMN_GAP);
    const top = gridTop + Math.floor(i / columns) * (cellHeight + ROW_GAP);
    const centre = left + cellWidth / 2;
    drawText(ctx, captions[i], centre, top, { size: FONT_SIZE.caption, align: 'center', baseline: 'top', color: cell.captionColor ?? INK });
    const imageLeft = Math.round(centre - IMAGE_SIZE / 2);
    const imageTop = top + captionHeight;
    if (cell.pixels) {
      drawGrayscaleImage(ctx, cell.pixels, imageLeft, imageTop, SCALE);
    } else {
      ctx.fillStyle = '#f2f2f2';
      ctx.fillRect(imageLeft, imageTop, IMAGE_SIZE, IMAGE_SIZE);
      ctx.strokeStyle = '#bbbbbb';
      ctx.lineWidth = 1;
      ctx.strokeRect(imageLeft + 0.5, imageTop + 0.5, IMAGE_SIZE - 1, IMAGE_SIZE - 1);
      drawText(ctx, 'no example', centre, imageTop + IMAGE_SIZE / 2, { size: FONT_SIZE.caption, align: 'center', baseline: 'middle', color: '#777777' });
    }
  });
  return toPng(chart);
}
