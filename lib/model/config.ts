import { z } from 'zod';
import { integerIn, numberIn, oneOf, parseWith, positiveAtMost, strictObject } from '../validation.ts';
import { AugmentationConfig } from './augmentation.ts';
import { EarlyStoppingConfig } from './early-stopping.ts';
import { learningRateScheduleSchema } from './learning-rate.ts';
import { precisionSchema } from './precision.ts';
import { deepFreeze, ModelSpec, WALKTHROUGH_CNN } from './spec.ts';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

/**
 * A training configuration. Every field has the walkthrough's value as its default:
 * `model.fit(X_train, y_train, epochs=10, batch_size=64, validation_split=0.2)` with Keras' Adam.
 * `model`, when given, replaces the default model whole: half a merged layer stack would be
 * nobody's intended model.
 */
export const TrainConfig = strictObject({
  epochs: integerIn(1, 1000).default(10),
  batchSize: integerIn(1, 8192).default(64),
  /** Fraction of the examples, taken from the end as Keras' `validation_split` does. */
  validationSplit: numberIn(0, 1, true).default(0.2),
  /** Adam's learning rate. */
  learningRate: positiveAtMost(1).default(0.001),
  /** lib/model/learning-rate.ts; absent: constant, as the walkthrough trains. */
  learningRateSchedule: learningRateScheduleSchema.optional(),
  /** Seeds weight initialisation, dropout and the per-epoch shuffle. */
  seed: integerIn(0, 0xffffffff).default(42),
  model: ModelSpec.default(WALKTHROUGH_CNN),
  backend: oneOf(BACKEND_PREFERENCES).default('auto'),
  /** lib/model/precision.ts; absent: float32. */
  precision: precisionSchema.optional(),
  /** lib/model/augmentation.ts; absent: batches as they are. */
  augmentation: AugmentationConfig.optional(),
  /** Keras' EarlyStopping callback (lib/model/early-stopping.ts); absent: every epoch trains. */
  earlyStopping: EarlyStoppingConfig.optional(),
}).superRefine(
  (config, context) => {
    const monitor = config.earlyStopping?.monitor;
    if (monitor?.startsWith('val_') && config.validationSplit === 0) {
      context.addIssue({
        code: 'custom',
        path: ['earlyStopping', 'monitor'],
        message: `"${monitor}" is only logged with a validation split (validationSplit is 0): monitor "${monitor.slice(4)}", or set validationSplit`,
      });
    }
  },
  { when: (payload) => payload.issues.length === 0 },
);
export type TrainConfig = z.output<typeof TrainConfig>;

export const DEFAULT_TRAIN_CONFIG: TrainConfig = deepFreeze(TrainConfig.parse({}));

/**
 * Validates an untrusted config (a JSON file, CLI flags, a Lambda event) and fills in the
 * defaults. Parse once where the config comes in; inside the process a TrainConfig is trusted.
 * @param source where the input came from, quoted in errors (a file name, "command line", …)
 * @throws ConfigError naming the source and the field path, e.g. `model.layers[2].units`
 */
export function parseTrainConfig(input: unknown, source = 'training config'): TrainConfig {
  return parseWith(TrainConfig, input ?? {}, source);
}
