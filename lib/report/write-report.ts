import { mkdir, writeFile } from 'node:fs/promises';
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
import type { LearningCurvePoint } from './charts/learning-curves.ts';

export interface ReportInputs {
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number>;
  classNames?: readonly string[];
  /** The training history (lib/model/history.ts' EpochLog records), for the learning curves. */
  history?: readonly LearningCurvePoint[];
  /** The evaluated images, same order as yTrue, for the sample and misclassified grids. */
  images?: LabeledImages;
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
