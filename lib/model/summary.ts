import type * as tf from '@tensorflow/tfjs';

/**
 * Keras' `model.summary()` as data: one row per layer (name and type, output shape, parameters)
 * and the totals. tfjs' own model.summary() only prints through console.log; this is printed to
 * stderr by the CLI and recorded in training.json.
 */
export interface LayerSummary {
  /** Keras' default name: the type in snake case, numbered from the second of its type (`conv2d`, `conv2d_1`). */
  name: string;
  /** The Keras class: Conv2D, MaxPooling2D, Flatten, Dense, Dropout, BatchNormalization. */
  type: string;
  /** null is the batch dimension, as Keras prints None. */
  outputShape: (number | null)[];
  params: number;
  trainableParams: number;
}

export interface ModelSummary {
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

/**
 * The summary of a built model. Names are Keras' per-model defaults, not tfjs' (which numbers
 * layers per process: conv2d_Conv2D7), so the same config gives the same summary in every run.
 */
export function summarizeModel(model: tf.LayersModel): ModelSummary {
  const seen = new Map<string, number>();
  const layers = model.layers.map((layer): LayerSummary => {
    const type = layer.getClassName();
    const base = snakeCase(type);
    const index = seen.get(base) ?? 0;
    seen.set(base, index + 1);
    const trainableParams = layer.trainableWeights.reduce((sum, weight) => sum + sizeOf(weight.shape), 0);
    return {
      name: index === 0 ? base : `${base}_${index}`,
      type,
      outputShape: [...(layer.outputShape as (number | null)[])],
      params: layer.countParams(),
      trainableParams,
    };
  });
  const totalParams = layers.reduce((sum, layer) => sum + layer.params, 0);
  const trainableParams = layers.reduce((sum, layer) => sum + layer.trainableParams, 0);
  return { layers, totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams };
}

/** The table as Keras prints it: `Layer (type)`, `Output Shape`, `Param #`, then the totals. */
export function formatModelSummary(summary: ModelSummary): string[] {
  const rows = summary.layers.map((layer) => [`${layer.name} (${layer.type})`, `(${layer.outputShape.map((size) => size ?? 'None').join(', ')})`, grouped(layer.params)]);
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)) + 2);
  const line = (cells: string[]) => ' ' + cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join('').trimEnd();
  const width = widths.reduce((a, b) => a + b, 1);
  return [
    '_'.repeat(width),
    line(header),
    '='.repeat(width),
    ...rows.flatMap((row, i) => [line(row), ...(i < rows.length - 1 ? [''] : [])]),
    '='.repeat(width),
    `Total params: ${grouped(summary.totalParams)}`,
    `Trainable params: ${grouped(summary.trainableParams)}`,
    `Non-trainable params: ${grouped(summary.nonTrainableParams)}`,
    '_'.repeat(width),
  ];
}

/** Keras' to_snake_case: MaxPooling2D -> max_pooling2d, BatchNormalization -> batch_normalization. */
function snakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function sizeOf(shape: readonly (number | null)[]): number {
  return shape.reduce<number>((product, size) => product * (size ?? 1), 1);
}

function grouped(count: number): string {
  return count.toLocaleString('en-US');
}
