import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import type { ReportInputs } from '../../lib/report/write-report.ts';
import { loadSklearnFixture } from './fixtures.ts';

/**
 * Report inputs for the page tests: scikit-learn's realistic 10 000-prediction case, images
 * drawn per label (a bar whose position is the label, so the grids are not blank), a history,
 * a training record and a lineage as the evaluate step passes them.
 */
export function realisticPageInputs(): ReportInputs & { yTrue: number[]; yPred: number[] } {
  const fixture = loadSklearnFixture('realistic_10000');
  const count = fixture.yTrue.length;
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) {
    const label = fixture.yTrue[i];
    for (let y = 4; y < 24; y++) {
      for (let x = 2 + label * 2; x < 6 + label * 2; x++) pixels[i * PIXELS_PER_IMAGE + y * 28 + x] = 200 + ((i + y) % 50);
    }
  }
  return {
    yTrue: fixture.yTrue,
    yPred: fixture.yPred,
    images: { images: pixels, labels: Uint8Array.from(fixture.yTrue), count },
    history: [
      { epoch: 1, loss: 0.52, accuracy: 0.81, val_loss: 0.37, val_accuracy: 0.87, seconds: 41.5 },
      { epoch: 2, loss: 0.35, accuracy: 0.87, val_loss: 0.31, val_accuracy: 0.89, seconds: 39.25 },
      { epoch: 3, loss: 0.3, accuracy: 0.89, val_loss: 0.28, val_accuracy: 0.9, seconds: 40 },
    ],
    loss: 0.2875,
    training: {
      runId: 'run-2026-12-02-abc',
      datasetId: 'f00dfeedc0ffee42',
      createdAt: '2026-12-02T18:00:00.000Z',
      backend: { name: 'tensorflow', tfjsVersion: '4.22.0', tensorflowVersion: '2.18.0', trainingStep: 'graph' },
      config: {
        epochs: 3,
        batchSize: 64,
        validationSplit: 0.2,
        learningRate: 0.001,
        seed: 42,
        model: {
          layers: [
            { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
            { type: 'maxPool2d', poolSize: 2 },
            { type: 'flatten' },
            { type: 'dense', units: 10, activation: 'softmax' },
          ],
        },
      },
      trainExamples: 48000,
      validationExamples: 12000,
      seconds: 120.75,
      imagesPerSecond: 1192.5,
    },
    lineage: {
      datasetId: 'f00dfeedc0ffee42',
      datasetCreatedAt: '2026-12-01T09:30:00.000Z',
      sources: [
        { split: 'train', name: 'train-images-idx3-ubyte.gz', bytes: 26421880, sha256: 'a'.repeat(64) },
        { split: 'train', name: 'train-labels-idx1-ubyte.gz', bytes: 29515, sha256: 'b'.repeat(64) },
        { split: 'test', name: 't10k-images-idx3-ubyte.gz', bytes: 4422102, sha256: 'c'.repeat(64) },
        { split: 'test', name: 't10k-labels-idx1-ubyte.gz', bytes: 5148, sha256: 'd'.repeat(64) },
      ],
      modelSha256: { 'model.json': '1'.repeat(64), 'weights.bin': '2'.repeat(64) },
      codeVersion: '0.1.0',
    },
  };
}
