import { z } from 'zod';
import { DataCheckError } from '../errors.ts';
import type { DataChecks } from './data-checks.ts';
import type { DataDrift } from './data-drift.ts';

/**
 * What a run accepts of the data checks' figures (data-checks.ts). "warn": every check over its
 * threshold is a warning (logged, printed, kept in the manifest and shown on the report page)
 * and the run goes on; "fail": the ingest stops, before anything trains, with a DataCheckError
 * naming each check, its figures and its threshold. A source file given twice is always a finding.
 */
export const DATA_CHECK_POLICIES = ['warn', 'fail'] as const;
export type DataCheckPolicy = (typeof DATA_CHECK_POLICIES)[number];

/**
 * Shares in [0, 1]. The defaults let the real Fashion-MNIST through (README.md "Data checks":
 * its few duplicates and conflicts are far below them) and stop what is plainly wrong: a split
 * made of copies, a test set drawn from the training rows.
 */
export const DataCheckThresholds = z.strictObject({
  /** Examples of one split that repeat an image of the same split. */
  maxDuplicateShare: z.number().min(0).max(1),
  /** Test examples whose image is also in train. */
  maxLeakShare: z.number().min(0).max(1),
  /** Examples (both splits) whose image appears under another label too. */
  maxLabelConflictShare: z.number().min(0).max(1),
  /**
   * Drift from the champion's dataset (data-drift.ts), on the training split: the total variation
   * distance between the label distributions (removing one of ten balanced classes is 0.1).
   */
  maxLabelDistance: z.number().min(0).max(1),
  /** Drift: the largest change of a class's mean pixel value, on the 0..255 scale (inverted images move it by ~100-190). */
  maxClassMeanShift: z.number().min(0).max(255),
});
export type DataCheckThresholds = z.infer<typeof DataCheckThresholds>;

export const DEFAULT_DATA_CHECK_THRESHOLDS: DataCheckThresholds = {
  maxDuplicateShare: 0.01,
  maxLeakShare: 0.01,
  maxLabelConflictShare: 0.001,
  maxLabelDistance: 0.05,
  maxClassMeanShift: 20,
};
export const DEFAULT_DATA_CHECK_POLICY: DataCheckPolicy = 'warn';

/** The policy and thresholds one ingest applies (the ingest event's `dataChecks`). */
export const DataCheckSettings = z.strictObject({
  policy: z.enum(DATA_CHECK_POLICIES),
  thresholds: DataCheckThresholds,
});
export type DataCheckSettings = z.infer<typeof DataCheckSettings>;

export const DEFAULT_DATA_CHECK_SETTINGS: DataCheckSettings = { policy: DEFAULT_DATA_CHECK_POLICY, thresholds: DEFAULT_DATA_CHECK_THRESHOLDS };

export const DATA_CHECK_NAMES = [
  'duplicate-sources',
  'duplicates-in-train',
  'duplicates-in-test',
  'train-test-leak',
  'label-conflicts',
  'missing-classes',
  'label-drift',
  'pixel-drift',
] as const;
export type DataCheckName = (typeof DATA_CHECK_NAMES)[number];

/** A check over its threshold. `value` and `threshold` are shares (0 for a duplicate source: none is allowed). */
export interface DataCheckFinding {
  check: DataCheckName;
  value: number;
  threshold: number;
  message: string;
}

