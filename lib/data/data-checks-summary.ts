import { CLASS_NAMES } from './classes.ts';
import type { ManifestChecks } from './manifest-checks.ts';

/** The log message under which the ingest step logs the data checks (the local runner prints it, as the summary). */
export const DATA_CHECKS_MESSAGE = 'data checks';

/** The data checks as the dataset summary prints them: figures, then each finding and what the policy made of it. */
export function formatDataChecks(checks: ManifestChecks): string {
  const { figures, findings, policy } = checks;
  const { train, test, acrossSplits } = figures.duplicates;
  const lines = [
    'data checks:',
    `  exact duplicate images: ${train.extraCopies} extra copies in train (${train.images} images), ${test.extraCopies} in test (${test.images} images)`,
    `  test examples also in train: ${acrossSplits.testExamples} (${acrossSplits.images} images)`,
    `  images under two or more labels: ${figures.labelConflicts.images} (${figures.labelConflicts.examples} examples)`,
    `  source files given twice: ${figures.duplicateSources.length}`,
    '  pixel mean / std per class (train | test):',
    ...figures.perClass.train.map((stats, label) => {
      const other = figures.perClass.test[label];
      const name = CLASS_NAMES[label] ?? `label ${label}`;
      return `    ${String(label).padStart(2)} ${name.padEnd(11)} ${pixelStats(stats)} | ${pixelStats(other)}`;
    }),
  ];
  if (findings.length === 0) {
    lines.push('  all checks passed');
  } else {
    const verdict = policy === 'fail' ? 'FAILED' : 'WARNING';
    for (const finding of findings) lines.push(`  ${verdict} ${finding.check}: ${finding.message}`);
  }
  return lines.join('\n');
}

function pixelStats(stats: { count: number; pixelMean: number; pixelStd: number } | undefined): string {
  if (!stats || stats.count === 0) return 'no examples'.padStart(20);
  return `${String(stats.count).padStart(6)}: ${stats.pixelMean.toFixed(1).padStart(5)} / ${stats.pixelStd.toFixed(1).padStart(5)}`;
}
