/** File names inside a model directory and a report directory, shared by the CLI and the handlers. */
export const MODEL_FILES = {
  model: 'model.json',
  history: 'history.json',
  training: 'training.json',
} as const;

export const REPORT_FILES = {
  metrics: 'metrics.json',
  predictions: 'predictions.txt',
} as const;
