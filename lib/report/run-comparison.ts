import type { ClassificationReport } from './classification-report.ts';
import { formatFixed } from './python-format.ts';
import { averageScores, reportAccuracy, type TrainingSummary } from './report-page.ts';
import { classRows } from './weaknesses.ts';

/**
 * Two runs side by side (`fmnist runs compare <a> <b>`): what differs in their training config,
 * their metrics, their per-class scores and which confusions grew or shrank. Pure: artifacts in,
 * a JSON-ready comparison out; every delta is b − a. lib/workflow/run-artifacts.ts reads and
 * validates the files a run leaves; run-comparison-page.ts renders the comparison as HTML.
 */

/** What a run's training.json holds beyond the page's summary: its cost estimate, when trained on AWS. */
export interface RunTraining extends TrainingSummary {
  cost?: { usd: number };
}

/** What metrics.json adds to the classification report: the loss and which test set was used. */
export interface RunEvaluation {
  loss?: number;
  datasetId?: string;
  /** lib/data/test-set-id.ts: equal ids mean the same test images in the same order. */
  testSetId?: string;
}

/** The files a run leaves under runs/<runId>/, parsed (lib/workflow/run-artifacts.ts). */
export interface RunArtifacts {
  runId: string;
  /** report/classification_report.json. */
  classificationReport: ClassificationReport;
  /** report/confusion_matrix.json: rows are the true class, columns the predicted class, both labelled by classNames. */
  confusionMatrix: readonly (readonly number[])[];
  classNames: readonly string[];
  /** model/training.json; absent for a model trained before records existed. */
  training?: RunTraining;
  /** report/metrics.json's loss and test set id, when present. */
  evaluation?: RunEvaluation;
}

/** One field of the training config that differs; a side without the field has no `a`/`b` key. */
export interface ConfigDifference {
  /** e.g. `model.layers[2].units`, relative to the config. */
  path: string;
  a?: unknown;
  b?: unknown;
}

export type MetricKind = 'score' | 'loss' | 'seconds' | 'rate' | 'usd';

export interface MetricComparison {
  name: string;
  kind: MetricKind;
  /** Which direction is an improvement. */
  better: 'higher' | 'lower';
  a?: number;
  b?: number;
  /** b − a, when both are known. */
  delta?: number;
  /** (b − a) / a, when both are known and a is not 0. */
  relativeDelta?: number;
}

