import * as tf from '@tensorflow/tfjs';
import { assertChannelsLast, registerWasmKernel, transposed, upstreamKernel, type WasmKernelArgs } from './kernel-support.ts';

/**
 * A faster Conv2DBackpropInput for wasm. Upstream's kernel is a naive loop: on the
 * walkthrough's second conv layer it takes ~0.4 s a batch, more than everything else together.
 * With stride 1 the input gradient is itself a convolution, which upstream's Conv2D runs in
 * XNNPACK (~10x faster):
 *
 *   dx = conv2d(dy padded by (k-1-pad) before and (in-out+pad) after, filter flipped in space with in/out channels swapped)
 *
 * Strides above 1 would need zeros between dy's elements first; those (and pads too large for
 * the formula) go to the upstream kernel, which is slow but right.
 */
export function conv2dBackpropInputWasm(args: WasmKernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    inputShape: [number, number, number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat?: string;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  assertChannelsLast(dataFormat, tf.Conv2DBackpropInput);
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const padBefore = [info.filterHeight - 1 - info.padInfo.top, info.filterWidth - 1 - info.padInfo.left];
  const padAfter = [info.inHeight - info.outHeight + info.padInfo.top, info.inWidth - info.outWidth + info.padInfo.left];
  const convertible =
    info.strideHeight === 1 && info.strideWidth === 1 && [...padBefore, ...padAfter].every((p) => p >= 0) && dy.dtype === 'float32';
  if (!convertible) return upstreamKernel(tf.Conv2DBackpropInput)(args);

  const flipped = upstreamKernel(tf.Reverse)({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } });
  const swapped = transposed(backend, flipped, [0, 1, 3, 2]);
  backend.disposeData(flipped.dataId);
  const dx = upstreamKernel(tf.Conv2D)({
    inputs: { x: dy, filter: swapped },
    backend,
    attrs: {
      strides: [1, 1],
      pad: [
        [0, 0],
        [padBefore[0], padAfter[0]],
        [padBefore[1], padAfter[1]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  });
  backend.disposeData(swapped.dataId);
  return dx;
}

export function registerConv2dBackpropInputWasm(): void {
  registerWasmKernel(tf.Conv2DBackpropInput, conv2dBackpropInputWasm);
}
