import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStoredMetrics, readHistory } from '../../lib/workflow/evaluate-step.ts';

test('history.json is read through its schema: absent is none, a diverged loss is NaN, a bad field is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fmnist-history-'));
  try {
    assert.equal(await readHistory(dir), undefined);
    const epochs = [
      { epoch: 1, loss: 0.5, accuracy: 0.8, val_loss: 0.6, val_accuracy: 0.78, seconds: 1.5 },
      { epoch: 2, loss: NaN, accuracy: 0.1, seconds: 1.4 },
    ];
    await writeFile(join(dir, 'history.json'), JSON.stringify(epochs));
    const read = await readHistory(dir);
    assert.deepEqual(read?.[0], epochs[0]);
    assert.ok(Number.isNaN(read?.[1].loss));
    assert.equal(read?.[1].val_loss, undefined);

    await writeFile(join(dir, 'history.json'), JSON.stringify([{ ...epochs[0], accuracy: '0.8' }]));
    await assert.rejects(readHistory(dir), { name: 'ConfigError', message: new RegExp(`^${join(dir, 'history.json')}: \\[0\\]\\.accuracy: `) });
    await writeFile(join(dir, 'history.json'), '[{');
    await assert.rejects(readHistory(dir), /history\.json: not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a stored metrics.json counts as a complete report only with every field the result needs', () => {
  const complete = { accuracy: 0.9, loss: 0.3, macroF1: 0.89, weightedF1: 0.9, modelSha256: { 'model.json': 'a'.repeat(64), 'weights.bin': 'b'.repeat(64) }, files: [] };
  const { files: _files, ...needed } = complete;
  assert.deepEqual(parseStoredMetrics(complete, 'm.json'), needed);
  const { modelSha256: _sha, ...older } = complete;
  assert.throws(() => parseStoredMetrics(older, 's3://b/runs/r/report/metrics.json'), {
    name: 'ConfigError',
    message: /^s3:\/\/b\/runs\/r\/report\/metrics\.json exists but is not a complete report's metrics \(modelSha256: /,
  });
  assert.throws(() => parseStoredMetrics({ ...complete, modelSha256: { ...complete.modelSha256, 'weights.bin': 'B'.repeat(64) } }, 'm.json'), /modelSha256\.weights\.bin: must be a sha256/);
  assert.throws(() => parseStoredMetrics({ ...complete, loss: null }, 'm.json'), /\(loss: /);
});
