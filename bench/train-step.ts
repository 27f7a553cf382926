/**
 * The training step alone: `trainModel` on the full Fashion-MNIST (IDX) for a few epochs, the
 * walkthrough CNN or the same with batch normalization after each convolution, on the graph step
 * or the eager one. Prints the images/s of every epoch (48,000 training images / epoch wall time,
 * validation included, as bench/train.ts counts) and the last validation accuracy. For comparing
 * two versions of the code (run it in two checkouts, alternating) or the two steps; no Keras.
 *
 *   node --import tsx bench/train-step.ts [--epochs 3] [--step auto|graph|eager] [--batch-norm]
 */
import { parseArgs } from 'node:util';
import { parseTrainStep } from '../lib/model/choices.ts';
import { DEFAULT_TRAIN_CONFIG, parseTrainConfig } from '../lib/model/config.ts';
import type { LayerSpec } from '../lib/model/layers/index.ts';
import { trainModel } from '../lib/model/train.ts';
import { loadIdx } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, summarise } from './harness.ts';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    step: { type: 'string', default: 'auto' },
    'batch-norm': { type: 'boolean', default: false },
  },
});
const epochs = countFlag(values.epochs, 'epochs');
const trainStep = parseTrainStep(values.step, '--step');

const layers: LayerSpec[] = values['batch-norm']
  ? DEFAULT_TRAIN_CONFIG.model.layers.flatMap((layer): LayerSpec[] => (layer.type === 'conv2d' ? [layer, { type: 'batchNormalization' } as LayerSpec] : [layer]))
  : DEFAULT_TRAIN_CONFIG.model.layers;
const config = parseTrainConfig({ ...DEFAULT_TRAIN_CONFIG, epochs, model: { ...DEFAULT_TRAIN_CONFIG.model, layers } }, 'bench config');

console.log(`${describeMachine()}; load average ${currentLoad().toFixed(2)}`);
const data = await loadIdx('train');
const result = await trainModel(data, config, { trainStep, warn: (message) => console.warn(message) });
const trainImages = result.history.length > 0 ? Math.round(data.count * (1 - config.validationSplit)) : 0;
const rates = result.history.map((epoch) => trainImages / epoch.seconds);
const { median, min, max } = summarise(rates);
console.log(
  `${values['batch-norm'] ? 'walkthrough CNN + batch normalization' : 'walkthrough CNN'}, ${result.backend.name} ${result.backend.trainingStep} step: ` +
    `median epoch ${Math.round(median)} images/s (${Math.round(min)}–${Math.round(max)}), every epoch: ${rates.map(Math.round).join(', ')}; ` +
    `val_accuracy ${result.history.at(-1)?.val_accuracy?.toFixed(4)}; load average ${currentLoad().toFixed(2)}`,
);
result.model.dispose();
