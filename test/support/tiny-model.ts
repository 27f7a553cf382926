/**
 * A model small enough to train in a second on any backend, for tests of what surrounds
 * training (handlers, the Fargate entry, the local workflow); the default CNN is covered in
 * test/model.
 */
export const TINY_MODEL = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};
