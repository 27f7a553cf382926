import { z } from 'zod';
import { DATA_CHECK_NAMES, DATA_CHECK_POLICIES, DataCheckThresholds } from './data-check-policy.ts';
import type { DataChecks } from './data-checks.ts';

/**
 * The manifest's optional `checks`: the data checks' figures (data-checks.ts), and the findings
 * under the policy and thresholds of the ingest that wrote it. Optional because manifests written
 * before the checks existed hold none (and still read); the dataset id does not depend on it.
 */
const count = z.int().min(0);
const split = z.enum(['train', 'test']);
const ref = z.object({ split, row: count, label: z.int().min(0).max(255) });
const group = z.array(ref);
const classStats = z.object({ label: count, count, pixelMean: z.number().min(0).max(255), pixelStd: z.number().min(0).max(255) });
const duplicates = z.object({ extraCopies: count, images: count });

export const DataChecksSchema = z.object({
  perClass: z.object({ train: z.array(classStats), test: z.array(classStats) }),
  duplicates: z.object({ train: duplicates, test: duplicates, acrossSplits: z.object({ testExamples: count, images: count }) }),
  labelConflicts: z.object({ images: count, examples: count }),
  duplicateSources: z.array(z.object({ sha256: z.string(), files: z.array(z.object({ split, name: z.string() })) })),
  samples: z.object({ train: z.array(group), test: z.array(group), acrossSplits: z.array(group), labelConflicts: z.array(group) }),
}) satisfies z.ZodType<DataChecks, unknown>;

export const ManifestChecks = z.object({
  figures: DataChecksSchema,
  policy: z.enum(DATA_CHECK_POLICIES),
  thresholds: DataCheckThresholds,
  findings: z.array(z.object({ check: z.enum(DATA_CHECK_NAMES), value: z.number(), threshold: z.number(), message: z.string() })),
  /** The drift from the champion's dataset, when the test split had a champion whose manifest holds figures. */
  drift: z
    .object({
      against: z.object({ runId: z.string(), datasetId: z.string() }),
      split: split,
      labelDistance: z.number().min(0).max(1),
      missingClasses: z.array(count),
      perClass: z.array(z.object({ label: count, meanShift: z.number().optional(), stdShift: z.number().optional() })),
      maxMeanShift: z.number().min(0),
    })
    .optional(),
});
export type ManifestChecks = z.infer<typeof ManifestChecks>;
