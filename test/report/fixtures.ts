import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClassificationReport } from '../../lib/report/classification-report.ts';

/** One case written by test/fixtures/report/make_fixtures.py from scikit-learn's own output. */
export interface SklearnFixture {
  case: string;
  classNames: string[];
  yTrue: number[];
  yPred: number[];
  report: ClassificationReport;
  text: string;
  textDigits4: string;
  confusionMatrix: number[][];
}

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/report/', import.meta.url));

export function loadSklearnFixtures(): SklearnFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const raw = JSON.parse(readFileSync(FIXTURE_DIR + name, 'utf8'));
      return { ...raw, yTrue: [...raw.yTrue].map(Number), yPred: [...raw.yPred].map(Number) } as SklearnFixture;
    });
}

export function loadSklearnFixture(caseName: string): SklearnFixture {
  const fixture = loadSklearnFixtures().find((f) => f.case === caseName);
  if (!fixture) throw new Error(`no fixture ${caseName}`);
  return fixture;
}