export interface ScoreTriple {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassComparison {
  name: string;
  a: ScoreTriple & { support: number };
  b: ScoreTriple & { support: number };
  /** b − a for each score. */
  delta: ScoreTriple;
}

export interface ConfusionSide {
  count: number;
  /** count / the true class's size in that run's test set (0 for an empty class). */
  share: number;
}

export interface ConfusionChange {
  trueClass: string;
  predictedClass: string;
  a: ConfusionSide;
  b: ConfusionSide;
  countDelta: number;
  shareDelta: number;
}

export interface TestSetComparison {
  a?: string;
  b?: string;
  /** true/false when both runs recorded a test set id; undefined when either did not. */
  sameId?: boolean;
  /** Total test images of each run (the confusion matrices' sums). */
  examples: { a: number; b: number };
  /** Every class has the same number of test images in both runs (the confusion matrices' row sums). */
  sameClassSizes: boolean;
}

export interface RunComparison {
  a: RunSummary;
  b: RunSummary;
  testSet: TestSetComparison;
  /**
   * How confusions are compared: 'counts' when the two runs were evaluated on the same test set
   * (same id, or no ids recorded and the same class sizes); otherwise 'rates', each cell as a share
   * of its true class, because counts over different test sets do not measure the same thing.
   */
  confusionBasis: 'counts' | 'rates';
  /** Caveats a reader must see before the numbers (different test sets, missing records). */
  notes: string[];
  /** Every training-config field that differs; undefined when either run has no training record. */
  configDifferences?: ConfigDifference[];
  /** Differences in the training backend (name, versions, threads, training step); same convention. */
  backendDifferences?: ConfigDifference[];
  metrics: MetricComparison[];
  classes: ClassComparison[];
  /** The changed off-diagonal cells, largest change first (by |countDelta| or |shareDelta|, per confusionBasis), at most `topConfusions`. */
  confusions: ConfusionChange[];
  /** How many off-diagonal cells changed in all (confusions holds the first of them). */
  changedConfusionCount: number;
}

export interface RunSummary {
  runId: string;
  datasetId?: string;
  testSetId?: string;
  createdAt?: string;
  backend?: string;
  trainExamples?: number;
}

export interface CompareOptions {
  /** How many changed confusions to keep; default 10. */
  topConfusions?: number;
}

export const DEFAULT_TOP_CONFUSIONS = 10;

/**
 * Compares run b against run a. Both must label the same classes in the same order (a
 * comparison of different label sets has no per-class meaning: RangeError naming them).
 */
export function compareRuns(a: RunArtifacts, b: RunArtifacts, options: CompareOptions = {}): RunComparison {
  assertSameClasses(a, b);
  assertMatrixShape(a);
  assertMatrixShape(b);
  const testSet = compareTestSets(a, b);
  const confusionBasis = testSet.sameId !== false && testSet.sameClassSizes ? 'counts' : 'rates';
  const notes = comparisonNotes(a, b, testSet);

  const { changed, total } = changedConfusions(a, b, confusionBasis, options.topConfusions ?? DEFAULT_TOP_CONFUSIONS);
  return {
    a: runSummary(a),
    b: runSummary(b),
    testSet,
    confusionBasis,
    notes,
    configDifferences: a.training && b.training ? diffValues(a.training.config, b.training.config) : undefined,
    backendDifferences: a.training && b.training ? diffValues(a.training.backend, b.training.backend) : undefined,
    metrics: compareMetrics(a, b),
    classes: compareClasses(a, b),
    confusions: changed,
    changedConfusionCount: total,
  };
}

/**
 * Every leaf where two JSON values differ, by path: objects by key (a's key order, then keys only
 * b has), arrays by index. A field present on one side only is listed with that side's value.
 * A value that changes kind (object, array, scalar) is one difference at its path.
 */
export function diffValues(a: unknown, b: unknown, path = ''): ConfigDifference[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((key) => !Object.hasOwn(a, key))];
    return keys.flatMap((key) => {
      const child = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(b, key)) return [{ path: child, a: a[key] }];
      if (!Object.hasOwn(a, key)) return [{ path: child, b: b[key] }];
      return diffValues(a[key], b[key], child);
    });
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => i).flatMap((i) => {
      const child = `${path}[${i}]`;
      if (i >= b.length) return [{ path: child, a: a[i] }];
      if (i >= a.length) return [{ path: child, b: b[i] }];
      return diffValues(a[i], b[i], child);
    });
  }
  return Object.is(a, b) ? [] : [{ path, a, b }];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertSameClasses(a: RunArtifacts, b: RunArtifacts): void {
  const same = a.classNames.length === b.classNames.length && a.classNames.every((name, i) => name === b.classNames[i]);
  if (!same) {
    throw new RangeError(`runs ${a.runId} and ${b.runId} label different classes (${a.classNames.join(', ')} / ${b.classNames.join(', ')}): nothing to compare class by class`);
  }
}

