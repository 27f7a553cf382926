import type { ClassStats, DataChecks } from './data-checks.ts';
import type { Split } from './shard.ts';

/**
 * How far one dataset's figures have moved from another's (e.g. the champion's dataset): the
 * seam for the drift check. Both come from manifests' `checks.figures`, so no data is read again.
 * Ingest measures the training split against the champion's dataset (ingest.ts `reference`);
 * data-check-policy.ts driftFindings judges it.
 */
export interface DataDrift {
  split: Split;
  /**
   * Total variation distance between the two label distributions: half the sum of the absolute
   * differences of the class shares, 0 (same shares) to 1 (no class in common).
   */
  labelDistance: number;
  /** Classes the reference has and the current data lacks: a class removed. */
  missingClasses: number[];
  /** Per class: the change of the pixel mean and std (current minus reference, 0..255 scale); undefined where either has no examples. */
  perClass: { label: number; meanShift?: number; stdShift?: number }[];
  /** The largest |meanShift| over the classes both have (an inverted upload moves every class's mean a lot). */
  maxMeanShift: number;
}

export function dataDrift(reference: DataChecks, current: DataChecks, split: Split = 'train'): DataDrift {
  const before = reference.perClass[split];
  const after = current.perClass[split];
  const labels = Math.max(before.length, after.length);
  const total = (stats: ClassStats[]) => stats.reduce((sum, s) => sum + s.count, 0);
  const [beforeTotal, afterTotal] = [total(before), total(after)];
  const share = (stats: ClassStats[], whole: number, label: number) => (whole === 0 ? 0 : (stats[label]?.count ?? 0) / whole);
  let distance = 0;
  const missingClasses: number[] = [];
  const perClass: DataDrift['perClass'] = [];
  let maxMeanShift = 0;
  for (let label = 0; label < labels; label++) {
    distance += Math.abs(share(before, beforeTotal, label) - share(after, afterTotal, label));
    const [b, a] = [before[label], after[label]];
    if ((b?.count ?? 0) > 0 && (a?.count ?? 0) === 0) missingClasses.push(label);
    if ((b?.count ?? 0) > 0 && (a?.count ?? 0) > 0) {
      const meanShift = a.pixelMean - b.pixelMean;
      perClass.push({ label, meanShift, stdShift: a.pixelStd - b.pixelStd });
      maxMeanShift = Math.max(maxMeanShift, Math.abs(meanShift));
    } else {
      perClass.push({ label });
    }
  }
  return { split, labelDistance: distance / 2, missingClasses, perClass, maxMeanShift };
}
