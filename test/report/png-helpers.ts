import assert from 'node:assert/strict';
import { createCanvas, loadImage } from '@napi-rs/canvas';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Checks the PNG signature and first chunk by hand (independent of the canvas library) and returns the IHDR size. */
export function pngSize(png: Buffer): { width: number; height: number } {
  assert.ok(Buffer.isBuffer(png), 'a Buffer');
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  assert.equal(png.readUInt32BE(8), 13, 'IHDR length');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR', 'first chunk is IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export interface Pixels {
  width: number;
  height: number;
  rgb(x: number, y: number): [number, number, number];
  /** How many pixels have exactly this colour. */
  count(r: number, g: number, b: number): number;
  /** Bounding box of the pixels of exactly this colour, or null. */
  boundsOf(r: number, g: number, b: number): { left: number; top: number; right: number; bottom: number } | null;
}

export async function decodePng(png: Buffer): Promise<Pixels> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, image.width, image.height);
  const at = (x: number, y: number): number => (y * width + x) * 4;
  const matches = (i: number, r: number, g: number, b: number): boolean => data[i] === r && data[i + 1] === g && data[i + 2] === b;
  return {
    width,
    height,
    rgb: (x, y) => {
      const i = at(Math.round(x), Math.round(y));
      return [data[i], data[i + 1], data[i + 2]];
    },
    count: (r, g, b) => {
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (matches(i, r, g, b)) n++;
      return n;
    },
    boundsOf: (r, g, b) => {
      let box: { left: number; top: number; right: number; bottom: number } | null = null;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          if (!matches(at(x, y), r, g, b)) continue;
          box ??= { left: x, top: y, right: x, bottom: y };
          box.left = Math.min(box.left, x);
          box.right = Math.max(box.right, x);
          box.top = Math.min(box.top, y);
          box.bottom = Math.max(box.bottom, y);
        }
      }
      return box;
    },
  };
}
