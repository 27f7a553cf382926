import { mkdir, writeFile } from 'node:fs/promises';
import type { ManifestChecks } from '../data/manifest-checks.ts';
import { join } from 'node:path';
import { CLASS_NAMES } from '../data/classes.ts';
import { renderConfusionMatrixPng } from './charts/confusion-matrix.ts';
import { renderLearningCurvesPng } from './charts/learning-curves.ts';
import { renderMisclassifiedGridPng } from './charts/misclassified-grid.ts';
import { renderSampleGridPng } from './charts/sample-grid.ts';
import { classificationReport, formatClassificationReport } from './classification-report.ts';
import { confusionMatrix, normalizeRows } from './confusion-matrix.ts';
import type { LabeledImages } from '../data/dataset.ts';
import { REPORT_FILES } from '../workflow/files.ts';
import { renderModelCard, type ModelCardData } from './model-card.ts';
import { percent, renderReportPage, type ChampionComparison, type HistoryPoint, type Lineage, type ReportChart, type TrainingSummary } from './report-page.ts';
import { classRows, topConfusions } from './weaknesses.ts';

export interface ReportInputs {
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number>;
  classNames?: readonly string[];
  /** The training history (lib/model/history.ts' EpochLog records), for the learning curves. */
  history?: readonly HistoryPoint[];
  /** The evaluated images, same order as yTrue, for the sample and misclassified grids. */
  images?: LabeledImages;
  /** The test loss, shown on the page and the model card. */
  loss?: number;
  /** The model's training.json, for the training config, backend and timings. */
  training?: TrainingSummary;
  /** Dataset id, its source files with checksums (from the manifest), model checksums, code version. */
  lineage?: Lineage;
  /** The champion this run was judged against, when the caller knows it (not Evaluate: promotion comes later). */
  champion?: ChampionComparison;
  /** The dataset's data checks (its manifest's `checks`). */
  dataChecks?: ManifestChecks;
}

/** File name -> contents; strings are UTF-8 text. Insertion order is the order files are written. */
export type ReportFiles = Record<string, Buffer | string>;

/**
 * Every report file in memory, without touching the disk, so a Lambda can upload them straight
 * to S3. Optional charts appear only when their inputs are given (and a history has epochs).
 */
export function buildReportFiles(inputs: ReportInputs): ReportFiles {
  const classNames = inputs.classNames ?? CLASS_NAMES;
  const report = classificationReport(inputs.yTrue, inputs.yPred, classNames);
  const matrix = confusionMatrix(inputs.yTrue, inputs.yPred, classNames.length);

  const files: ReportFiles = {
    [REPORT_FILES.classificationReportJson]: toJson(report),
    [REPORT_FILES.classificationReportText]: formatClassificationReport(report),
    [REPORT_FILES.confusionMatrixJson]: confusionMatrixJson(classNames, matrix),
    [REPORT_FILES.confusionMatrixPng]: renderConfusionMatrixPng(matrix, { classNames }),
    [REPORT_FILES.confusionMatrixNormalizedPng]: renderConfusionMatrixPng(normalizeRows(matrix), {
      classNames,
      normalized: true,
    }),
  };
  if (inputs.history && inputs.history.length > 0) {
    files[REPORT_FILES.learningCurvesPng] = renderLearningCurvesPng(inputs.history);
  }
  if (inputs.images) {
    assertImagesMatchLabels(inputs.images, inputs.yTrue);
    files[REPORT_FILES.samplesPng] = renderSampleGridPng(inputs.images, classNames);
    files[REPORT_FILES.misclassifiedPng] = renderMisclassifiedGridPng(inputs.images, inputs.yPred, classNames);
  }
  const pageData = {
    report,
    matrix,
    classNames,
    loss: inputs.loss,
    training: inputs.training,
    history: inputs.history,
    lineage: inputs.lineage,
    champion: inputs.champion,
    dataChecks: inputs.dataChecks,
  };
  files[REPORT_FILES.indexHtml] = renderReportPage({ ...pageData, charts: reportCharts(files, pageData) });
  files[REPORT_FILES.modelCard] = renderModelCard(pageData);
  return files;
}

