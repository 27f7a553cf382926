import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { dataCheckFindings, DEFAULT_DATA_CHECK_THRESHOLDS } from '../../lib/data/data-check-policy.ts';
import { DataCheckError } from '../../lib/errors.ts';
import { DataCheckCollector } from '../../lib/data/data-checks.ts';
import { formatDataChecks } from '../../lib/data/data-checks-summary.ts';
import { dataDrift } from '../../lib/data/data-drift.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { MANIFEST_FILE, parseManifest } from '../../lib/data/manifest.ts';
import { testSetIdOf } from '../../lib/data/test-set-id.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { csvLine, HEADER, memoryFile } from './helpers.ts';

let root: string;
let n = 0;
const freshDir = () => join(root, `case-${n++}`, 'dataset');
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fmnist-data-checks-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** Rows (label, image) as a Kaggle CSV. */
function csv(rows: { label: number; image: Uint8Array }[]): string {
  return [HEADER, ...rows.map((row) => csvLine(row.label, row.image))].join('\n') + '\n';
}

/** Image `seed`: distinct seeds give distinct images. */
function image(seed: number): Uint8Array {
  return Uint8Array.from({ length: PIXELS_PER_IMAGE }, (_, j) => (seed * 31 + j * (seed % 7 + 1)) % 256);
}

/** Mean and population std of every pixel of the images of `label`, computed in two passes (not as the collector does). */
function twoPassStats(labels: ArrayLike<number>, pixels: Uint8Array, label: number): { count: number; mean: number; std: number } {
  const values: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) values.push(...pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE));
  if (values.length === 0) return { count: 0, mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { count: values.length / PIXELS_PER_IMAGE, mean, std: Math.sqrt(variance) };
}

const sources = { train: [{ name: 'train.csv', sha256: 'a'.repeat(64) }], test: [{ name: 'test.csv', sha256: 'b'.repeat(64) }] };

