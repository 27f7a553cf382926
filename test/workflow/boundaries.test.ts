import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../../lib/infra/paths.ts';

/**
 * The floors, checked on the source: lib/ is what the handlers (functions/) import, so nothing
 * under lib/ may import a handler; and lib/workflow holds the workflow's contracts (state names,
 * the Fargate container's environment, raw-pair discovery, ids) for infra, handlers, the local
 * runtime and the CLI alike, so nothing it loads may pull in aws-cdk-lib (a deploy-time library
 * the Lambda bundles do not ship).
 */

/** Every module specifier of a file: static, type-only, re-exports and dynamic `import()`. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

async function tsFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name));
}

const isCdk = (specifier: string) => /^(aws-cdk-lib|constructs)(\/|$)/.test(specifier);

test('the specifier reader sees static, type-only, re-exported and dynamic imports', () => {
  const text = [
    "import { a } from '../../functions/train/fargate.ts';",
    "import type { B } from 'aws-cdk-lib/aws-s3';",
    "export { c } from './c.ts';",
    "const d = await import('constructs');",
  ].join('\n');
  assert.deepEqual(specifiersOf(text), ['../../functions/train/fargate.ts', 'aws-cdk-lib/aws-s3', './c.ts', 'constructs']);
  assert.deepEqual(specifiersOf(text).filter(isCdk), ['aws-cdk-lib/aws-s3', 'constructs']);
});

test('nothing under lib/ imports from functions/', async () => {
  const functionsDir = join(REPO_ROOT, 'functions') + '/';
  const files = await tsFilesUnder(join(REPO_ROOT, 'lib'));
  assert.ok(files.length > 50, `${files.length} files under lib/`);
  const offending: string[] = [];
  for (const file of files) {
    for (const specifier of specifiersOf(await readFile(file, 'utf8'))) {
      if (specifier.startsWith('.') && resolve(dirname(file), specifier).startsWith(functionsDir)) {
        offending.push(`${relative(REPO_ROOT, file)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(offending, []);
});

test('nothing lib/workflow loads, directly or through project files, imports aws-cdk-lib', async () => {
  const pending = await tsFilesUnder(join(REPO_ROOT, 'lib/workflow'));
  assert.ok(pending.some((file) => file.endsWith('states.ts')) && pending.some((file) => file.endsWith('raw-pairs.ts')));
  const seen = new Set<string>();
  const offending: string[] = [];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of specifiersOf(await readFile(file, 'utf8'))) {
      if (isCdk(specifier)) offending.push(`${relative(REPO_ROOT, file)} imports ${specifier}`);
      else if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
    }
  }
  assert.ok(seen.size > 20, `${seen.size} files reached`);
  assert.deepEqual(offending, []);
});
