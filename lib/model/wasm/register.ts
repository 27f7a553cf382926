import { registerBatchMatMulWasm } from './batch-mat-mul.ts';
import { registerConv2dBackpropFilterWasm } from './conv2d-backprop-filter.ts';
import { registerConv2dBackpropInputWasm } from './conv2d-backprop-input.ts';
import { registerIdentityWasm } from './identity.ts';
import { registerMaxPoolGradWasm } from './max-pool-grad.ts';
import { registerSumWasm } from './sum.ts';

/**
 * Makes the wasm backend able to train conv nets, correctly and fast: adds the missing
 * Conv2DBackpropFilter, corrects MaxPoolGrad, and replaces the upstream kernels that made
 * training slow (Conv2DBackpropInput, transposed BatchMatMul, Sum over leading axes, copying
 * Identity). Call after importing @tensorflow/tfjs-backend-wasm (some of these delegate to
 * its kernels); calling again does nothing.
 */
export function registerWasmTrainingKernels(): void {
  registerConv2dBackpropFilterWasm();
  registerConv2dBackpropInputWasm();
  registerMaxPoolGradWasm();
  registerBatchMatMulWasm();
  registerSumWasm();
  registerIdentityWasm();
}
