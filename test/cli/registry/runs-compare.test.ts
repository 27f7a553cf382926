import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runsCompareCommand } from '../../../cli/registry/runs-commands.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { compareRuns, formatRunComparison, type RunComparison } from '../../../lib/report/run-comparison.ts';
import { runRecordKey } from '../../../lib/workflow/layout.ts';
import { parseRunArtifacts, runArtifactKeys, type RunArtifactTexts } from '../../../lib/workflow/run-artifacts.ts';
import { evaluatedRun, localStateDir, MATRIX_A, MATRIX_B, merge, registryRecord, runRecord, TEST_SET, type Objects } from './runs-fixtures.ts';
import { BUCKET, deployedStack, fmnist, sinks } from './runs-support.ts';

/** run-a and run-b registered on the same test set; new-run evaluated only (no test set id); bare-run claimed, never evaluated. */
const OBJECTS: Objects = merge(
  evaluatedRun('run-a', '2026-12-01T10:00:00.000Z', MATRIX_A, { epochs: 3, seconds: 100 }),
  registryRecord('run-a', TEST_SET, MATRIX_A),
  evaluatedRun('run-b', '2026-12-02T10:00:00.000Z', MATRIX_B, { epochs: 5, seconds: 80 }),
  registryRecord('run-b', TEST_SET, MATRIX_B),
  evaluatedRun('new-run', '2026-12-03T10:00:00.000Z', MATRIX_B, { epochs: 5, seconds: 80 }),
  new Map([[runRecordKey('bare-run'), runRecord('bare-run', '2026-12-03T11:00:00.000Z')]]),
);

/** The comparison the command must print, computed from the same files by the library (the test set id being the registry's). */
function expectedComparison(runA: string, runB: string, testSets: Record<string, string | undefined>, topConfusions?: number): RunComparison {
  const read = (runId: string) => {
    const keys = runArtifactKeys(runId);
    const texts: RunArtifactTexts = {
      classificationReport: OBJECTS.get(keys.classificationReport)!,
      confusionMatrix: OBJECTS.get(keys.confusionMatrix)!,
      training: OBJECTS.get(keys.training)!,
      metrics: OBJECTS.get(keys.metrics)!,
    };
    const artifacts = parseRunArtifacts(runId, texts);
    if (testSets[runId]) artifacts.evaluation = { ...artifacts.evaluation, testSetId: testSets[runId] };
    return artifacts;
  };
  return compareRuns(read(runA), read(runB), topConfusions === undefined ? {} : { topConfusions });
}

const isConfigError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
  assert.match(error.message, pattern);
  return true;
};

