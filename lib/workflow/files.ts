/**
 * The one registry of file names inside a model directory and a report directory, shared by the
 * trainer's model files (lib/model/io.ts), the report writer, the handlers and the CLI. No
 * imports: the promote function uses it without loading tfjs or the chart renderer.
 */
export const MODEL_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  history: 'history.json',
  training: 'training.json',
} as const;

export const REPORT_FILES = {
  classificationReportJson: 'classification_report.json',
  classificationReportText: 'classification_report.txt',
  confusionMatrixJson: 'confusion_matrix.json',
  confusionMatrixPng: 'confusion_matrix.png',
  confusionMatrixNormalizedPng: 'confusion_matrix_normalized.png',
  learningCurvesPng: 'learning_curves.png',
  samplesPng: 'samples.png',
  misclassifiedPng: 'misclassified.png',
  metrics: 'metrics.json',
  predictions: 'predictions.txt',
  /** The self-contained report page (lib/report/report-page.ts). */
  indexHtml: 'index.html',
  /** lib/report/model-card.ts. */
  modelCard: 'model_card.md',
} as const;
