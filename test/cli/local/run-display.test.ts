import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LogDisplay } from '../../../cli/local/log-display.ts';
import { TrainingDisplay } from '../../../cli/local/training-display.ts';
import { DATASET_SUMMARY_MESSAGE, summarize } from '../../../lib/data/summary.ts';
import type { EpochLog } from '../../../lib/model/history.ts';

/**
 * The local run's presentation: training progress from the one progress channel (relayed from the
 * sandboxes), log records as logs. A log message is not a second source of epochs.
 */
const record = (message: string, extra: Record<string, unknown> = {}, level = 'INFO') => JSON.stringify({ level, message, service: 'fmnist-train', ...extra });

test('log records: the dataset summary becomes the walkthrough table; "epoch finished" is a log record like any other, not progress', () => {
  const lines: string[] = [];
  const display = new LogDisplay((line) => lines.push(line));
  const data = { images: new Uint8Array(784 * 2).fill(3), labels: new Uint8Array([9, 0]), count: 2 };
  display.line('ingest', record(DATASET_SUMMARY_MESSAGE, { split: 'train', summary: summarize(data) }));
  assert.match(lines.join('\n'), /^train split: 2 rows x 785 columns/);
  assert.match(lines.join('\n'), /Ankle boot/);

  lines.length = 0;
  display.line('train', record('epoch finished', { epoch: 1, loss: 0.5, accuracy: 0.8, seconds: 1 }));
  display.line('train', record('training started', { config: { epochs: 3 } }));
  assert.deepEqual(lines, [], 'INFO records are below the default level, and nothing is read out of them');
  display.line('train', record('checkpoint slow', { seconds: 9 }, 'WARN'));
  assert.deepEqual(lines, ['           [fmnist-train] WARN checkpoint slow {"seconds":9}']);
});

test('training progress drives the hooks: epoch begin, batches, epoch end; without hooks an epoch is a timeline line', () => {
  const calls: unknown[][] = [];
  const display = new TrainingDisplay(
    {
      onEpochBegin: (...args) => calls.push(['begin', ...args]),
      onBatchEnd: (...args) => calls.push(['batch', ...args]),
      onEpochEnd: (log) => calls.push(['end', log.epoch, log.loss]),
    },
    () => assert.fail('no timeline line when hooks take the epochs'),
  );
  const log: EpochLog = { epoch: 1, loss: 0.25, accuracy: 0.9, seconds: 2 };
  display.message('TrainOnLambda', { kind: 'epochBegin', epoch: 1, epochs: 2, batches: 10 });
  display.message('TrainOnLambda', { kind: 'batchEnd', epoch: 1, batch: 10, batches: 10, loss: 0.3, accuracy: 0.85 });
  display.message('TrainOnLambda', { kind: 'epochEnd', log });
  display.message('TrainOnLambda', { kind: 'epochEnd' }); // malformed: ignored
  display.message('TrainOnLambda', 'not a message');
  assert.deepEqual(calls, [
    ['begin', 1, 2, 10],
    ['batch', 1, 10, 10, { loss: 0.3, accuracy: 0.85 }],
    ['end', 1, 0.25],
  ]);

  const notes: string[] = [];
  const plain = new TrainingDisplay(undefined, (state, text) => notes.push(`${state}: ${text}`));
  plain.message('TrainOnFargate', { kind: 'epochBegin', epoch: 2, epochs: 2, batches: 10 });
  // A diverged loss (NaN) crosses the IPC channel as JSON null: shown as NaN, not dropped.
  plain.message('TrainOnFargate', JSON.parse(JSON.stringify({ kind: 'epochEnd', log: { ...log, epoch: 2, loss: Number.NaN, val_accuracy: 0.5 } })));
  assert.deepEqual(notes, ['TrainOnFargate: epoch 2/2 - loss NaN - accuracy 0.9000 - val_accuracy 0.5000 - 2.0 s']);
});

test('the progress relay sends what the training publishes over the IPC channel, and the process still exits by itself', async () => {
  const root = join(import.meta.dirname, '..', '..', '..');
  const script = `
    const { publishProgress } = await import(${JSON.stringify(pathToFileURL(join(root, 'lib/model/progress-channel.ts')).href)});
    publishProgress({ kind: 'epochBegin', epoch: 1, epochs: 1, batches: 3 });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(join(root, 'cli/local/cloud/progress-relay.ts')).href, '--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const messages: unknown[] = [];
  child.on('message', (message) => messages.push(message));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0);
  assert.deepEqual(messages, [{ type: 'progress', message: { kind: 'epochBegin', epoch: 1, epochs: 1, batches: 3 } }]);
});

test("a sandbox's lines that are not log records (TensorFlow's start-up notice) show only at DEBUG or with showNotices (FMNIST_DEBUG=1)", () => {
  const notice = 'I0000 00:00:1796304807.388561    7246 port.cc:153] oneDNN custom operations are on.';
  const lines: string[] = [];
  new LogDisplay((line) => lines.push(line)).line('train', notice);
  assert.equal(lines.length, 0, 'hidden by default');
  new LogDisplay((line) => lines.push(line), 'WARN', true).line('train', notice);
  assert.deepEqual(lines, [`           [train] ${notice}`]);
  lines.length = 0;
  new LogDisplay((line) => lines.push(line), 'DEBUG').line('train', notice);
  assert.equal(lines.length, 1, 'DEBUG shows them too, as before');
});
