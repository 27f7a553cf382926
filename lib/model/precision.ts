import { oneOf } from '../validation.ts';

/**
 * What the convolutions compute in. "float32" (the default): everything in float32, as the
 * walkthrough trains. "bfloat16": each convolution (forward, input and kernel gradients) casts its
 * operands to bfloat16 and its result back, like Keras' `mixed_bfloat16` policy for those layers;
 * weights, the optimiser, dense layers, the loss and every prediction stay float32. oneDNN runs
 * bfloat16 convolutions on AMX / AVX512-BF16 units where the CPU has them (recent Intel Xeons,
 * AWS Graviton 3 and later); elsewhere TensorFlow converts and may run slower than float32. Dense
 * layers in bfloat16 did not train faster here, so they stay float32. Needs the graph training
 * step (native TensorFlow): tfjs' eager kernels have no bfloat16.
 */
export const PRECISIONS = ['float32', 'bfloat16'] as const;
export type Precision = (typeof PRECISIONS)[number];
export const precisionSchema = oneOf(PRECISIONS);
