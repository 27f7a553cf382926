/**
 * Measures the peak resident memory of a short training run, for calibrating
 * lib/model/memory.ts. Not a test (it takes minutes and most of the machine's memory): run it by
 * hand, one config per process so each peak is its own.
 *
 *   node --import tsx test/workflow/support/measure-training-memory.ts '<config JSON>' <examples> [<steps>]
 *
 * Prints one JSON line: the config, the examples, the peak RSS (process.resourceUsage().maxRSS)
 * and the estimate. The data is random bytes: memory does not depend on the values. `steps`
 * (default 3) training steps run, then one validation pass; epochs are forced to 1.
 */
import { initBackend } from '../../../lib/model/backend.ts';
import { parseTrainConfig } from '../../../lib/model/config.ts';
import { estimateTrainingMemory } from '../../../lib/model/memory.ts';
import { trainModel } from '../../../lib/model/train.ts';

const [configJson = '{}', examplesArg = '0', stepsArg = '3'] = process.argv.slice(2);
const config = parseTrainConfig({ ...JSON.parse(configJson), epochs: 1, backend: 'tensorflow' }, 'argument');
const steps = Number(stepsArg);
// Unless given: enough examples for `steps` full batches after the validation split, and for
// the validation pass to run full 512-row batches (its peak can exceed training's).
const examples =
  Number(examplesArg) ||
  Math.max(Math.ceil((config.batchSize * steps) / (1 - config.validationSplit)), Math.ceil(512 / config.validationSplit) + 1);
const backend = await initBackend('tensorflow');
const baselineKiB = process.resourceUsage().maxRSS;
let seed = 12345;
const images = new Uint8Array(examples * 784);
for (let i = 0; i < images.length; i++) images[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24;
const labels = Uint8Array.from({ length: examples }, (_, i) => i % 10);
const started = performance.now();
const result = await trainModel({ images, labels, count: examples }, config);
result.model.dispose();
const estimate = estimateTrainingMemory(config);
console.log(
  JSON.stringify({
    backend: backend.name,
    trainingStep: result.backend.trainingStep,
    batchSize: config.batchSize,
    layers: config.model.layers,
    examples,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    afterInitMiB: Math.round(baselineKiB / 1024),
    peakMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    estimateMiB: Math.round(estimate.bytesFor(examples) / 2 ** 20),
    modelPartMiB: Math.round((estimate.stateBytes + estimate.activationBytes) / 2 ** 20),
  }),
);
