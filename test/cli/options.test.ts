import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addTrainingOptions, trainConfigFromFlags, trainConfigOverrides, type TrainFlags } from '../../cli/options.ts';
import { PRESETS, presetFields } from '../../lib/model/presets.ts';
import { WALKTHROUGH_CNN } from '../../lib/model/spec.ts';

/** The flags commander parses from `args` for a command with the training options. */
function flagsOf(args: string[]): TrainFlags {
  const command = addTrainingOptions(new Command('train').exitOverride().configureOutput({ writeErr: () => {} }), { backend: true });
  command.parse(args, { from: 'user' });
  return command.opts<TrainFlags>();
}

describe('training flags: presets and the learning-rate schedule', () => {
  it('--preset strong starts from the preset, every field of it in the overrides', async () => {
    const flags = flagsOf(['--preset', 'strong']);
    const config = await trainConfigFromFlags(flags);
    assert.equal(config.learningRateSchedule, PRESETS.strong.learningRateSchedule);
    assert.equal(config.learningRate, PRESETS.strong.learningRate);
    assert.deepEqual(config.model, PRESETS.strong.model);
    assert.notDeepEqual(config.model, WALKTHROUGH_CNN);
    assert.deepEqual(Object.keys(await trainConfigOverrides(flags)).sort(), Object.keys(PRESETS.strong).sort());
  });

  it('a config file and flags override the preset field by field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fmnist-options-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ learningRate: 0.0005, epochs: 3 }));
    const config = await trainConfigFromFlags(flagsOf(['--preset', 'strong', '--config', file, '--epochs', '4', '--learning-rate-schedule', 'constant', '--precision', 'bfloat16']));
    assert.equal(config.learningRate, 0.0005, 'the file over the preset');
    assert.equal(config.epochs, 4, 'a flag over the file');
    assert.equal(config.learningRateSchedule, 'constant', 'a flag over the preset');
    assert.equal(config.precision, 'bfloat16');
    assert.deepEqual(config.model, PRESETS.strong.model, 'the rest is the preset');
  });

  it('without a preset the walkthrough is the default, and unknown names are refused', async () => {
    const config = await trainConfigFromFlags(flagsOf([]));
    assert.deepEqual(config.model, WALKTHROUGH_CNN);
    assert.equal(config.learningRateSchedule, undefined);
    assert.equal(config.precision, undefined, 'float32');
    assert.throws(() => flagsOf(['--precision', 'float16']), /--precision.*float16.*choices/s);
    assert.throws(() => flagsOf(['--preset', 'huge']), /--preset.*huge.*choices/s);
    assert.throws(() => flagsOf(['--learning-rate-schedule', 'linear']), /--learning-rate-schedule.*linear.*choices/s);
    assert.throws(() => presetFields('huge'), /unknown preset "huge": one of walkthrough, strong/);
    assert.throws(() => presetFields('toString'), /unknown preset "toString"/, 'only the presets themselves, not what objects inherit');
    const fields = presetFields('strong');
    (fields.model as { layers: unknown[] }).layers.pop();
    assert.equal(PRESETS.strong.model.layers.length, 10, 'a fresh copy each time');
  });
});