describe('DataCheckCollector', () => {
  it('per-class counts, pixel mean and std equal an independent two-pass computation', () => {
    const train = syntheticKaggleCsv(57, 3);
    const test = syntheticKaggleCsv(23, 4);
    const collector = new DataCheckCollector();
    // Two batches for train, to check the rows carry over.
    collector.add('train', Uint8Array.from(train.labels.slice(0, 30)), train.pixels.subarray(0, 30 * PIXELS_PER_IMAGE), 30);
    collector.add('train', Uint8Array.from(train.labels.slice(30)), train.pixels.subarray(30 * PIXELS_PER_IMAGE), 27);
    collector.add('test', Uint8Array.from(test.labels), test.pixels, 23);
    const checks = collector.finish(sources);
    for (const [split, data] of [['train', train], ['test', test]] as const) {
      assert.equal(checks.perClass[split].length, NUM_CLASSES);
      for (let label = 0; label < NUM_CLASSES; label++) {
        const expected = twoPassStats(data.labels, data.pixels, label);
        const got = checks.perClass[split][label];
        assert.equal(got.count, expected.count, `${split} class ${label} count`);
        assert.ok(Math.abs(got.pixelMean - expected.mean) < 1e-9, `${split} class ${label} mean ${got.pixelMean} vs ${expected.mean}`);
        assert.ok(Math.abs(got.pixelStd - expected.std) < 1e-9, `${split} class ${label} std ${got.pixelStd} vs ${expected.std}`);
      }
    }
    assert.ok(checks.perClass.train[0].pixelStd > 10, 'a real spread, not a degenerate 0');
    assert.deepEqual(checks.duplicates, { train: { extraCopies: 0, images: 0 }, test: { extraCopies: 0, images: 0 }, acrossSplits: { testExamples: 0, images: 0 } });
    assert.deepEqual(checks.labelConflicts, { images: 0, examples: 0 });
  });

  it('counts duplicates within each split, across splits and label conflicts, with the rows where they are', () => {
    // train rows: 0:A(1) 1:B(2) 2:A(1) 3:A(1) 4:C(3) 5:D(4) 6:D(5)   -> A thrice, D twice under two labels
    // test rows:  0:E(6) 1:E(6) 2:B(2) 3:C(7) 4:F(8)                  -> E twice; B, C also in train; C under another label
    const [A, B, C, D, E, F] = [1, 2, 3, 4, 5, 6].map(image);
    const train = [[A, 1], [B, 2], [A, 1], [A, 1], [C, 3], [D, 4], [D, 5]] as const;
    const test = [[E, 6], [E, 6], [B, 2], [C, 7], [F, 8]] as const;
    const collector = new DataCheckCollector();
    const add = (split: 'train' | 'test', rows: readonly (readonly [Uint8Array, number])[]) => {
      const pixels = new Uint8Array(rows.length * PIXELS_PER_IMAGE);
      rows.forEach(([img], i) => pixels.set(img, i * PIXELS_PER_IMAGE));
      collector.add(split, Uint8Array.from(rows.map(([, label]) => label)), pixels, rows.length);
    };
    add('train', train);
    add('test', test);
    const checks = collector.finish(sources);
    assert.deepEqual(checks.duplicates.train, { extraCopies: 3, images: 2 }); // A: 2 extra, D: 1 extra
    assert.deepEqual(checks.duplicates.test, { extraCopies: 1, images: 1 }); // E
    assert.deepEqual(checks.duplicates.acrossSplits, { testExamples: 2, images: 2 }); // B, C
    assert.deepEqual(checks.labelConflicts, { images: 2, examples: 4 }); // D (2 train rows), C (train + test)
    assert.deepEqual(checks.samples.train[0], [
      { split: 'train', row: 0, label: 1 },
      { split: 'train', row: 2, label: 1 },
      { split: 'train', row: 3, label: 1 },
    ]);
    assert.deepEqual(checks.samples.acrossSplits, [
      [{ split: 'train', row: 1, label: 2 }, { split: 'test', row: 2, label: 2 }],
      [{ split: 'train', row: 4, label: 3 }, { split: 'test', row: 3, label: 7 }],
    ]);
    // In the order the repeats are met: D's (train row 6) before C's (test row 3).
    assert.deepEqual(checks.samples.labelConflicts, [
      [{ split: 'train', row: 5, label: 4 }, { split: 'train', row: 6, label: 5 }],
      [{ split: 'train', row: 4, label: 3 }, { split: 'test', row: 3, label: 7 }],
    ]);
  });

  it('names a source file given twice, in a split and across splits', () => {
    const checks = new DataCheckCollector().finish({
      train: [{ name: 'a.csv', sha256: 'c'.repeat(64) }, { name: 'copy-of-a.csv', sha256: 'c'.repeat(64) }],
      test: [{ name: 'a-again.csv', sha256: 'c'.repeat(64) }, { name: 't.csv', sha256: 'd'.repeat(64) }],
    });
    assert.deepEqual(checks.duplicateSources, [
      { sha256: 'c'.repeat(64), files: [{ split: 'train', name: 'a.csv' }, { split: 'train', name: 'copy-of-a.csv' }, { split: 'test', name: 'a-again.csv' }] },
    ]);
  });
});

describe('dataCheckFindings', () => {
  const figures = (extra: { train?: number; leak?: number; conflicts?: number }) => {
    const checks = new DataCheckCollector().finish(sources);
    checks.duplicates.train.extraCopies = extra.train ?? 0;
    checks.duplicates.acrossSplits.testExamples = extra.leak ?? 0;
    checks.labelConflicts.examples = extra.conflicts ?? 0;
    return checks;
  };
  const examples = { train: 1000, test: 200 };

  it('a share at its threshold passes; one example more is a finding naming the check, the numbers and the threshold', () => {
    const thresholds = { maxDuplicateShare: 0.01, maxLeakShare: 0.01, maxLabelConflictShare: 0.005, maxLabelDistance: 0.05, maxClassMeanShift: 20 };
    assert.deepEqual(dataCheckFindings(figures({ train: 10, leak: 2, conflicts: 6 }), thresholds, examples), []);
    const findings = dataCheckFindings(figures({ train: 11, leak: 3, conflicts: 7 }), thresholds, examples);
    assert.deepEqual(findings.map((f) => [f.check, f.value, f.threshold]), [
      ['duplicates-in-train', 0.011, 0.01],
      ['train-test-leak', 0.015, 0.01],
      ['label-conflicts', 7 / 1200, 0.005],
    ]);
    assert.match(findings[0].message, /^11 of 1,000 train examples repeat an earlier train image .*\(1\.10 %\), more than maxDuplicateShare 0\.01 \(1\.00 %\)$/);
    assert.match(findings[1].message, /^3 of 200 test examples are also in train .*\(1\.50 %\), more than maxLeakShare 0\.01/);
  });

  it('threshold 0: a single leaked image is a finding', () => {
    const findings = dataCheckFindings(figures({ leak: 1 }), { ...DEFAULT_DATA_CHECK_THRESHOLDS, maxLeakShare: 0 }, examples);
    assert.deepEqual(findings.map((f) => f.check), ['train-test-leak']);
  });
});

