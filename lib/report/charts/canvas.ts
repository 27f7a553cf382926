import { createCanvas } from '@napi-rs/canvas';
import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import { ensureReportFont } from '../fonts.ts';

/** Matplotlib's default text and line colour. */
export const INK = '#262626';
export const FONT_SIZE = { title: 17, label: 15, tick: 13, caption: 13 } as const;

export interface Chart {
  canvas: Canvas;
  ctx: SKRSContext2D;
}

/** A white canvas with the report font ready; PNGs get an opaque background so they read on dark viewers too. */
export function createChart(width: number, height: number): Chart {
  ensureReportFont();
  const canvas = createCanvas(Math.ceil(width), Math.ceil(height));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return { canvas, ctx };
}

export function toPng(chart: Chart): Buffer {
  return chart.canvas.toBuffer('image/png');
}

export function setFont(ctx: SKRSContext2D, sizePx: number): void {
  ctx.font = `${sizePx}px "${ensureReportFont()}"`;
}

export function textWidth(ctx: SKRSContext2D, text: string, sizePx: number): number {
  setFont(ctx, sizePx);
  return ctx.measureText(text).width;
}

export interface TextOptions {
  size: number;
  color?: string;
  align?: SKRSContext2D['textAlign'];
  baseline?: SKRSContext2D['textBaseline'];
  /** Radians, clockwise, around (x, y). */
  rotation?: number;
}

export function drawText(ctx: SKRSContext2D, text: string, x: number, y: number, options: TextOptions): void {
  ctx.save();
  setFont(ctx, options.size);
  ctx.fillStyle = options.color ?? INK;
  ctx.textAlign = options.align ?? 'left';
  ctx.textBaseline = options.baseline ?? 'alphabetic';
  ctx.translate(x, y);
  if (options.rotation) ctx.rotate(options.rotation);
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

/** Shortens text with an ellipsis until it fits maxWidth, so a long custom class name cannot spill into a neighbour. */
export function fitText(ctx: SKRSContext2D, text: string, sizePx: number, maxWidth: number): string {
  if (textWidth(ctx, text, sizePx) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(ctx, `${chars.join('')}…`, sizePx) > maxWidth) chars.pop();
  return `${chars.join('')}…`;
}

/** Crisp 1-px lines: canvas strokes are centred on the coordinate, so half-pixel offsets avoid blur. */
export function crisp(coordinate: number): number {
  return Math.round(coordinate) + 0.5;
}
