import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Debian's `dataset-fashion-mnist` package installs the original IDX files here. */
export const DEBIAN_DATASET_DIR = '/usr/share/datasets/fashion-mnist';
const SAMPLE_DIR = fileURLToPath(new URL('../data/sample/', import.meta.url));

export interface DefaultDataset {
  description: string;
  train: string[];
  test: string[];
}

/** The full dataset where it is installed, else the small sample shipped in the repository. */
export function defaultDataset(debianDir = DEBIAN_DATASET_DIR): DefaultDataset {
  const idx = (name: string) => join(debianDir, name);
  const full = {
    train: [idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz')],
    test: [idx('t10k-images-idx3-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')],
  };
  if ([...full.train, ...full.test].every((path) => existsSync(path))) {
    return { description: `Fashion-MNIST from ${debianDir}`, ...full };
  }
  return {
    description: `the sample shipped in ${SAMPLE_DIR} (install Debian's dataset-fashion-mnist for the full 70,000 images)`,
    train: [join(SAMPLE_DIR, 'fashion-mnist_train-sample.csv.gz')],
    test: [join(SAMPLE_DIR, 'fashion-mnist_test-sample.csv.gz')],
  };
}
