import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../infra/paths.ts';

/**
 * The floors, checked on the source. Arrows run bin -> cli, infra -> functions -> lib:
 * lib/ is exactly what the handlers import and reaches up into nothing; functions/ reaches only
 * lib/; infra/ (CDK) never imports handler or CLI code; cli/ may use everything below it. No
 * import cycle anywhere, type-only imports included. And lib/workflow holds the workflow's
 * contracts for infra, handlers, the local runtime and the CLI alike, so nothing it loads may
 * pull in aws-cdk-lib (a deploy-time library the Lambda bundles do not ship). scripts/ (plain
 * JavaScript build tools, run before TypeScript exists) imports nothing of the project; infra
 * takes the bundles' ESM banner from it.
 */
const FLOORS = ['bin', 'cli', 'infra', 'functions', 'lib', 'scripts'] as const;
type Floor = (typeof FLOORS)[number];
const MAY_IMPORT: Record<Floor, readonly Floor[]> = {
  bin: ['bin', 'cli', 'infra', 'functions', 'lib', 'scripts'],
  cli: ['cli', 'infra', 'functions', 'lib', 'scripts'],
  infra: ['infra', 'lib', 'scripts'],
  functions: ['functions', 'lib'],
  lib: ['lib'],
  scripts: ['scripts'],
};

/** Every module specifier of a file: static, type-only, re-exports and dynamic `import()`. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

async function tsFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && /\.m?ts$|\.mjs$/.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
}

const isCdk = (specifier: string) => /^(aws-cdk-lib|constructs)(\/|$)/.test(specifier);
const floorOf = (file: string) => relative(REPO_ROOT, file).split('/')[0] as Floor;

/** The project's import graph: file -> the project files it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const floor of FLOORS) {
    for (const file of await tsFilesUnder(join(REPO_ROOT, floor))) {
      const targets = specifiersOf(await readFile(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => resolve(dirname(file), specifier));
      graph.set(file, targets);
    }
  }
  return graph;
}

/** The import cycles (strongly connected components of more than one file, or a self-import). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative enough for a few hundred files.
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string) => {
    indices.set(file, index);
    lowlinks.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!indices.has(target)) {
        visit(target);
        lowlinks.set(file, Math.min(lowlinks.get(file)!, lowlinks.get(target)!));
      } else if (onStack.has(target)) {
        lowlinks.set(file, Math.min(lowlinks.get(file)!, indices.get(target)!));
      }
    }
    if (lowlinks.get(file) === indices.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(relative(REPO_ROOT, member));
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!indices.has(file)) visit(file);
  return cycles;
}

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

test('the cycle finder finds a cycle, a self-import, and none in a chain', () => {
  const at = (name: string) => join(REPO_ROOT, name);
  const graph = new Map([
    [at('a.ts'), [at('b.ts')]],
    [at('b.ts'), [at('c.ts')]],
    [at('c.ts'), [at('a.ts')]],
    [at('d.ts'), [at('d.ts')]],
    [at('e.ts'), [at('a.ts')]],
  ]);
  assert.deepEqual(cyclesOf(graph).sort(), [['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
  assert.deepEqual(cyclesOf(new Map([[at('x.ts'), [at('y.ts')]], [at('y.ts'), []]])), []);
});

test('each floor imports only the floors below it: lib/ reaches up into nothing', async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 150, `${graph.size} files`);
  const offending: string[] = [];
  for (const [file, targets] of graph) {
    const from = floorOf(file);
    for (const target of targets) {
      const to = floorOf(target);
      if (!(MAY_IMPORT[from] as readonly string[]).includes(to)) {
        offending.push(`${relative(REPO_ROOT, file)} (${from}/) imports ${relative(REPO_ROOT, target)} (${to}/)`);
      }
    }
  }
  assert.deepEqual(offending, []);
});

test('no import cycle in the tree, type-only imports included', async () => {
  assert.deepEqual(cyclesOf(await importGraph()), []);
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
