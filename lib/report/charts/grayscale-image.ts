import { IMAGE_HEIGHT, IMAGE_WIDTH } from '../../data/classes.ts';
import type { Chart } from './canvas.ts';

/**
 * Draws one 28x28 image at `scale` screen pixels per image pixel, each pixel a solid block
 * (nearest neighbour) so the digit-sized images stay crisp instead of blurring. Pixel values are
 * shown as they are, 0 black to 255 white (plt.imshow(cmap='gray') with a fixed 0..255 range),
 * so every cell uses the same brightness scale.
 */
export function drawGrayscaleImage(ctx: Chart['ctx'], pixels: Uint8Array, left: number, top: number, scale: number): void {
  const width = IMAGE_WIDTH * scale;
  const height = IMAGE_HEIGHT * scale;
  const block = ctx.createImageData(width, height);
  for (let y = 0; y < height; y++) {
    const sourceRow = Math.floor(y / scale) * IMAGE_WIDTH;
    for (let x = 0; x < width; x++) {
      const value = pixels[sourceRow + Math.floor(x / scale)];
      const offset = (y * width + x) * 4;
      block.data[offset] = value;
      block.data[offset + 1] = value;
      block.data[offset + 2] = value;
      block.data[offset + 3] = 255;
    }
  }
  // putImageData writes raw pixels, untouched by smoothing settings or transforms.
  ctx.putImageData(block, Math.round(left), Math.round(top));
}
