import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * What our wasm kernels share: typed access to the backend's heap and a way to call the
 * upstream kernels directly. Calling kernel functions (not tf ops) keeps intermediate results
 * off the engine's tape and out of its tensor bookkeeping, which is how upstream composite
 * kernels are written too; every intermediate must then be freed with `backend.disposeData`.
 */

export const WASM = 'wasm';

export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}
export type WasmKernel = (args: WasmKernelArgs) => tf.TensorInfo;

/** Upstream kernel configs, captured before the first replacement so replacements can delegate. */
const upstreamConfigs = new Map<string, tf.KernelConfig>();

export function upstreamKernel(kernelName: string): WasmKernel {
  const config = upstreamConfigs.get(kernelName) ?? tf.getKernel(kernelName, WASM);
  if (config === undefined) {
    throw new Error(`the wasm backend has no ${kernelName} kernel; import @tensorflow/tfjs-backend-wasm first`);
  }
  return config.kernelFunc as unknown as WasmKernel;
}

/**
 * Registers `kernelFunc` for `kernelName` on wasm, replacing any upstream kernel. The upstream
 * kernel's setupFunc is kept: it binds the wasm export that the upstream kernelFunc (which the
 * replacement may delegate to) calls, and the engine runs it when the backend initialises.
 */
export function registerWasmKernel(kernelName: string, kernelFunc: WasmKernel): void {
  const existing = tf.getKernel(kernelName, WASM);
  if (existing?.kernelFunc === (kernelFunc as unknown)) return;
  if (existing !== undefined) {
    if (!upstreamConfigs.has(kernelName)) upstreamConfigs.set(kernelName, existing);
    tf.unregisterKernel(kernelName, WASM);
  }
  tf.registerKernel({
    kernelName,
    backendName: WASM,
    setupFunc: upstreamConfigs.get(kernelName)?.setupFunc,
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  });
}

/** A float32 view of a tensor's data in the wasm heap. Re-take it after any allocation: the heap may move. */
export function heapFloats(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** The same data seen with another shape of equal size (no copy; upstream kernels take it as is). */
export function reshaped(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

export function transposed(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return upstreamKernel(tf.Transpose)({ inputs: { x }, backend, attrs: { perm } });
}

/** Plain `a @ b` on [1, m, k] x [1, k, n]: the only BatchMatMul form XNNPACK runs fast. */
export function matMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return upstreamKernel(tf.BatchMatMul)({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}

export function assertChannelsLast(dataFormat: unknown, kernelName: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernelName} on wasm supports only NHWC data, got dataFormat ${String(dataFormat)}`);
  }
}
