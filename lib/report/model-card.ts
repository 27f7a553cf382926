import { formatFixed } from './python-format.ts';
import { averageScores, describeLayer, percent, reportAccuracy, score, type ReportPageData } from './report-page.ts';
import { dataChecksMarkdown } from './data-checks-section.ts';
import { classRows, topConfusions, weakestClasses } from './weaknesses.ts';

/**
 * report/model_card.md: what the model is for, what it was trained and tested on, how it scores
 * per class, where it is weak (from the confusion matrix) and its limits. Same inputs as the
 * report page (its charts are not used); deterministic, like every report file.
 */
export type ModelCardData = Omit<ReportPageData, 'charts'>;

/** Markdown table cells cannot hold a raw pipe or a line break. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

export function renderModelCard(data: ModelCardData): string {
  const { report, training, lineage } = data;
  const runId = training?.runId;
  const macro = averageScores(report, 'macro avg');
  const weighted = averageScores(report, 'weighted avg');
  const lines: string[] = [];
  lines.push(`# Model card: Fashion-MNIST classifier${runId ? ` (run ${cell(runId)})` : ''}`, '');

  lines.push('## Intended use', '');
  lines.push(
    'Classifies 28x28 greyscale images of clothing into the ten Fashion-MNIST classes. It is meant for',
    'learning, demonstrations and benchmarking this training pipeline, not for decisions about people or',
    'for images unlike Fashion-MNIST (colour photos, other sizes, several items per image).',
    '',
  );

  lines.push('## Data', '');
  if (lineage) {
    lines.push(`- Dataset id: \`${cell(lineage.datasetId)}\``);
    for (const s of lineage.sources) lines.push(`- ${cell(s.split)} source: \`${cell(s.name)}\` (${s.bytes} bytes, sha256 \`${cell(s.sha256)}\`)`);
    lines.push(...dataChecksMarkdown(data.dataChecks));
  } else {
    lines.push('- Dataset: not recorded');
  }
  if (training) lines.push(`- Training examples: ${training.trainExamples}, validation examples: ${training.validationExamples}`);
  lines.push(`- Test examples: ${macro.support}`, '');

  lines.push('## Metrics', '');
  lines.push(`- Accuracy: ${score(reportAccuracy(report))} (${percent(reportAccuracy(report))})`);
  if (data.loss !== undefined) lines.push(`- Loss: ${score(data.loss)}`);
  lines.push(`- Macro F1: ${score(macro['f1-score'])}`, `- Weighted F1: ${score(weighted['f1-score'])}`, '');

  lines.push('### By class', '');
  lines.push('| Class | Precision | Recall | F1 | Support |', '|---|---:|---:|---:|---:|');
  for (const r of classRows(report)) lines.push(`| ${cell(r.name)} | ${score(r.precision)} | ${score(r.recall)} | ${score(r['f1-score'])} | ${r.support} |`);
  lines.push('');

  lines.push('## Known weak classes', '');
  lines.push('Lowest F1:', '');
  for (const r of weakestClasses(report, 3)) {
    lines.push(`- ${cell(r.name)}: F1 ${score(r['f1-score'])} (precision ${score(r.precision)}, recall ${score(r.recall)})`);
  }
  lines.push('');
  const confusions = topConfusions(data.matrix, data.classNames, 5);
  if (confusions.length > 0) {
    lines.push('Most frequent confusions (true class -> predicted class):', '');
    for (const c of confusions) lines.push(`- ${cell(c.trueClass)} -> ${cell(c.predictedClass)}: ${c.count} images (${percent(c.shareOfClass)} of ${cell(c.trueClass)})`);
  } else {
    lines.push('No confusions: every test image was classified correctly.');
  }
  lines.push('');

  lines.push('## Training', '');
  if (training) {
    const { config, backend } = training;
    lines.push(
      `- Epochs: ${config.epochs}, batch size: ${config.batchSize}, learning rate (Adam): ${config.learningRate}${config.learningRateSchedule === 'cosine' ? ' (cosine decay to 0)' : ''}, validation split: ${config.validationSplit}, seed: ${config.seed}${config.augmentation?.horizontalFlip ? ', augmentation: random horizontal flips' : ''}${config.precision === 'bfloat16' ? ', convolutions in bfloat16' : ''}`,
      `- Backend: ${cell(backend.name)} (tfjs ${cell(backend.tfjsVersion)}${backend.tensorflowVersion ? `, TensorFlow ${cell(backend.tensorflowVersion)}` : ''}), training step: ${cell(backend.trainingStep ?? 'not recorded')}`,
      `- Training time: ${formatFixed(training.seconds, 1)} s (${formatFixed(training.imagesPerSecond, 0)} images/s)`,
      '- Layers:',
    );
    for (const layer of config.model.layers) lines.push(`  - \`${cell(describeLayer(layer))}\``);
  } else {
    lines.push('- Not recorded (no training.json next to the model).');
  }
  if (lineage?.codeVersion) lines.push(`- Code version: ${cell(lineage.codeVersion)}`);
  lines.push('');

  lines.push('## Limits', '');
  lines.push(
    '- Measured on one test split only; the figures above hold for images drawn like Fashion-MNIST\'s, centred, greyscale, on a plain background.',
    '- Classes that look alike (the weak classes above) are confused most; do not rely on single predictions for them.',
    '- The probabilities are not calibrated, and the model has no "none of these" answer: any input gets one of the ten classes.',
    '- A model trained with another seed or backend can score a little differently.',
    '',
  );
  return lines.join('\n');
}