function assertMatrixShape(run: RunArtifacts): void {
  const n = run.classNames.length;
  if (run.confusionMatrix.length !== n || run.confusionMatrix.some((row) => row.length !== n)) {
    throw new RangeError(`run ${run.runId}: confusion matrix is not ${n}x${n}, one row and column per class`);
  }
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
const rowSums = (matrix: readonly (readonly number[])[]): number[] => matrix.map(sum);

function compareTestSets(a: RunArtifacts, b: RunArtifacts): TestSetComparison {
  const idA = a.evaluation?.testSetId;
  const idB = b.evaluation?.testSetId;
  const sizesA = rowSums(a.confusionMatrix);
  const sizesB = rowSums(b.confusionMatrix);
  return {
    ...(idA === undefined ? {} : { a: idA }),
    ...(idB === undefined ? {} : { b: idB }),
    ...(idA !== undefined && idB !== undefined ? { sameId: idA === idB } : {}),
    examples: { a: sum(sizesA), b: sum(sizesB) },
    sameClassSizes: sizesA.every((size, i) => size === sizesB[i]),
  };
}

function comparisonNotes(a: RunArtifacts, b: RunArtifacts, testSet: TestSetComparison): string[] {
  const notes: string[] = [];
  if (testSet.sameId === false) {
    notes.push(
      `Evaluated on different test sets (${shortId(testSet.a!)} and ${shortId(testSet.b!)}, ${testSet.examples.a} and ${testSet.examples.b} images): ` +
        'the scores are not measured on the same images, and confusions are compared as shares of each true class.',
    );
  } else if (testSet.sameId === undefined) {
    if (testSet.sameClassSizes) {
      notes.push(`No test set id recorded for ${testSet.a === undefined && testSet.b === undefined ? 'either run' : `run ${testSet.a === undefined ? a.runId : b.runId}`}; the class sizes match (${testSet.examples.a} images), so counts are compared as if on the same test set.`);
    } else {
      notes.push(
        `The test sets differ in size (${testSet.examples.a} and ${testSet.examples.b} images, or per class): counts are not comparable, so confusions are compared as shares of each true class.`,
      );
    }
  } else if (!testSet.sameClassSizes) {
    // Same id but different class sizes: the files contradict their id; say so rather than guess.
    notes.push('Same test set id but different class sizes in the confusion matrices: the stored files disagree; confusions are compared as shares of each true class.');
  }
  for (const run of [a, b]) {
    if (!run.training) notes.push(`Run ${run.runId} has no training record (training.json): no config, timings or cost to compare.`);
  }
  return notes;
}

const shortId = (id: string): string => id.slice(0, 12);

function runSummary(run: RunArtifacts): RunSummary {
  const training = run.training;
  const summary: RunSummary = { runId: run.runId };
  const datasetId = training?.datasetId ?? run.evaluation?.datasetId;
  if (datasetId !== undefined) summary.datasetId = datasetId;
  if (run.evaluation?.testSetId !== undefined) summary.testSetId = run.evaluation.testSetId;
  if (training) {
    summary.createdAt = training.createdAt;
    summary.backend = [training.backend.name, training.backend.trainingStep, training.backend.threads ? `${training.backend.threads} threads` : undefined].filter(Boolean).join(', ');
    summary.trainExamples = training.trainExamples;
  }
  return summary;
}

function compareMetrics(a: RunArtifacts, b: RunArtifacts): MetricComparison[] {
  const figures = (run: RunArtifacts) => ({
    accuracy: reportAccuracy(run.classificationReport),
    macroF1: averageScores(run.classificationReport, 'macro avg')['f1-score'],
    weightedF1: averageScores(run.classificationReport, 'weighted avg')['f1-score'],
    loss: run.evaluation?.loss,
    seconds: run.training?.seconds,
    imagesPerSecond: run.training?.imagesPerSecond,
    usd: run.training?.cost?.usd,
  });
  const fa = figures(a);
  const fb = figures(b);
  const rows: [string, keyof typeof fa, MetricKind, 'higher' | 'lower'][] = [
    ['Accuracy', 'accuracy', 'score', 'higher'],
    ['Macro F1', 'macroF1', 'score', 'higher'],
    ['Weighted F1', 'weightedF1', 'score', 'higher'],
    ['Test loss', 'loss', 'loss', 'lower'],
    ['Training seconds', 'seconds', 'seconds', 'lower'],
    ['Images/s', 'imagesPerSecond', 'rate', 'higher'],
    ['Training cost (USD, estimate)', 'usd', 'usd', 'lower'],
  ];
  return rows
    .filter(([, key]) => fa[key] !== undefined || fb[key] !== undefined)
    .map(([name, key, kind, better]) => {
      const metric: MetricComparison = { name, kind, better };
      const [va, vb] = [fa[key], fb[key]];
      if (va !== undefined) metric.a = va;
      if (vb !== undefined) metric.b = vb;
      if (va !== undefined && vb !== undefined) {
        metric.delta = vb - va;
        if (va !== 0) metric.relativeDelta = (vb - va) / va;
      }
      return metric;
    });
}

function compareClasses(a: RunArtifacts, b: RunArtifacts): ClassComparison[] {
  const rowsA = new Map(classRows(a.classificationReport).map((row) => [row.name, row]));
  const rowsB = new Map(classRows(b.classificationReport).map((row) => [row.name, row]));
  return a.classNames.map((name) => {
    const ra = rowsA.get(name);
    const rb = rowsB.get(name);
    if (!ra || !rb) throw new RangeError(`the classification report of run ${(ra ? b : a).runId} has no class "${name}"`);
    const side = (r: typeof ra) => ({ precision: r.precision, recall: r.recall, f1: r['f1-score'], support: r.support });
    return {
      name,
      a: side(ra),
      b: side(rb),
      delta: { precision: rb.precision - ra.precision, recall: rb.recall - ra.recall, f1: rb['f1-score'] - ra['f1-score'] },
    };
  });
}

function changedConfusions(a: RunArtifacts, b: RunArtifacts, basis: 'counts' | 'rates', top: number): { changed: ConfusionChange[]; total: number } {
  const sizesA = rowSums(a.confusionMatrix);
  const sizesB = rowSums(b.confusionMatrix);
  const share = (count: number, size: number) => (size === 0 ? 0 : count / size);
  // A share change as an exact fraction (in integers), so equal changes tie and float noise
  // (0.1 − 0.3 is not −0.2) neither invents a change nor reorders ties.
  const change = (t: number, p: number): { numerator: bigint; denominator: bigint } => {
    const [ca, cb, na, nb] = [a.confusionMatrix[t][p], b.confusionMatrix[t][p], sizesA[t], sizesB[t]].map(BigInt);
    if (basis === 'counts') return { numerator: cb - ca, denominator: 1n };
    // An empty class's shares are 0 (see `share`).
    const [sa, da] = na === 0n ? [0n, 1n] : [ca, na];
    const [sb, db] = nb === 0n ? [0n, 1n] : [cb, nb];
    return { numerator: sb * da - sa * db, denominator: da * db };
  };
  const cells: { cell: ConfusionChange; size: { numerator: bigint; denominator: bigint } }[] = [];
  a.classNames.forEach((trueClass, t) => {
    a.classNames.forEach((predictedClass, p) => {
      if (t === p) return;
      const size = change(t, p);
      if (size.numerator === 0n) return;
      if (size.numerator < 0n) size.numerator = -size.numerator;
      const ca = a.confusionMatrix[t][p];
      const cb = b.confusionMatrix[t][p];
      const sa = share(ca, sizesA[t]);
      const sb = share(cb, sizesB[t]);
      cells.push({ cell: { trueClass, predictedClass, a: { count: ca, share: sa }, b: { count: cb, share: sb }, countDelta: cb - ca, shareDelta: sb - sa }, size });
    });
  });
  // Largest change first; the sort is stable, so equal changes stay in row-major order.
  cells.sort((x, y) => {
    const left = y.size.numerator * x.size.denominator;
    const right = x.size.numerator * y.size.denominator;
    return left > right ? 1 : left < right ? -1 : 0;
  });
  return { changed: cells.slice(0, Math.max(0, top)).map(({ cell }) => cell), total: cells.length };
}

// ---- terminal text ----

/** A signed figure: "+0.0188", "-3", and "0.0000" (no sign) when it rounds to zero. */
export function signed(value: number, digits: number, minus = '-'): string {
  const text = formatFixed(Math.abs(value), digits);
  if (Number(text) === 0) return text;
  return `${value > 0 ? '+' : minus}${text}`;
}

/** A metric's value as the comparison prints it. */
export function formatMetricValue(kind: MetricKind, value: number): string {
  switch (kind) {
    case 'score':
    case 'loss':
      return formatFixed(value, 4);
    case 'seconds':
      return formatFixed(value, 1);
    case 'rate':
      return formatFixed(value, 0);
    case 'usd':
      return `$${formatFixed(value, 4)}`;
  }
}

export function formatMetricDelta(metric: MetricComparison, minus = '-'): string {
  if (metric.delta === undefined) return '';
  const digits = { score: 4, loss: 4, seconds: 1, rate: 0, usd: 4 }[metric.kind];
  const absolute = signed(metric.delta, digits, minus);
  const text = metric.kind === 'usd' ? absolute.replace(/^([+\-−]?)/, '$1$') : absolute;
  const relative = metric.relativeDelta !== undefined && !['score', 'loss'].includes(metric.kind) ? ` (${signed(metric.relativeDelta * 100, 1, minus)} %)` : '';
  return text + relative;
}

/** A config value as one short line: JSON for objects and strings, "(absent)" for a missing field. */
export function formatConfigValue(difference: ConfigDifference, side: 'a' | 'b'): string {
  if (!Object.hasOwn(difference, side)) return '(absent)';
  const value = difference[side];
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** The comparison as aligned text tables for a terminal; deltas are b − a, signed. */
export function formatRunComparison(c: RunComparison): string {
  const out: string[] = [];
  out.push(`Run A: ${c.a.runId}${c.a.datasetId ? ` (dataset ${c.a.datasetId})` : ''}`);
  out.push(`Run B: ${c.b.runId}${c.b.datasetId ? ` (dataset ${c.b.datasetId})` : ''}`);
  out.push('Deltas are B - A.');
  out.push(`Test set: ${describeTestSet(c)}`);
  for (const note of c.notes) out.push(`Note: ${note}`);

  out.push('', 'Metrics');
  out.push(
    textTable(
      ['metric', 'A', 'B', 'B - A'],
      c.metrics.map((m) => [m.name, m.a === undefined ? '-' : formatMetricValue(m.kind, m.a), m.b === undefined ? '-' : formatMetricValue(m.kind, m.b), formatMetricDelta(m)]),
    ),
  );

  out.push('', 'Training config');
  out.push(differencesText(c.configDifferences, 'config'));
  out.push('', 'Training backend');
  out.push(differencesText(c.backendDifferences, 'backend'));

  out.push('', 'Per class (F1, precision, recall)');
  out.push(
    textTable(
      ['class', 'F1 A', 'F1 B', 'F1 B - A', 'prec. B - A', 'recall B - A', 'support A', 'support B'],
      c.classes.map((k) => [
        k.name,
        formatFixed(k.a.f1, 4),
        formatFixed(k.b.f1, 4),
        signed(k.delta.f1, 4),
        signed(k.delta.precision, 4),
        signed(k.delta.recall, 4),
        String(k.a.support),
        String(k.b.support),
      ]),
    ),
  );

  out.push('', confusionsHeading(c));
  if (c.confusions.length === 0) out.push('  none: every off-diagonal cell is unchanged');
  else if (c.confusionBasis === 'counts') {
    out.push(
      textTable(
        ['true -> predicted', 'A', 'B', 'B - A'],
        c.confusions.map((x) => [`${x.trueClass} -> ${x.predictedClass}`, String(x.a.count), String(x.b.count), signed(x.countDelta, 0)]),
      ),
    );
  } else {
    out.push(
      textTable(
        ['true -> predicted', 'A share', 'B share', 'B - A (points)', 'A count', 'B count'],
        c.confusions.map((x) => [
          `${x.trueClass} -> ${x.predictedClass}`,
          `${formatFixed(x.a.share * 100, 2)} %`,
          `${formatFixed(x.b.share * 100, 2)} %`,
          signed(x.shareDelta * 100, 2),
          String(x.a.count),
          String(x.b.count),
        ]),
      ),
    );
  }
  return out.join('\n') + '\n';
}

export function describeTestSet(c: RunComparison): string {
  const t = c.testSet;
  if (t.sameId === true) return `the same (${shortId(t.a!)}, ${t.examples.a} images)`;
  if (t.sameId === false) return `different (A ${shortId(t.a!)}, ${t.examples.a} images; B ${shortId(t.b!)}, ${t.examples.b} images)`;
  return `not recorded for both runs; A ${t.examples.a} images, B ${t.examples.b} images, class sizes ${t.sameClassSizes ? 'equal' : 'differ'}`;
}

export function confusionsHeading(c: RunComparison): string {
  const shown = c.confusions.length < c.changedConfusionCount ? `top ${c.confusions.length} of ${c.changedConfusionCount}` : `${c.changedConfusionCount}`;
  return c.confusionBasis === 'counts'
    ? `Confusions that grew or shrank (${shown}, by change in count)`
    : `Confusions that grew or shrank (${shown}, by change in share of the true class)`;
}

function differencesText(differences: ConfigDifference[] | undefined, what: string): string {
  if (differences === undefined) return `  not compared: a run has no training record`;
  if (differences.length === 0) return `  identical ${what}`;
  return textTable(
    ['field', 'A', 'B'],
    differences.map((d) => [d.path, formatConfigValue(d, 'a'), formatConfigValue(d, 'b')]),
  );
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned; indented two spaces. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => [...(row[i] ?? '')].length)));
  const pad = (text: string, width: number, left: boolean) => {
    const fill = ' '.repeat(width - [...text].length);
    return left ? text + fill : fill + text;
  };
  return all.map((row) => '  ' + row.map((cell, i) => pad(cell, widths[i], i === 0)).join('  ').trimEnd()).join('\n');
}