/** Writes the report files into outDir (created if missing) and returns their names. */
export async function writeReport(outDir: string, inputs: ReportInputs): Promise<string[]> {
  const files = buildReportFiles(inputs);
  await mkdir(outDir, { recursive: true });
  for (const [name, contents] of Object.entries(files)) {
    await writeFile(join(outDir, name), contents);
  }
  return Object.keys(files);
}

/** The PNG files built above, in page order, each with a title and an alt text drawn from the data it plots. */
function reportCharts(files: ReportFiles, data: ModelCardData): ReportChart[] {
  const total = data.matrix.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  const [top] = topConfusions(data.matrix, data.classNames, 1);
  const byRecall = [...classRows(data.report)].sort((a, b) => a.recall - b.recall);
  const wrong = total - data.matrix.reduce((sum, row, i) => sum + row[i], 0);
  const history = data.history ?? [];
  const last = history.at(-1);
  const finalFigures = last
    ? last.val_accuracy === undefined
      ? `final training accuracy ${percent(last.accuracy)}`
      : `final training accuracy ${percent(last.accuracy)}, validation accuracy ${percent(last.val_accuracy)}`
    : '';
  const charts: Omit<ReportChart, 'png'>[] = [
    {
      file: REPORT_FILES.confusionMatrixPng,
      title: 'Confusion matrix (counts)',
      alt:
        `Confusion matrix of ${total} test images, true class by row and predicted class by column, ${total - wrong} on the diagonal (correct). ` +
        (top ? `The largest off-diagonal cell: ${top.trueClass} predicted as ${top.predictedClass}, ${top.count} images.` : 'No image is off the diagonal.'),
    },
    {
      file: REPORT_FILES.confusionMatrixNormalizedPng,
      title: 'Confusion matrix (share of each true class)',
      alt: `Confusion matrix with each row divided by its class's size, so the diagonal is each class's recall: lowest ${byRecall[0].name} ${percent(byRecall[0].recall)}, highest ${byRecall.at(-1)!.name} ${percent(byRecall.at(-1)!.recall)}.`,
    },
    {
      file: REPORT_FILES.learningCurvesPng,
      title: 'Learning curves',
      alt: `Loss and accuracy per epoch over ${history.length} epochs, training and validation; ${finalFigures}.`,
    },
    { file: REPORT_FILES.samplesPng, title: 'Sample test images', alt: 'A grid of test images, each captioned with its true class.' },
    {
      file: REPORT_FILES.misclassifiedPng,
      title: 'Misclassified test images',
      alt: `Test images the model got wrong, each captioned with its true and predicted class; ${wrong} of ${total} test images were misclassified.`,
    },
  ];
  return charts.filter((chart) => files[chart.file] !== undefined).map((chart) => ({ ...chart, png: files[chart.file] as Buffer }));
}

function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `{ classNames, matrix }` with one matrix row per line, so the file reads as a table. */
function confusionMatrixJson(classNames: readonly string[], matrix: number[][]): string {
  const list = (values: readonly (string | number)[]): string => `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
  const rows = matrix.map((row) => `    ${list(row)}`).join(',\n');
  return `{\n  "classNames": ${list(classNames)},\n  "matrix": [\n${rows}\n  ]\n}\n`;
}

/** The grids caption images with images.labels; they must be the labels the metrics were computed from. */
function assertImagesMatchLabels(images: LabeledImages, yTrue: ArrayLike<number>): void {
  if (images.count !== yTrue.length) {
    throw new RangeError(`images holds ${images.count} examples but yTrue has ${yTrue.length}`);
  }
  for (let i = 0; i < yTrue.length; i++) {
    if (images.labels[i] !== yTrue[i]) {
      throw new RangeError(`images.labels[${i}] = ${images.labels[i]} but yTrue[${i}] = ${yTrue[i]}: not the same examples in the same order`);
    }
  }
}
