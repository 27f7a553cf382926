import { ConfigError } from '../errors.ts';
import { deepFreeze } from './spec.ts';

/**
 * Named training configs (`--preset <name>`): config fields a run starts from, under any config
 * file and flags the user gives. "walkthrough" is the default (the Keras walkthrough's model and
 * fit). "strong" is the stronger recipe chosen by measurement (bench/README.md "A stronger
 * preset"): the figures and what else was tried are there.
 */
export const PRESETS = deepFreeze({
  walkthrough: {},
  strong: {
    batchSize: 128,
    learningRate: 0.0025,
    learningRateSchedule: 'cosine',
    model: {
      layers: [
        { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'dropout', rate: 0.25 },
        { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu', padding: 'same' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'dropout', rate: 0.25 },
        { type: 'flatten' },
        { type: 'dense', units: 512, activation: 'relu' },
        { type: 'dropout', rate: 0.5 },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    },
  },
} as const satisfies Record<string, Record<string, unknown>>);

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

/** A preset's config fields, as a fresh object to merge into; `name` is checked (a flag's value). */
export function presetFields(name: string): Record<string, unknown> {
  if (!Object.hasOwn(PRESETS, name)) throw new ConfigError(`unknown preset "${name}": one of ${PRESET_NAMES.join(', ')}`);
  return structuredClone(PRESETS[name as PresetName]) as Record<string, unknown>;
}
