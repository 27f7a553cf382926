import * as tf from '@tensorflow/tfjs';
import { heapFloats, registerWasmKernel, upstreamKernel, type WasmKernelArgs } from './kernel-support.ts';

/**
 * Sum for wasm, faster when reducing leading axes. Upstream transposes the reduced axes to
 * the end before summing, which for a conv layer's bias gradient (dy summed over batch,
 * height and width) copies the whole activation gradient: ~8 ms on the walkthrough's first
 * layer. Summing rows of the [rows, columns] view in place needs no copy. Accumulates in
 * float64 (as the cpu backend does). Other reductions go upstream.
 */
export function sumWasm(args: WasmKernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (!leading || x.dtype !== 'float32') return upstreamKernel(tf.Sum)(args);

  const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const kept = x.shape.slice(axes.length);
  const columns = kept.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
  const values = heapFloats(backend, x);
  heapFloats(backend, out).set(sumRows(values, rows, columns));
  return out;
}

/** Column sums of a row-major [rows, columns] matrix; four rows per pass quarters the loads and stores of the totals. */
function sumRows(values: Float32Array, rows: number, columns: number): Float64Array {
  const totals = new Float64Array(columns);
  let r = 0;
  let offset = 0;
  for (; r + 4 <= rows; r += 4, offset += 4 * columns) {
    for (let c = 0, i = offset; c < columns; c++, i++) {
      totals[c] += values[i] + values[i + columns] + (values[i + 2 * columns] + values[i + 3 * columns]);
    }
  }
  for (; r < rows; r++, offset += columns) {
    for (let c = 0; c < columns; c++) totals[c] += values[offset + c];
  }
  return totals;
}

export function registerSumWasm(): void {
  registerWasmKernel(tf.Sum, sumWasm);
}
