import cliProgress from 'cli-progress';
import type { TrainHooks } from '../lib/model/train.ts';
import { formatModelSummary } from '../lib/model/summary.ts';
import { formatEpochLine } from './local/progress.ts';

/**
 * Training progress for people: a bar per epoch on a terminal, and one plain line per epoch
 * otherwise (CI logs, pipes), so logs stay readable and greppable.
 */
export function trainingProgress(stream: NodeJS.WriteStream = process.stderr): TrainHooks {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function lineProgress(stream: NodeJS.WriteStream): TrainHooks {
  let totalEpochs = 0;
  return {
    onModelSummary: printSummary(stream),
    onEpochBegin(_epoch, epochs) {
      totalEpochs = epochs;
    },
    onEpochEnd(log) {
      stream.write(formatEpochLine(log, totalEpochs) + '\n');
    },
  };
}

function barProgress(stream: NodeJS.WriteStream): TrainHooks {
  let bar: cliProgress.SingleBar | undefined;
  let totalEpochs = 0;
  return {
    onModelSummary: printSummary(stream),
    onEpochBegin(epoch, epochs, batches) {
      totalEpochs = epochs;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} batches - loss {loss} - accuracy {accuracy} - {eta_formatted} left`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, 0, { loss: '-', accuracy: '-' });
    },
    onBatchEnd(_epoch, batch, _batches, logs) {
      bar?.update(batch, { loss: logs.loss.toFixed(4), accuracy: logs.accuracy.toFixed(4) });
    },
    onEpochEnd(log) {
      bar?.stop();
      bar = undefined;
      stream.write(formatEpochLine(log, totalEpochs) + '\n');
    },
  };
}

/** Keras' model.summary() table, before the first epoch. */
function printSummary(stream: NodeJS.WriteStream): NonNullable<TrainHooks['onModelSummary']> {
  return (summary) => stream.write(formatModelSummary(summary).join('\n') + '\n');
}
