import { FieldError, fieldErrorToConfigError } from './field-error.ts';
import { readChoice, readInteger, readNumber, readObject, readPositive } from './fields.ts';
import { deepFreeze, WALKTHROUGH_CNN, type ModelSpec } from './spec.ts';
import { parseModelSpec } from './spec-parse.ts';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Fraction of the examples, taken from the end as Keras' `validation_split` does. */
  validationSplit: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Seeds weight initialisation, dropout and the per-epoch shuffle. */
  seed: number;
  model: ModelSpec;
  backend: BackendPreference;
}

/** The walkthrough's `model.fit(X_train, y_train, epochs=10, batch_size=64, validation_split=0.2)` with Keras' Adam. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = deepFreeze({
  epochs: 10,
  batchSize: 64,
  validationSplit: 0.2,
  learningRate: 0.001,
  seed: 42,
  model: WALKTHROUGH_CNN,
  backend: 'auto',
});

const KEYS: readonly (keyof TrainConfig)[] = ['epochs', 'batchSize', 'validationSplit', 'learningRate', 'seed', 'model', 'backend'];

/**
 * Merges an untrusted config (a JSON file, CLI flags, a Lambda event) over the defaults.
 * `model`, when given, replaces the default model whole: half a merged layer stack would be
 * nobody's intended model.
 * @param source where the input came from, quoted in errors (a file name, "command line", …)
 * @throws ConfigError naming the source and the field path, e.g. `model.layers[2].units`
 */
export function parseTrainConfig(input: unknown, source = 'training config'): TrainConfig {
  try {
    const o = readObject(input ?? {}, '', KEYS);
    const d = DEFAULT_TRAIN_CONFIG;
    return {
      epochs: o.epochs === undefined ? d.epochs : readInteger(o.epochs, 'epochs', 1, 1000),
      batchSize: o.batchSize === undefined ? d.batchSize : readInteger(o.batchSize, 'batchSize', 1, 8192),
      validationSplit:
        o.validationSplit === undefined ? d.validationSplit : readNumber(o.validationSplit, 'validationSplit', 0, 1, true),
      learningRate: o.learningRate === undefined ? d.learningRate : readPositive(o.learningRate, 'learningRate', 1),
      seed: o.seed === undefined ? d.seed : readInteger(o.seed, 'seed', 0, 0xffffffff),
      model: o.model === undefined ? d.model : parseModelSpec(o.model, 'model'),
      backend: o.backend === undefined ? d.backend : readChoice(o.backend, 'backend', BACKEND_PREFERENCES),
    };
  } catch (error) {
    if (error instanceof FieldError) throw fieldErrorToConfigError(error, source);
    throw error;
  }
}
