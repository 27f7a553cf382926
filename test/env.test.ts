import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../infra/paths.ts';
import { ENVIRONMENT, optionalEnv, requiredEnv } from '../lib/env.ts';
import { ConfigError } from '../lib/errors.ts';

/**
 * lib/env.ts lists every environment variable the code reads, and lib/ reads the process
 * environment nowhere else: both checked on the source, by syntax (comments do not count).
 */
const SCANNED = ['functions', 'cli', 'bin', 'lib', 'scripts', 'infra'];
/** Identifiers that hold an environment in the code (`env.X`, `vars[FARGATE_ENV.y]`). */
const ENV_HOLDER = /^(env|vars|environment)$/;
const UPPER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * lib/model still reads FMNIST_BACKEND / FMNIST_TRAIN_STEP and sets TF_CPP_MIN_LOG_LEVEL itself;
 * issue 10 moves those reads to the edges (lib/model is being changed separately). Empty this
 * list when that lands.
 */

interface Source {
  file: string;
  ast: ts.SourceFile;
}

async function sources(): Promise<Source[]> {
  const out: Source[] = [];
  for (const top of SCANNED) {
    const entries = await readdir(join(REPO_ROOT, top), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name) || entry.name.endsWith('.d.mts')) continue;
      const file = join(entry.parentPath, entry.name);
      out.push({ file: relative(REPO_ROOT, file), ast: ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.Latest, true) });
    }
  }
  return out;
}

function visit(node: ts.Node, each: (node: ts.Node) => void): void {
  each(node);
  node.forEachChild((child) => visit(child, each));
}

/** `const X = 'NAME'` and `const X = { key: 'NAME' }` (as const or not): X -> NAME, X.key -> NAME. */
function stringConstants(files: Source[]): Map<string, string> {
  const constants = new Map<string, string>();
  for (const { ast } of files) {
    visit(ast, (node) => {
      if (!ts.isVariableDeclaration(node) || !ts.isIdentifier(node.name) || !node.initializer) return;
      let init: ts.Expression = node.initializer;
      while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init)) init = init.expression;
      if (ts.isStringLiteralLike(init)) constants.set(node.name.text, init.text);
      if (ts.isObjectLiteralExpression(init)) {
        for (const property of init.properties) {
          if (ts.isPropertyAssignment(property) && ts.isIdentifier(property.name) && ts.isStringLiteralLike(property.initializer)) {
            constants.set(`${node.name.text}.${property.name.text}`, property.initializer.text);
          }
        }
      }
    });
  }
  return constants;
}

const isProcessEnv = (node: ts.Node): boolean =>
  ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'process' && node.name.text === 'env';
const holdsEnv = (node: ts.Expression): boolean => isProcessEnv(node) || (ts.isIdentifier(node) && ENV_HOLDER.test(node.text));

/** Every variable name read in a file: process.env.X, process.env['X'], env[CONSTANT], vars[OBJ.key], env.X. */
export function variablesRead(ast: ts.SourceFile, constants: Map<string, string>): string[] {
  const names: string[] = [];
  visit(ast, (node) => {
    if (ts.isPropertyAccessExpression(node) && holdsEnv(node.expression) && UPPER.test(node.name.text) && node.name.text !== 'env') {
      if (!ts.isIdentifier(node.expression) || /[A-Z]/.test(node.name.text[0])) names.push(node.name.text);
    }
    if (ts.isElementAccessExpression(node) && holdsEnv(node.expression)) {
      const key = node.argumentExpression;
      if (ts.isStringLiteralLike(key)) names.push(key.text);
      else if (ts.isIdentifier(key) && constants.has(key.text)) names.push(constants.get(key.text)!);
      else if (ts.isPropertyAccessExpression(key) && ts.isIdentifier(key.expression)) {
        const value = constants.get(`${key.expression.text}.${key.name.text}`);
        if (value !== undefined) names.push(value);
      }
    }
  });
  return names;
}

function sourceOf(text: string): ts.SourceFile {
  return ts.createSourceFile('sample.ts', text, ts.ScriptTarget.Latest, true);
}

test('the scanner finds every form of read, resolves constants, and ignores comments', () => {
  const sample = sourceOf(
    [
      "const NAME_ENV = 'FROM_CONSTANT';",
      "const NAMES = { key: 'FROM_OBJECT' } as const;",
      "process.env.DIRECT; process.env['QUOTED']; process.env[NAME_ENV];",
      'vars[NAMES.key]; env.ON_ENV; env[NAME_ENV];',
      '// process.env.IN_A_COMMENT',
      'other.NOT_ENV; env[unknownVariable];',
    ].join('\n'),
  );
  const constants = stringConstants([{ file: 'sample.ts', ast: sample }]);
  assert.deepEqual(variablesRead(sample, constants).sort(), ['DIRECT', 'FROM_CONSTANT', 'FROM_CONSTANT', 'FROM_OBJECT', 'ON_ENV', 'QUOTED']);
});

test('every environment variable read in functions, cli, bin, lib, scripts and infra is in lib/env.ts', async () => {
  const files = await sources();
  const constants = stringConstants(files);
  const missing: string[] = [];
  let found = 0;
  for (const { file, ast } of files) {
    for (const name of variablesRead(ast, constants)) {
      found++;
      if (!(name in ENVIRONMENT)) missing.push(`${name} (read in ${file})`);
    }
  }
  assert.ok(found > 40, `only ${found} reads found: the scanner is broken`);
  assert.deepEqual([...new Set(missing)].sort(), []);
});

test('each catalogue entry says who reads it and what it means', () => {
  for (const [name, variable] of Object.entries(ENVIRONMENT)) {
    assert.ok(variable.readBy.length > 0, name);
    assert.ok(variable.meaning.length > 10, name);
  }
});

test('lib/ reads the process environment only in lib/env.ts: the edges pass it inward', async () => {
  const offending: string[] = [];
  for (const { file, ast } of await sources()) {
    if (!file.startsWith('lib/') || file === 'lib/env.ts') continue;
    visit(ast, (node) => {
      if (isProcessEnv(node)) offending.push(`${file}:${ast.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
    });
  }
  assert.deepEqual(offending, []);
});

test('optionalEnv treats empty as unset; requiredEnv names the variable in a ConfigError', () => {
  assert.equal(optionalEnv({ A: '' }, 'A'), undefined);
  assert.equal(optionalEnv({ A: 'x' }, 'A'), 'x');
  assert.equal(requiredEnv({ A: 'x' }, 'A'), 'x');
  assert.throws(() => requiredEnv({ A: '' }, 'A'), (error: Error) => error instanceof ConfigError && /environment variable A is not set/.test(error.message));
});