describe('ingestDataset: data checks', () => {
  const train = syntheticKaggleCsv(40, 1);
  const test = syntheticKaggleCsv(20, 2);

  it('a clean dataset: the manifest holds the figures and no finding', async () => {
    const outDir = freshDir();
    const manifest = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [memoryFile('test.csv', test.text)], outDir });
    const stored = parseManifest(JSON.parse(await readFile(join(outDir, MANIFEST_FILE), 'utf8')), 'manifest.json');
    assert.deepEqual(stored.checks, manifest.checks);
    assert.equal(stored.checks!.policy, 'warn');
    assert.deepEqual(stored.checks!.findings, []);
    assert.deepEqual(stored.checks!.figures.perClass.train.map((c) => c.count), stored.splits.train.labelHistogram);
    assert.match(formatDataChecks(stored.checks!), /all checks passed/);
  });

  it('the same file twice in train: warn keeps it with a finding naming both; fail refuses it naming both, writing nothing', async () => {
    const a = () => memoryFile('part-a.csv', train.text);
    const b = () => memoryFile('part-b.csv', train.text);
    const warned = await ingestDataset({ train: [a(), b()], test: [memoryFile('test.csv', test.text)], outDir: freshDir() });
    const checks = warned.checks!;
    assert.deepEqual(checks.findings.map((f) => f.check), ['duplicate-sources', 'duplicates-in-train']);
    assert.match(checks.findings[0].message, /the same file \(sha256 [0-9a-f]{12}…\) is given as train "part-a\.csv" and train "part-b\.csv"/);
    assert.deepEqual(checks.figures.duplicates.train, { extraCopies: 40, images: 40 });

    const outDir = freshDir();
    const refused = ingestDataset({ train: [a(), b()], test: [memoryFile('test.csv', test.text)], outDir, checks: { policy: 'fail', thresholds: DEFAULT_DATA_CHECK_THRESHOLDS } });
    await assert.rejects(refused, (error: unknown) => {
      assert.ok(error instanceof DataCheckError);
      assert.equal(error.name, 'DataCheckError');
      assert.match(error.message, /^data checks failed \(dataChecks: "fail"\): duplicate-sources: .*train "part-a\.csv" and train "part-b\.csv"/);
      assert.match(error.message, /duplicates-in-train: 40 of 80 train examples .*\(50\.00 %\), more than maxDuplicateShare 0\.01 \(1\.00 %\)/);
      return true;
    });
    assert.equal(existsSync(outDir), false, 'nothing written');
  });

  it('the same file as train and as test: a duplicate source across splits, and a leak', async () => {
    const manifest = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [memoryFile('copy.csv', train.text)], outDir: freshDir() });
    const findings = manifest.checks!.findings;
    assert.deepEqual(findings.map((f) => f.check), ['duplicate-sources', 'train-test-leak']);
    assert.match(findings[0].message, /train "train\.csv" and test "copy\.csv"/);
    assert.match(findings[1].message, /^40 of 40 test examples are also in train \(40 distinct images\) \(100\.00 %\)/);
  });

  it('a test set made from training rows (another file, other bytes) is flagged as a leak; fail stops it', async () => {
    const lines = train.text.trim().split('\n');
    // Rows 5..14 of train, in another order: the file's sha256 differs, its images do not.
    const leaked = [HEADER, ...lines.slice(6, 16).reverse()].join('\n') + '\n';
    const manifest = await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [memoryFile('test.csv', leaked)], outDir: freshDir() });
    assert.deepEqual(manifest.checks!.figures.duplicateSources, []);
    assert.deepEqual(manifest.checks!.figures.duplicates.acrossSplits, { testExamples: 10, images: 10 });
    assert.deepEqual(manifest.checks!.findings.map((f) => f.check), ['train-test-leak']);
    // Samples come in the order the repeats are met: the first test row is train row 14.
    assert.deepEqual(manifest.checks!.figures.samples.acrossSplits[0], [
      { split: 'train', row: 14, label: train.labels[14] },
      { split: 'test', row: 0, label: train.labels[14] },
    ]);
    await assert.rejects(
      ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [memoryFile('test.csv', leaked)], outDir: freshDir(), checks: { policy: 'fail', thresholds: DEFAULT_DATA_CHECK_THRESHOLDS } }),
      /train-test-leak: 10 of 10 test examples are also in train \(10 distinct images\) \(100\.00 %\), more than maxLeakShare 0\.01/,
    );
  });

  it('the same image under two labels is a label conflict', async () => {
    const img = image(9);
    const rows = [{ label: 2, image: img }, ...Array.from({ length: 30 }, (_, i) => ({ label: i % 10, image: image(100 + i) })), { label: 4, image: img }];
    const manifest = await ingestDataset({ train: [memoryFile('train.csv', csv(rows))], test: [memoryFile('test.csv', test.text)], outDir: freshDir() });
    assert.deepEqual(manifest.checks!.figures.labelConflicts, { images: 1, examples: 2 });
    assert.deepEqual(manifest.checks!.figures.samples.labelConflicts, [[{ split: 'train', row: 0, label: 2 }, { split: 'train', row: 31, label: 4 }]]);
    // The second copy is also a duplicate within train (1 of 32, over 1 %).
    assert.deepEqual(manifest.checks!.findings.map((f) => f.check), ['duplicates-in-train', 'label-conflicts']);
  });

  it('a manifest written before the checks (no "checks") still reads', async () => {
    const outDir = freshDir();
    await ingestDataset({ train: [memoryFile('train.csv', train.text)], test: [memoryFile('test.csv', test.text)], outDir });
    const json = JSON.parse(await readFile(join(outDir, MANIFEST_FILE), 'utf8'));
    delete json.checks;
    assert.equal(parseManifest(json, 'old.json').checks, undefined);
    json.checks = { figures: {}, policy: 'sometimes' };
    assert.throws(() => parseManifest(json, 'bad.json'), /bad\.json: invalid manifest: .*checks/);
  });
});