/** The checks over their thresholds, in DATA_CHECK_NAMES order; [] when the data passes. */
export function dataCheckFindings(checks: DataChecks, thresholds: DataCheckThresholds, examples: { train: number; test: number }): DataCheckFinding[] {
  const findings: DataCheckFinding[] = [];
  for (const source of checks.duplicateSources) {
    const files = source.files.map((file) => `${file.split} "${file.name}"`).join(' and ');
    findings.push({ check: 'duplicate-sources', value: source.files.length, threshold: 1, message: `the same file (sha256 ${source.sha256.slice(0, 12)}…) is given as ${files}` });
  }
  const over = (check: DataCheckName, part: number, whole: number, threshold: number, key: keyof DataCheckThresholds, what: string) => {
    const share = whole === 0 ? 0 : part / whole;
    if (share > threshold) {
      findings.push({ check, value: share, threshold, message: `${count(part)} of ${count(whole)} ${what} (${percent(share)}), more than ${key} ${threshold} (${percent(threshold)})` });
    }
  };
  const { train, test, acrossSplits } = checks.duplicates;
  over('duplicates-in-train', train.extraCopies, examples.train, thresholds.maxDuplicateShare, 'maxDuplicateShare', `train examples repeat an earlier train image (${count(train.images)} distinct images)`);
  over('duplicates-in-test', test.extraCopies, examples.test, thresholds.maxDuplicateShare, 'maxDuplicateShare', `test examples repeat an earlier test image (${count(test.images)} distinct images)`);
  over('train-test-leak', acrossSplits.testExamples, examples.test, thresholds.maxLeakShare, 'maxLeakShare', `test examples are also in train (${count(acrossSplits.images)} distinct images)`);
  const { labelConflicts } = checks;
  over('label-conflicts', labelConflicts.examples, examples.train + examples.test, thresholds.maxLabelConflictShare, 'maxLabelConflictShare', `examples hold an image that also appears under another label (${count(labelConflicts.images)} distinct images)`);
  return findings;
}

/** The run whose dataset a drift is measured against: the champion of the test split. */
export interface DriftReference {
  runId: string;
  datasetId: string;
}

/**
 * The drift checks: a class the champion's training data had and this one lacks (always a
 * finding), a label distribution or a class's pixel mean moved past its threshold.
 */
export function driftFindings(drift: DataDrift, against: DriftReference, thresholds: DataCheckThresholds): DataCheckFinding[] {
  const findings: DataCheckFinding[] = [];
  const of = `than the ${drift.split} split of champion ${against.runId}'s dataset ${against.datasetId}`;
  if (drift.missingClasses.length > 0) {
    findings.push({
      check: 'missing-classes',
      value: drift.missingClasses.length,
      threshold: 0,
      message: `class${drift.missingClasses.length === 1 ? '' : 'es'} ${drift.missingClasses.join(', ')} missing from ${drift.split}, present in champion ${against.runId}'s dataset ${against.datasetId}`,
    });
  }
  if (drift.labelDistance > thresholds.maxLabelDistance) {
    findings.push({
      check: 'label-drift',
      value: drift.labelDistance,
      threshold: thresholds.maxLabelDistance,
      message: `label distribution ${drift.labelDistance.toFixed(4)} away (total variation) ${of}, more than maxLabelDistance ${thresholds.maxLabelDistance}`,
    });
  }
  if (drift.maxMeanShift > thresholds.maxClassMeanShift) {
    const worst = drift.perClass.reduce((a, b) => (Math.abs(b.meanShift ?? 0) > Math.abs(a.meanShift ?? 0) ? b : a));
    findings.push({
      check: 'pixel-drift',
      value: drift.maxMeanShift,
      threshold: thresholds.maxClassMeanShift,
      message: `class ${worst.label}'s mean pixel value moved by ${worst.meanShift!.toFixed(1)} (of 255) ${of.replace(/^than/, 'from')}, more than maxClassMeanShift ${thresholds.maxClassMeanShift}`,
    });
  }
  return findings;
}

/** Throws a DataCheckError (lib/errors.ts) when the policy is "fail" and there is any finding; thrown before anything trains. */
export function enforceDataChecks(findings: DataCheckFinding[], policy: DataCheckPolicy): void {
  if (policy === 'fail' && findings.length > 0) {
    throw new DataCheckError(`data checks failed (dataChecks: "fail"): ${findings.map((finding) => `${finding.check}: ${finding.message}`).join('; ')}`);
  }
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function percent(share: number): string {
  return `${(share * 100).toFixed(2)} %`;
}
