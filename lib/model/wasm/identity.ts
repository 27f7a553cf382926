import * as tf from '@tensorflow/tfjs';
import { registerWasmKernel, upstreamKernel, type WasmKernelArgs } from './kernel-support.ts';

/**
 * Identity for wasm that shares the data instead of copying it, as the cpu backend's does.
 * The engine clones every tensor it keeps for the backward pass, so during training upstream's
 * copying Identity duplicates each activation (1.4 MB per conv output on the walkthrough).
 * Sharing is safe for the same reason it is on cpu and in upstream's own Reshape: tensor data
 * is never written after creation (Variable.assign swaps the data, it does not overwrite it).
 */
export function identityWasm(args: WasmKernelArgs): tf.TensorInfo {
  const { inputs, backend } = args;
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return upstreamKernel(tf.Identity)(args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function registerIdentityWasm(): void {
  registerWasmKernel(tf.Identity, identityWasm);
}