describe('dataDrift', () => {
  const checksOf = (labels: number[], pixels: Uint8Array) => {
    const collector = new DataCheckCollector();
    collector.add('train', Uint8Array.from(labels), pixels, labels.length);
    return collector.finish(sources);
  };
  const base = syntheticKaggleCsv(200, 5);
  const reference = checksOf(base.labels, base.pixels);

  it('the same data: no drift', () => {
    const drift = dataDrift(reference, reference);
    assert.equal(drift.labelDistance, 0);
    assert.deepEqual(drift.missingClasses, []);
    assert.equal(drift.maxMeanShift, 0);
  });

  it('one class removed: the class is missing and the label distance is its share', () => {
    const kept = base.labels.map((label, i) => [label, i] as const).filter(([label]) => label !== 3);
    const pixels = new Uint8Array(kept.length * PIXELS_PER_IMAGE);
    kept.forEach(([, i], k) => pixels.set(base.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE), k * PIXELS_PER_IMAGE));
    const drift = dataDrift(reference, checksOf(kept.map(([label]) => label), pixels));
    assert.deepEqual(drift.missingClasses, [3]);
    // 10 balanced classes of 20; without class 3 the other nine hold 1/9 each: TV = 1/2 (0.1 + 9 x (1/9 - 1/10)) = 0.1.
    assert.ok(Math.abs(drift.labelDistance - 0.1) < 1e-12, String(drift.labelDistance));
    assert.equal(drift.maxMeanShift, 0);
  });

  it('inverted images: every class mean moves to 255 - mean, the std stays', () => {
    const inverted = base.pixels.map((value) => 255 - value);
    const drift = dataDrift(reference, checksOf(base.labels, inverted));
    assert.equal(drift.labelDistance, 0);
    for (const c of drift.perClass) {
      const before = reference.perClass.train[c.label];
      assert.ok(Math.abs(c.meanShift! - (255 - 2 * before.pixelMean)) < 1e-9);
      assert.ok(Math.abs(c.stdShift!) < 1e-9);
    }
    assert.ok(drift.maxMeanShift > 100, String(drift.maxMeanShift));
  });
});