describe('fmnist runs compare, local bucket', () => {
  let stateDir: string;
  let scratch: string;
  before(async () => {
    stateDir = await localStateDir(OBJECTS);
    scratch = await mkdtemp(join(tmpdir(), 'fmnist-compare-html-'));
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  test('the text names both runs and shows the real figures: accuracy 23/30 -> 25/30, the epochs that differ, the confusions that changed', async () => {
    const streams = sinks();
    await fmnist(['runs', 'compare', 'run-a', 'run-b', '--state-dir', stateDir], streams);
    const text = streams.out.text;
    assert.match(text, /^Run A: run-a \(dataset d1\)\nRun B: run-b \(dataset d1\)\n/);
    assert.match(text, new RegExp(`Test set: the same \\(${'c'.repeat(12)}, 30 images\\)`), 'the test set id comes from the registry');
    assert.match(text, /\n {2}Accuracy +0\.7667 +0\.8333 +\+0\.0667\n/);
    assert.match(text, /\n {2}Training seconds +100\.0 +80\.0 +-20\.0 \(-20\.0 %\)\n/);
    assert.match(text, /\n {2}epochs +3 +5\n/);
    // dog -> fox went from 3 to 1, fox -> cat from 0 to 2: both by 2, the largest changes.
    assert.match(text, /\n {2}dog -> fox +3 +1 +-2\n/);
    assert.match(text, /\n {2}fox -> cat +0 +2 +\+2\n/);
    assert.equal(text, formatRunComparison(expectedComparison('run-a', 'run-b', { 'run-a': TEST_SET, 'run-b': TEST_SET })));
  });

  test('--json prints the RunComparison that compareRuns gives for the same files, --top included', async () => {
    const streams = sinks();
    await fmnist(['runs', 'compare', 'run-a', 'run-b', '--state-dir', stateDir, '--json', '--top', '2'], streams);
    const printed = JSON.parse(streams.out.text) as RunComparison;
    assert.deepEqual(printed, JSON.parse(JSON.stringify(expectedComparison('run-a', 'run-b', { 'run-a': TEST_SET, 'run-b': TEST_SET }, 2))));
    assert.equal(printed.confusions.length, 2);
    assert.ok(printed.changedConfusionCount > 2);
    assert.equal(printed.testSet.sameId, true);
    assert.equal(streams.log.text, '');
  });

  test('a run never registered has no test set id: the comparison says so', async () => {
    const result = await runsCompareCommand('run-a', 'new-run', { stateDir, json: true }, sinks());
    assert.deepEqual(result.comparison, expectedComparison('run-a', 'new-run', { 'run-a': TEST_SET }));
    assert.equal(result.comparison.testSet.sameId, undefined);
    assert.equal(result.comparison.testSet.a, TEST_SET);
    assert.match(result.comparison.notes[0], /^No test set id recorded for run new-run; the class sizes match \(30 images\)/);
  });

  test('--html writes the page to the file, says where, and the page names both runs', async () => {
    const file = join(scratch, 'pages', 'a-vs-b.html');
    const streams = sinks();
    await fmnist(['runs', 'compare', 'run-a', 'run-b', '--state-dir', stateDir, '--html', file], streams);
    const page = await readFile(file, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /<title>Run run-a vs run run-b<\/title>/);
    assert.ok(page.includes('run-a') && page.includes('run-b'));
    assert.ok(streams.out.text.startsWith('Run A: run-a'), 'the text comparison is still printed');
    assert.ok(streams.out.text.endsWith(`comparison page: ${file}\n`), streams.out.text);

    const json = sinks();
    const other = join(scratch, 'json.html');
    await fmnist(['runs', 'compare', 'run-a', 'run-b', '--state-dir', stateDir, '--html', other, '--json'], json);
    JSON.parse(json.out.text); // stdout stays one JSON document
    assert.equal(json.log.text, `comparison page: ${other}\n`);
    assert.equal(await readFile(other, 'utf8'), page, 'the same comparison gives the same page');
  });

  test('a run without a report: ConfigError naming the run, the object and what it means', async () => {
    await assert.rejects(
      fmnist(['runs', 'compare', 'run-a', 'bare-run', '--state-dir', stateDir], sinks()),
      isConfigError(/^run bare-run has no report yet: s3:\/\/fmnist-local\/runs\/bare-run\/report\/classification_report\.json does not exist: did it finish Evaluate\?$/),
    );
  });

  test('a run that does not exist: ConfigError naming it and where it was looked for', async () => {
    await assert.rejects(
      runsCompareCommand('no-such-run', 'run-b', { stateDir }, sinks()),
      isConfigError(/^no run no-such-run in the local bucket at .*: s3:\/\/fmnist-local\/runs\/no-such-run\/run\.json does not exist/),
    );
  });

  test('the same run twice, or something that is not a run id, is refused before anything is read', async () => {
    await assert.rejects(fmnist(['runs', 'compare', 'run-a', 'run-a', '--state-dir', stateDir], sinks()), isConfigError(/run run-a given twice/));
    await assert.rejects(runsCompareCommand('../etc', 'run-a', { stateDir: '/nonexistent' }, sinks()), isConfigError(/"\.\.\/etc" is not a run id/));
    await assert.rejects(runsCompareCommand('run-a', 'run-b', { stateDir, top: 0 }, sinks()), isConfigError(/^--top: expected a whole number >= 1, got 0$/));
  });

  test('local with a deployed-stack flag is refused', async () => {
    await assert.rejects(
      fmnist(['runs', 'compare', 'run-a', 'run-b', '--state-dir', stateDir, '--stack', 'Prod', '--region', 'eu-west-1'], sinks()),
      isConfigError(/^--stack, --region: for the deployed stack; add --aws$/),
    );
  });
});

describe('fmnist runs compare --aws', () => {
  test('reads both runs from the stack\'s bucket and prints the same comparison', async () => {
    const stack = deployedStack(OBJECTS);
    await fmnist(['runs', 'compare', 'run-a', 'run-b', '--aws', '--json'], stack.deps);
    assert.deepEqual(JSON.parse(stack.out.text), JSON.parse(JSON.stringify(expectedComparison('run-a', 'run-b', { 'run-a': TEST_SET, 'run-b': TEST_SET }))));
  });

  test('a missing report names the object in the stack\'s bucket', async () => {
    const stack = deployedStack(OBJECTS);
    await assert.rejects(
      runsCompareCommand('bare-run', 'run-a', { aws: true }, stack.deps),
      isConfigError(new RegExp(`^run bare-run has no report yet: s3://${BUCKET}/runs/bare-run/report/classification_report\\.json does not exist: did it finish Evaluate\\?$`)),
    );
  });

  test('a damaged file is refused naming its object and field', async () => {
    const objects = new Map(OBJECTS);
    objects.set(runArtifactKeys('run-b').confusionMatrix, JSON.stringify({ classNames: ['cat', 'dog', 'fox'], matrix: [[9, 0, 1], [1, 8], [2, 0, 8]] }));
    const stack = deployedStack(objects);
    await assert.rejects(
      runsCompareCommand('run-a', 'run-b', { aws: true }, stack.deps),
      isConfigError(new RegExp(`^s3://${BUCKET}/runs/run-b/report/confusion_matrix\\.json: matrix\\[1\\]: must have 3 columns`)),
    );
  });

  test('runs that label different classes are a ConfigError, not a crash', async () => {
    const objects = new Map(OBJECTS);
    const other = evaluatedRun('run-b', '2026-12-02T10:00:00.000Z', MATRIX_B);
    const rename = (text: string) => text.replaceAll('"fox"', '"owl"');
    for (const key of [runArtifactKeys('run-b').classificationReport, runArtifactKeys('run-b').confusionMatrix]) objects.set(key, rename(other.get(key)!));
    const stack = deployedStack(objects);
    await assert.rejects(runsCompareCommand('run-a', 'run-b', { aws: true }, stack.deps), isConfigError(/runs run-a and run-b label different classes/));
  });
});