describe('drift from the champion\'s dataset, at ingest', () => {
  const base = syntheticKaggleCsv(200, 5);
  const testCsv = syntheticKaggleCsv(50, 6).text;
  const rows = (labels: number[], pixels: Uint8Array) => labels.map((label, i) => ({ label, image: pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE) }));
  const against = { runId: 'champion-run', datasetId: 'a'.repeat(16) };
  let reference: Awaited<ReturnType<typeof ingestDataset>>;
  before(async () => {
    reference = await ingestDataset({ train: [memoryFile('train.csv', base.text)], test: [memoryFile('test.csv', testCsv)], outDir: freshDir() });
  });
  const ingestAgainst = (trainText: string, policy: 'warn' | 'fail', asked: string[] = []) =>
    ingestDataset({
      train: [memoryFile('new-train.csv', trainText)],
      test: [memoryFile('test.csv', testCsv)],
      outDir: freshDir(),
      checks: { policy, thresholds: DEFAULT_DATA_CHECK_THRESHOLDS },
      reference: async (testSetId) => {
        asked.push(testSetId);
        return { against, figures: reference.checks!.figures };
      },
    });

  it('more data of the same kind: measured, no finding; the reference is asked for by the test split\'s id', async () => {
    const asked: string[] = [];
    const manifest = await ingestAgainst(syntheticKaggleCsv(300, 7).text, 'fail', asked);
    assert.deepEqual(asked, [testSetIdOf(reference)], 'the same test split as the champion\'s');
    assert.deepEqual(manifest.checks!.findings, []);
    assert.deepEqual(manifest.checks!.drift!.against, against);
    assert.ok(manifest.checks!.drift!.labelDistance < DEFAULT_DATA_CHECK_THRESHOLDS.maxLabelDistance);
  });

  it('a class removed: missing-classes and label-drift; "fail" stops the ingest naming the champion, the figure and the threshold', async () => {
    const kept = rows(base.labels, base.pixels).filter((row) => row.label !== 3);
    const warned = await ingestAgainst(csv(kept), 'warn');
    assert.deepEqual(warned.checks!.findings.map((finding) => finding.check), ['missing-classes', 'label-drift']);
    assert.deepEqual(warned.checks!.drift!.missingClasses, [3]);
    const out = freshDir();
    await assert.rejects(
      ingestDataset({
        train: [memoryFile('new-train.csv', csv(kept))],
        test: [memoryFile('test.csv', testCsv)],
        outDir: out,
        checks: { policy: 'fail', thresholds: DEFAULT_DATA_CHECK_THRESHOLDS },
        reference: async () => ({ against, figures: reference.checks!.figures }),
      }),
      (error: Error) => {
        assert.ok(error instanceof DataCheckError);
        assert.match(error.message, /missing-classes: class 3 missing from train, present in champion champion-run's dataset a{16}/);
        assert.match(error.message, /label-drift: label distribution 0\.1000 away .* more than maxLabelDistance 0\.05/);
        return true;
      },
    );
    assert.equal(existsSync(out), false, 'nothing written');
  });

  it('inverted images: pixel-drift names the class and the shift', async () => {
    const inverted = base.pixels.map((value) => 255 - value);
    const manifest = await ingestAgainst(csv(rows(base.labels, inverted)), 'warn');
    const finding = manifest.checks!.findings.find((f) => f.check === 'pixel-drift')!;
    assert.ok(finding.value > DEFAULT_DATA_CHECK_THRESHOLDS.maxClassMeanShift, String(finding.value));
    const worst = reference.checks!.figures.perClass.train.reduce((a, b) => (Math.abs(255 - 2 * b.pixelMean) > Math.abs(255 - 2 * a.pixelMean) ? b : a));
    assert.ok(Math.abs(finding.value - Math.abs(255 - 2 * worst.pixelMean)) < 1e-9, `${finding.value} vs class ${worst.label}`);
    assert.match(finding.message, new RegExp(`class ${worst.label}'s mean pixel value moved by -?\\d+\\.\\d .*more than maxClassMeanShift 20`));
  });
});
